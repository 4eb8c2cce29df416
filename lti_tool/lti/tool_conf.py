"""pylti1p3's ``ToolConfAbstract`` backed by the platform tables."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy import and_, bindparam, exists, select
from sqlalchemy.orm import Session, aliased

from lti_tool import keys, platforms
from lti_tool.lti.errors import LaunchRefused
from lti_tool.models import Deployment, Platform


@lru_cache(maxsize=8)
def public_key_pem(private_key_pem: str) -> str:
    """Return the public half of a private key in PEM form, once per key and process.

    Loading an RSA private key checks it and costs tens of milliseconds; a login and a launch
    each build a registration, so the answer is kept (keyed by the private key itself, so a
    rotated key gets its own entry).
    """
    return keys.SigningKey(kid="", private_key_pem=private_key_pem).public_key_pem


class ToolRegistration(Registration):
    """A registration whose tool key pair is read from the database only when something signs.

    A login or a launch never uses the tool's keys; a deep-linking response or a service
    token request does, and gets the current signing key, created if there is none.
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self._signing_key: keys.SigningKey | None = None

    def _key(self) -> keys.SigningKey:
        if self._signing_key is None:
            self._signing_key = keys.ensure_signing_key(self._session)
        return self._signing_key

    def get_tool_private_key(self) -> str:
        """Return the current signing key's private half (PEM)."""
        return self._key().private_key_pem

    def get_tool_public_key(self) -> str:
        """Return the current signing key's public half (PEM); pylti1p3 derives the kid from it."""
        return public_key_pem(self._key().private_key_pem)


_TRUSTING = aliased(Platform)

# A login and a launch each need the registration, the deployment they name and (for linking
# records by email) whether the issuer is trusted: one statement, built once per process.
PLATFORM_ROWS = (
    select(
        Platform,
        Deployment,
        exists().where(
            _TRUSTING.issuer == Platform.issuer, _TRUSTING.trusts_email.is_(True),
            _TRUSTING.disabled_at.is_(None),
        ).label("issuer_trusts_email"),
    )
    .outerjoin(Deployment, and_(Deployment.platform_id == Platform.id,
                                Deployment.deployment_id == bindparam("deployment_id")))
    .where(Platform.issuer == bindparam("issuer"), Platform.client_id == bindparam("client_id"))
    .limit(1)
)


def _add_command(issuer: str, client_id: str) -> str:
    return (
        f"l2i platform add --issuer {issuer} --client-id {client_id} --auth-login-url URL "
        "--auth-token-url URL --key-set-url URL --deployment-id ID"
    )


