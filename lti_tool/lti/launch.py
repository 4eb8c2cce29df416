"""OIDC login and message launch: pylti1p3's flow with the checks it leaves out.

pylti1p3 2.0.0 neither consumes nonces nor checks ``azp``; it takes ``aud[0]`` as the
client_id, lets an unknown issuer raise a bare ``Exception`` and reads any size of
token. The subclasses here close those gaps:

* the id_token's size, header (``alg`` RS256 only, ``kid`` present) and shape are checked first;
* ``aud`` must contain the client_id; several audiences need an ``azp`` equal to it;
* the nonce must be one this tool issued, bound to the login's state, and is consumed
  exactly once (:func:`lti_tool.lti.storage.consume_nonce`) when the launch is accepted;
* the signature, ``exp``, ``iat`` and ``iss`` are checked with a small clock leeway;
* the platform's key set comes from :class:`~lti_tool.lti.keysets.KeySetCache`;
* every refusal is a :class:`~lti_tool.lti.errors.LaunchRefused` with a clear message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from pylti1p3.contrib.flask.cookie import FlaskCookieService
from pylti1p3.contrib.flask.message_launch import FlaskMessageLaunch
from pylti1p3.contrib.flask.oidc_login import FlaskOIDCLogin
from pylti1p3.exception import LtiException

from lti_tool import vocabulary as v
from lti_tool.lti.errors import LaunchRefused, StateMismatch
from lti_tool.lti.keysets import KeySetCache
from lti_tool.lti.storage import DatabaseLaunchDataStorage
from lti_tool.lti.tool_conf import DatabaseToolConf

MAX_ID_TOKEN_BYTES = 64 * 1024
CLOCK_LEEWAY = 30
MAX_TOKEN_AGE = 600
STATE_LIFETIME = 600
MAX_CLAIM_ID_LENGTH = 255
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "nonce", "sub")
# A frame name the tool accepts as ``lti_storage_target`` (``_parent`` matches too).
STORAGE_TARGET = re.compile(r"[A-Za-z0-9_-]{1,64}")
STORAGE_STATE_PARAM = "storage"


class ToolCookieService(FlaskCookieService):
    """The OIDC state cookie: ``Secure`` and ``SameSite=None`` when the tool runs on https."""

    def __init__(self, request: Any, *, secure: bool) -> None:
        super().__init__(request)
        self._secure = secure

    def update_response(self, response: Any) -> None:
        """Set the pending cookies on ``response``."""
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(
                key,
                value=data["value"],
                max_age=data["exp"],
                secure=self._secure,
                httponly=True,
                path="/",
                samesite="None" if self._secure else "Lax",
            )


def platform_origin(url: str | None) -> str | None:
    """Return ``scheme://host[:port]`` of a platform URL, or None if it has none."""
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class ToolOIDCLogin(FlaskOIDCLogin):
    """Third-party initiated login, binding the nonce to the state it was issued with.

    With ``storage_target`` (the request's ``lti_storage_target``) the login also uses the
    platform's storage (LTI Client Side postMessages): the state parameters record the
    target frame and the origin of the platform's authorization endpoint, the only origin
    the browser will talk to, and the authorization request carries ``lti_storage_target``.
    """

    def __init__(self, *args: Any, storage_target: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._storage_target = storage_target

    def _generate_nonce(self) -> str:
        nonce: str = super()._generate_nonce()
        self._state_params = {**self._state_params, "nonce": nonce}
        return nonce

    def _prepare_redirect_url(self, launch_url: str) -> str:
        storage = self._launch_data_storage
        if isinstance(storage, DatabaseLaunchDataStorage):
            with storage.batched_writes():  # the state and the nonce: one upsert
                url: str = super()._prepare_redirect_url(launch_url)
        else:
            url = super()._prepare_redirect_url(launch_url)
        if self._storage_target:
            url += "&" + urlencode({"lti_storage_target": self._storage_target})
        return url

    def platform_storage(self, auth_url: str) -> dict[str, str]:
        """Return what the browser puts in the platform's storage for the login at ``auth_url``."""
        storage = self._state_params.get(STORAGE_STATE_PARAM)
        assert isinstance(storage, dict)
        query = parse_qs(urlsplit(auth_url).query)
        return {**storage, "state": query["state"][0], "nonce": query["nonce"][0]}

    def validate_oidc_login(self) -> Any:
        """Check the login request's parameters, then find its registration."""
        for name in ("iss", "login_hint"):
            value = self._get_request_param(name)
            if not value:
                raise LaunchRefused(f"The login request has no {name!r} parameter.")
            if len(value) > 2048:
                raise LaunchRefused(f"The login request's {name!r} is too long.")
        registration = super().validate_oidc_login()
        if self._storage_target:
            origin = platform_origin(registration.get_auth_login_url())
            if origin is None:
                raise LaunchRefused("The platform's registration has no valid authorization URL.")
            self._state_params = {
                **self._state_params,
                STORAGE_STATE_PARAM: {"target": self._storage_target, "origin": origin},
            }
        return registration


def client_id_from_audience(body: Mapping[str, Any]) -> str:
    """Return the client_id a token is meant for, checking ``aud`` and ``azp`` as OIDC requires."""
    aud = body.get("aud")
    azp = body.get("azp")
    if isinstance(aud, str):
        audiences = [aud]
    elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        audiences = aud
    else:
        raise LaunchRefused("The id_token has no valid 'aud' (audience) claim.")
    if azp is not None and not isinstance(azp, str):
        raise LaunchRefused("The id_token's 'azp' claim is not a string.")
    if len(audiences) > 1 and azp is None:
        raise LaunchRefused(
            "The id_token has several audiences and no 'azp' claim saying which one it is for."
        )
    if azp is not None and azp not in audiences:
        raise LaunchRefused("The id_token's 'azp' is not one of its audiences.")
    return azp if azp is not None else audiences[0]


def _check_string_claim(body: Mapping[str, Any], name: str, label: str) -> None:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise LaunchRefused(f"The id_token has no {label} ({name!r} claim).")
    if len(value) > MAX_CLAIM_ID_LENGTH:
        raise LaunchRefused(f"The id_token's {label} is longer than {MAX_CLAIM_ID_LENGTH} characters.")


def check_claims(body: Mapping[str, Any], *, base_url: str) -> None:
    """Check the claims pylti1p3 does not, with a message naming each fault."""
    if body.get(v.CLAIM_VERSION) != v.LTI_VERSION:
        raise LaunchRefused(
            f"The id_token's LTI version is {body.get(v.CLAIM_VERSION)!r}; this tool speaks "
            f"LTI {v.LTI_VERSION}."
        )
    message_type = body.get(v.CLAIM_MESSAGE_TYPE)
    if not message_type:
        raise LaunchRefused("The id_token has no message_type claim.")
    if message_type not in v.SUPPORTED_MESSAGE_TYPES:
        raise LaunchRefused(
            f"This tool does not handle {str(message_type)[:64]!r} messages; it handles "
            + ", ".join(sorted(v.SUPPORTED_MESSAGE_TYPES)) + "."
        )
    _check_string_claim(body, "sub", "user id")
    _check_string_claim(body, v.CLAIM_DEPLOYMENT_ID, "deployment id")
    roles = body.get(v.CLAIM_ROLES)
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise LaunchRefused("The id_token's roles claim must be a list of role URIs.")
    if message_type == v.MESSAGE_RESOURCE_LINK:
        link = body.get(v.CLAIM_RESOURCE_LINK)
        if not isinstance(link, dict) or not isinstance(link.get("id"), str) or not link["id"]:
            raise LaunchRefused("The id_token has no resource link id (resource_link.id claim).")
        if len(link["id"]) > MAX_CLAIM_ID_LENGTH:
            raise LaunchRefused("The id_token's resource link id is too long.")
    if message_type == v.MESSAGE_DEEP_LINKING and not isinstance(body.get(v.CLAIM_DL_SETTINGS), dict):
        raise LaunchRefused("The deep-linking request has no deep_linking_settings claim.")
    context = body.get(v.CLAIM_CONTEXT)
    if context is not None and (
        not isinstance(context, dict)
        or not isinstance(context.get("id"), str)
        or not context["id"]
        or len(context["id"]) > MAX_CLAIM_ID_LENGTH
    ):
        raise LaunchRefused("The id_token's context claim has no valid id.")
    custom = body.get(v.CLAIM_CUSTOM, {})
    if not isinstance(custom, dict):
        raise LaunchRefused("The id_token's custom claim must be an object.")
    target = body.get(v.CLAIM_TARGET_LINK_URI)
    if not isinstance(target, str) or not is_own_url(target, base_url):
        raise LaunchRefused(
            "The id_token's target_link_uri does not point at this tool.",
            hint=f"The LMS must launch {base_url}/lti/launch.",
        )


def is_own_url(url: str, base_url: str) -> bool:
    """Return whether ``url`` is on this tool (same scheme, host and port, under its path)."""
    target, base = urlsplit(url), urlsplit(base_url)
    return (
        (target.scheme, target.netloc) == (base.scheme, base.netloc)
        and target.path.startswith(base.path or "/")
    )


class ToolMessageLaunch(FlaskMessageLaunch):
    """A message launch validated strictly. Call :meth:`validate`, then :meth:`claims`."""

    def __init__(
        self, *args: Any, keysets: KeySetCache, base_url: str, state_verified_by_platform: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._keysets = keysets
        self._base_url = base_url
        self._client_id: str | None = None
        self._state_verified_by_platform = state_verified_by_platform

    def platform_storage(self) -> dict[str, str] | None:
        """Return the platform storage (target, origin) the launch's login used, or None."""
        params = self.get_params_from_login() if self._get_request_param("state") else None
        storage = params.get(STORAGE_STATE_PARAM) if isinstance(params, dict) else None
        if not isinstance(storage, dict):
            return None
        return {"target": str(storage.get("target", "")), "origin": str(storage.get("origin", ""))}

    def claims(self) -> dict[str, Any]:
        """Return the validated claims."""
        if not self._validated:
            raise LaunchRefused("The launch has not been validated.")
        return dict(self._jwt["body"])

    def nonce(self) -> str:
        """Return the validated token's nonce."""
        return str(self._jwt["body"]["nonce"])

    def validate_state(self) -> ToolMessageLaunch:
        """Check that the state came back to the browser that started the login (its cookie).

        pylti1p3 would first look for a "state valid" mark its own ``save_launch_data`` leaves
        for re-validating a launch; this tool leaves none (the nonce is spent), so only the
        cookie can vouch for the state.
        """
        state = self._get_request_param("state")
        if not state or len(state) > 255:
            raise LaunchRefused("The launch has no valid state parameter.")
        if self._cookie_service.get_cookie(state) != state:
            if self._state_verified_by_platform and self.platform_storage() is not None:
                return self  # the caller checked the platform's copy of the state instead
            raise StateMismatch(
                "This launch does not match a login started in this browser (state mismatch).",
                hint="Launch again from the LMS. If it keeps failing, the browser may be "
                "blocking the tool's cookie: open the activity in a new window.",
            )
        return self

    def save_launch_data(self) -> ToolMessageLaunch:
        """Keep a deep-linking launch's claims for its picker; other launches keep none.

        Everything after a resource-link launch reads the rows it synced, never its claims,
        and a spent nonce makes a "state valid" mark (pylti1p3's re-validation) useless.
        """
        if self._jwt["body"].get(v.CLAIM_MESSAGE_TYPE) == v.MESSAGE_DEEP_LINKING:
            self._session_service.save_launch_data(self._launch_id, self._jwt["body"])
        return self

    def validate_jwt_format(self) -> ToolMessageLaunch:
        """Check size, shape and header before anything else is read."""
        token = self._request.get_param("id_token")
        if not token:
            raise LaunchRefused("The launch has no id_token.")
        if len(token) > MAX_ID_TOKEN_BYTES:
            raise LaunchRefused(
                f"The id_token is larger than {MAX_ID_TOKEN_BYTES // 1024} KiB.", status=413
            )
        try:
            super().validate_jwt_format()
        except LtiException as exc:
            raise LaunchRefused("The id_token is not a well-formed JWT.") from exc
        header, body = self._jwt.get("header"), self._jwt.get("body")
        if not isinstance(header, dict) or not isinstance(body, dict):
            raise LaunchRefused("The id_token is not a well-formed JWT.")
        if header.get("alg") != "RS256":
            raise LaunchRefused(
                f"The id_token is signed with {str(header.get('alg'))[:20]!r}; only RS256 is accepted."
            )
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise LaunchRefused("The id_token's header has no key id (kid).")
        _check_string_claim(body, "iss", "issuer")
        self._client_id = client_id_from_audience(body)
        return self

    def get_client_id(self) -> str:
        """Return the client_id chosen by :func:`client_id_from_audience`."""
        if self._client_id is None:
            self._client_id = client_id_from_audience(self._get_jwt_body())
        return self._client_id

    def validate_nonce(self) -> ToolMessageLaunch:
        """Check the nonce was issued by this tool, for this state, and not used yet."""
        nonce = self._jwt["body"].get("nonce")
        if not isinstance(nonce, str) or not nonce or len(nonce) > 255:
            raise LaunchRefused("The id_token has no valid nonce.")
        self._prefetch_login_values(nonce)
        if not self._session_service.check_nonce(nonce):
            raise LaunchRefused(
                "This id_token's nonce was not issued by this tool or has already been used "
                "(a replayed launch).",
                status=401,
                hint="Launch again from the LMS.",
            )
        params = self.get_params_from_login() or {}
        if params.get("nonce") != nonce:
            raise LaunchRefused(
                "This id_token was issued for another login (nonce and state do not match).",
                status=401,
                hint="Launch again from the LMS.",
            )
        return self

    def _prefetch_login_values(self, nonce: str) -> None:
        """Read the login's nonce and state parameters with one query (the storage keeps them)."""
        storage = self._session_service.data_storage
        state = self._get_request_param("state")
        if isinstance(storage, DatabaseLaunchDataStorage) and state:
            service = self._session_service
            storage.prefetch([service._get_key("nonce", nonce), service._get_key(state)])

    def validate_registration(self) -> ToolMessageLaunch:
        """Find the registration, reading the deployment the token names with it (one query)."""
        if isinstance(self._tool_config, DatabaseToolConf):
            self._tool_config.expect_deployment(self._jwt["body"].get(v.CLAIM_DEPLOYMENT_ID))
        super().validate_registration()
        return self

    def validate_jwt_signature(self) -> ToolMessageLaunch:
        """Verify the signature and the time and audience claims."""
        assert self._registration is not None
        kid = self._jwt["header"]["kid"]
        key_set_url = self._registration.get_key_set_url() or ""
        jwk = self._keysets.find_key(key_set_url, kid)
        if jwk is None:
            raise LaunchRefused(
                "The id_token is signed with a key the platform does not publish "
                f"(kid {kid[:64]!r}).",
                status=401,
            )
        try:
            public_key = jwt.PyJWK(jwk, algorithm="RS256").key
            jwt.decode(
                self._get_id_token(),
                public_key,
                algorithms=["RS256"],
                audience=self.get_client_id(),
                issuer=self._registration.get_issuer(),
                leeway=CLOCK_LEEWAY,
                options={"require": list(REQUIRED_CLAIMS), "verify_iat": True},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LaunchRefused("The id_token has expired (exp is in the past).", status=401) from exc
        except jwt.ImmatureSignatureError as exc:
            raise LaunchRefused("The id_token was issued in the future (iat).", status=401) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise LaunchRefused(f"The id_token has no {exc.claim!r} claim.") from exc
        except jwt.InvalidSignatureError as exc:
            raise LaunchRefused("The id_token's signature is not valid.", status=401) from exc
        except jwt.InvalidTokenError as exc:
            raise LaunchRefused(f"The id_token was refused: {exc}.", status=401) from exc
        iat = self._jwt["body"].get("iat")
        if not isinstance(iat, int | float) or iat < time.time() - MAX_TOKEN_AGE:
            raise LaunchRefused("The id_token is too old (iat).", status=401)
        return self

    def validate_message(self) -> ToolMessageLaunch:
        """Check the message claims (pylti1p3's validators, then this tool's)."""
        check_claims(self._jwt["body"], base_url=self._base_url)
        try:
            super().validate_message()
        except LaunchRefused:
            raise
        except LtiException as exc:  # pylti1p3's own validators

            raise LaunchRefused(f"The launch message is not valid: {exc}.") from exc
        return self
