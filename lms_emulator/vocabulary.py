"""Names the emulated platform speaks: LTI claim names, LIS role URIs, scopes, media types.

The emulator is a separate platform, so it keeps its own vocabulary rather than
importing the tool's: the two sides must agree because the specification says so,
not because they share a module.
"""

from __future__ import annotations

from typing import Final

LTI_VERSION: Final = "1.3.0"

_LTI: Final = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE: Final = _LTI + "message_type"
CLAIM_VERSION: Final = _LTI + "version"
CLAIM_DEPLOYMENT_ID: Final = _LTI + "deployment_id"
CLAIM_TARGET_LINK_URI: Final = _LTI + "target_link_uri"
CLAIM_RESOURCE_LINK: Final = _LTI + "resource_link"
CLAIM_ROLES: Final = _LTI + "roles"
CLAIM_CONTEXT: Final = _LTI + "context"
CLAIM_TOOL_PLATFORM: Final = _LTI + "tool_platform"
CLAIM_LAUNCH_PRESENTATION: Final = _LTI + "launch_presentation"
CLAIM_CUSTOM: Final = _LTI + "custom"
CLAIM_LIS: Final = _LTI + "lis"
CLAIM_EXT: Final = _LTI + "ext"
CLAIM_AGS_ENDPOINT: Final = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS: Final = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
_DL: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CLAIM_DL_SETTINGS: Final = _DL + "deep_linking_settings"
CLAIM_DL_CONTENT_ITEMS: Final = _DL + "content_items"
CLAIM_DL_DATA: Final = _DL + "data"
CLAIM_DL_MSG: Final = _DL + "msg"
CLAIM_DL_LOG: Final = _DL + "log"
CLAIM_DL_ERRORMSG: Final = _DL + "errormsg"
CLAIM_DL_ERRORLOG: Final = _DL + "errorlog"

MESSAGE_RESOURCE_LINK: Final = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING: Final = "LtiDeepLinkingRequest"
MESSAGE_DEEP_LINKING_RESPONSE: Final = "LtiDeepLinkingResponse"

CONTEXT_TYPE_COURSE_SECTION: Final = "CourseSection"
CONTENT_ITEM_RESOURCE_LINK: Final = "ltiResourceLink"

_MEMBERSHIP: Final = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ROLE_LEARNER: Final = _MEMBERSHIP + "Learner"
ROLE_INSTRUCTOR: Final = _MEMBERSHIP + "Instructor"
ROLE_CONTENT_DEVELOPER: Final = _MEMBERSHIP + "ContentDeveloper"
ROLE_CONTEXT_ADMINISTRATOR: Final = _MEMBERSHIP + "Administrator"
ROLE_TEACHING_ASSISTANT: Final = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
)
ROLE_INSTITUTION_ADMINISTRATOR: Final = (
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
)

SCOPE_AGS_LINEITEM: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_AGS_LINEITEM_READONLY: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_AGS_RESULT_READONLY: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_AGS_SCORE: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS: Final = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES: Final = (
    SCOPE_AGS_LINEITEM,
    SCOPE_AGS_LINEITEM_READONLY,
    SCOPE_AGS_RESULT_READONLY,
    SCOPE_AGS_SCORE,
)
SERVICE_SCOPES: Final = (*AGS_SCOPES, SCOPE_NRPS)

MEDIA_LINEITEM: Final = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER: Final = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE: Final = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULT_CONTAINER: Final = "application/vnd.ims.lis.v2.resultcontainer+json"
MEDIA_MEMBERSHIP_CONTAINER: Final = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

CLIENT_ASSERTION_TYPE_JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
GRANT_CLIENT_CREDENTIALS: Final = "client_credentials"

ACTIVITY_PROGRESS: Final = frozenset({"Initialized", "Started", "InProgress", "Submitted", "Completed"})
GRADING_PROGRESS: Final = frozenset({"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"})
