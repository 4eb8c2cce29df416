"""LTI Dynamic Registration (1EdTech LTI Dynamic Registration 1.0), without Flask.

The platform opens ``/lti/register?openid_configuration=…&registration_token=…``. The
tool reads the platform's OpenID configuration, checks that its issuer matches the
URL it came from, posts its own configuration to the platform's registration
endpoint, and stores the registration and deployment it is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy.orm import Session

from lti_tool import platforms
from lti_tool import vocabulary as v
from lti_tool.models import Platform
from lti_tool.settings import Settings

MAX_CONFIG_BYTES = 256 * 1024
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
TOOL_SCOPES = (
    v.SCOPE_AGS_LINEITEM, v.SCOPE_AGS_LINEITEM_READONLY, v.SCOPE_AGS_RESULT_READONLY,
    v.SCOPE_AGS_SCORE, v.SCOPE_NRPS,
)
TOOL_CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")
TOOL_MESSAGE_TYPES = (v.MESSAGE_RESOURCE_LINK, v.MESSAGE_DEEP_LINKING)
TOOL_TITLE = "L2I Engine"
TOOL_LABEL = "Learning 2 Innovate"
TOOL_DESCRIPTION = (
    "The five units of the Learning 2 Innovate programme, mapped to the L2I competency framework."
)
CANVAS_PLATFORM = "canvas.instructure.com"
# Canvas placements and the message each one launches with.
CANVAS_PLACEMENTS = (
    ("link_selection", v.MESSAGE_DEEP_LINKING),
    ("assignment_selection", v.MESSAGE_DEEP_LINKING),
    ("course_navigation", v.MESSAGE_RESOURCE_LINK),
)


class RegistrationError(ValueError):
    """A registration that cannot go on; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Registered:
    """What a finished registration stored."""

    platform: Platform
    deployment_id: str
    product: str


def _get_json(http: requests.Session, url: str, token: str | None, timeout: float) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = http.get(url, headers=headers, timeout=timeout, stream=True)
        body = response.raw.read(MAX_CONFIG_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise RegistrationError(
            f"The platform's configuration at {url} could not be fetched ({type(exc).__name__}).",
            502,
        ) from exc
    if response.status_code != 200:
        raise RegistrationError(
            f"The platform's configuration at {url} answered HTTP {response.status_code}.", 502
        )
    if len(body) > MAX_CONFIG_BYTES:
        raise RegistrationError("The platform's configuration is larger than 256 KiB.", 502)
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise RegistrationError("The platform's configuration is not JSON.", 502) from exc
    if not isinstance(data, dict):
        raise RegistrationError("The platform's configuration is not a JSON object.", 502)
    return data


def check_openid_configuration(config_url: str, config: dict[str, Any]) -> None:
    """Check the fields the tool needs, and that the issuer is where the configuration came from."""
    for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                  "registration_endpoint"):
        value = config.get(field)
        if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
            raise RegistrationError(f"The platform's configuration has no valid {field!r}.")
    issuer = str(config["issuer"]).rstrip("/")
    iss, url = urlsplit(issuer), urlsplit(config_url)
    same_origin = (iss.scheme, iss.netloc) == (url.scheme, url.netloc)
    if not same_origin or not url.path.startswith(iss.path):
        raise RegistrationError(
            f"The configuration's issuer {issuer!r} does not match the address it was fetched "
            f"from ({url.scheme}://{url.netloc}); refusing to register it."
        )
    if not isinstance(config.get(PLATFORM_CONFIGURATION), dict):
        raise RegistrationError("The platform's configuration has no LTI platform configuration.")


def tool_configuration(settings: Settings, config: dict[str, Any]) -> dict[str, Any]:
    """Return the registration request the tool posts to the platform."""
    offered = set(config.get("scopes_supported") or TOOL_SCOPES)
    launch_url = settings.url("/lti/launch")
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": settings.url("/lti/login"),
        "redirect_uris": [launch_url],
        "client_name": "L2I Engine: Learning 2 Innovate",
        "jwks_uri": settings.url("/lti/jwks"),
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(s for s in TOOL_SCOPES if s in offered),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(settings.base_url).netloc,
            "target_link_uri": launch_url,
            "description": TOOL_DESCRIPTION,
            "claims": list(TOOL_CLAIMS),
            "messages": [
                {"type": message, "target_link_uri": launch_url}
                | ({"label": TOOL_LABEL} if message == v.MESSAGE_DEEP_LINKING else {})
                for message in TOOL_MESSAGE_TYPES
            ],
        },
    }