class DatabaseToolConf(ToolConfAbstract[Any]):
    """Finds registrations and deployments in the database.

    Every issuer is treated as possibly having several client_ids. Unknown issuers,
    client_ids and deployments raise :class:`LaunchRefused` with what an
    administrator must do, never a bare ``Exception``.
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._session = session
        self.platform: Platform | None = None
        # A login or a launch asks for the same platform and deployment several times
        # (pylti1p3's checks, then the tool's own): each is read once per request.
        self._platforms: dict[tuple[str, str | None], Platform] = {}
        self._deployments: dict[tuple[int, str], Deployment | None] = {}
        self._expected_deployment: str | None = None
        self._trusted_issuers: dict[str, bool] = {}

    def expect_deployment(self, deployment_id: object) -> None:
        """Say which deployment the request names, so it is read with its registration (one query).

        Nothing is checked here: :meth:`find_deployment_by_params` still refuses an unknown one.
        """
        if isinstance(deployment_id, str) and deployment_id:
            self._expected_deployment = deployment_id

    def issuer_trusts_email(self, platform: Platform) -> bool | None:
        """Return whether an enabled registration of ``platform``'s issuer trusts email addresses.

        None when this request did not read it (the caller must then ask the database itself).
        """
        return self._trusted_issuers.get(platform.issuer)

    def check_iss_has_one_client(self, iss: str) -> bool:
        """Return False: any issuer may have several registrations."""
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        """Return True: registrations are always looked up by issuer and client_id."""
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        """Find the registration of an issuer that has exactly one client_id."""
        return self.find_registration_by_params(iss, None, *args, **kwargs)

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Registration:
        """Find the registration for ``iss`` and ``client_id`` (``client_id`` may be omitted at login)."""
        platform = self.find_platform(iss, client_id)
        self.platform = platform
        return self._build_registration(platform)

    def find_platform(self, iss: str, client_id: str | None) -> Platform:
        """Return the enabled platform for ``iss``/``client_id`` or raise :class:`LaunchRefused`."""
        found = self._platforms.get((iss, client_id))
        if found is None:
            found = self._platforms[(iss, client_id)] = self._read_platform(iss, client_id)
        return found

    def find_deployment_row(self, platform: Platform, deployment_id: str) -> Deployment | None:
        """Return ``deployment_id`` of ``platform`` (read once per request), or None."""
        key = (platform.id, deployment_id)
        if key not in self._deployments:
            self._deployments[key] = platforms.find_deployment(self._session, platform, deployment_id)
        return self._deployments[key]

    def _read_registration(self, iss: str, client_id: str) -> Platform | None:
        """Read the registration with the expected deployment and the issuer's email trust (one query)."""
        deployment_id = self._expected_deployment
        row = self._session.execute(
            PLATFORM_ROWS, {"issuer": iss, "client_id": client_id, "deployment_id": deployment_id}
        ).first()
        if row is None:
            return None
        platform: Platform = row[0]
        deployment: Deployment | None = row[1]
        self._trusted_issuers[platform.issuer] = bool(row[2])
        if deployment_id is not None:
            self._deployments[(platform.id, deployment_id)] = deployment
        return platform

    def _read_platform(self, iss: str, client_id: str | None) -> Platform:
        if client_id:
            platform = self._read_registration(iss, client_id)
            if platform is None:
                known = platforms.find_platforms_by_issuer(self._session, iss)
                what = (
                    f"client_id {client_id!r} is not registered for issuer {iss!r}"
                    if known
                    else f"issuer {iss!r} is not registered with this tool"
                )
                raise LaunchRefused(
                    f"Unknown platform: {what}.",
                    hint="An administrator can register it with: " + _add_command(iss, client_id),
                )
        else:
            candidates = platforms.find_platforms_by_issuer(self._session, iss)
            if not candidates:
                raise LaunchRefused(
                    f"Unknown platform: issuer {iss!r} is not registered with this tool.",
                    hint="An administrator can register it with: " + _add_command(iss, "CLIENT_ID"),
                )
            if len(candidates) > 1:
                raise LaunchRefused(
                    f"Issuer {iss!r} has several registrations and the login did not say which "
                    "(no client_id).",
                    hint="Configure the LMS to send client_id in the login request.",
                )
            platform = candidates[0]
        if platform.disabled_at is not None:
            raise LaunchRefused(
                f"The registration {platform.name!r} is disabled on this tool.",
                status=403,
                hint="An administrator can enable it again with l2i platform add.",
            )
        return platform

    def _build_registration(self, platform: Platform) -> Registration:
        registration = ToolRegistration(self._session)
        registration.set_issuer(platform.issuer)
        registration.set_client_id(platform.client_id)
        registration.set_auth_login_url(platform.auth_login_url)
        registration.set_auth_token_url(platform.auth_token_url)
        registration.set_key_set_url(platform.key_set_url)
        if platform.auth_audience:
            registration.set_auth_audience(platform.auth_audience)
        return registration

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        """Find a deployment of an issuer with one registration."""
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        """Find ``deployment_id`` of the registration, or raise with how to add it."""
        platform = self.find_platform(iss, client_id)
        deployment = self.find_deployment_row(platform, deployment_id)
        if deployment is None:
            raise LaunchRefused(
                f"Unknown deployment: deployment_id {deployment_id!r} of platform "
                f"{platform.name!r} (client_id {platform.client_id!r}) is not registered.",
                status=403,
                hint=(
                    "An administrator can add it with: l2i platform add --issuer "
                    f"{platform.issuer} --client-id {platform.client_id} --auth-login-url "
                    f"{platform.auth_login_url} --auth-token-url {platform.auth_token_url} "
                    f"--key-set-url {platform.key_set_url} --deployment-id {deployment_id}"
                ),
            )
        return LtiDeployment().set_deployment_id(deployment.deployment_id)