def canvas_configuration(settings: Settings) -> dict[str, Any]:
    """Return the tool's JSON configuration in the shape Canvas (and LMSs copying it) accept.

    Its scopes and message types are the ones Dynamic Registration asks for, and
    ``privacy_level: public`` gives the name and email claims Dynamic Registration lists.
    """
    launch_url = settings.url("/lti/launch")
    placements = [
        {"placement": placement, "message_type": message, "target_link_uri": launch_url,
         "text": TOOL_LABEL}
        for placement, message in CANVAS_PLACEMENTS
        if message in TOOL_MESSAGE_TYPES
    ]
    return {
        "title": TOOL_TITLE,
        "description": TOOL_DESCRIPTION,
        "oidc_initiation_url": settings.url("/lti/login"),
        "target_link_uri": launch_url,
        "public_jwk_url": settings.url("/lti/jwks"),
        "scopes": list(TOOL_SCOPES),
        "extensions": [{
            "platform": CANVAS_PLATFORM,
            "domain": urlsplit(settings.base_url).netloc,
            "privacy_level": "public",
            "settings": {"text": TOOL_TITLE, "placements": placements},
        }],
        "custom_fields": {},
    }


def _post_registration(
    http: requests.Session, endpoint: str, token: str | None, body: dict[str, Any], timeout: float
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = http.post(endpoint, json=body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise RegistrationError(f"The platform's registration endpoint could not be reached "
                                f"({type(exc).__name__}).", 502) from exc
    if response.status_code in (401, 403):
        raise RegistrationError(
            f"The platform refused the registration (HTTP {response.status_code}): the "
            "registration token is missing, wrong or expired. Start the registration again "
            "from the LMS."
        )
    if response.status_code not in (200, 201):
        raise RegistrationError(
            f"The platform refused the registration (HTTP {response.status_code}).", 502
        )
    try:
        answer = response.json()
    except ValueError as exc:
        raise RegistrationError("The platform's registration answer is not JSON.", 502) from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("client_id"), str):
        raise RegistrationError("The platform's registration answer has no client_id.", 502)
    return answer


def register_platform(
    session: Session,
    settings: Settings,
    *,
    openid_configuration: str,
    registration_token: str | None,
    http: requests.Session | None = None,
) -> Registered:
    """Run the whole registration and store the platform and its deployment."""
    if urlsplit(openid_configuration).scheme not in ("http", "https"):
        raise RegistrationError("openid_configuration must be an http(s) URL.")
    if not registration_token:
        raise RegistrationError(
            "The registration request has no registration_token. Start the registration "
            "from the LMS's tool management page."
        )
    http = http or requests.Session()
    config = _get_json(http, openid_configuration, registration_token, settings.http_timeout)
    check_openid_configuration(openid_configuration, config)
    answer = _post_registration(
        http, config["registration_endpoint"], registration_token,
        tool_configuration(settings, config), settings.http_timeout,
    )
    tool_config = answer.get(TOOL_CONFIGURATION) or {}
    deployment_id = str(tool_config.get("deployment_id") or "1")
    product = str(config[PLATFORM_CONFIGURATION].get("product_family_code") or "platform")
    platform = platforms.add_platform(session, platforms.PlatformSpec(
        issuer=str(config["issuer"]).rstrip("/"),
        client_id=answer["client_id"],
        auth_login_url=config["authorization_endpoint"],
        auth_token_url=config["token_endpoint"],
        key_set_url=config["jwks_uri"],
        deployment_ids=(deployment_id,),
        name=f"{product} at {urlsplit(str(config['issuer'])).netloc}",
        auth_audience=config.get("authorization_server") or None,
    ))
    return Registered(platform=platform, deployment_id=deployment_id, product=product)
