"""LTI 1.3 / LTI Advantage vocabulary: claim names, message types and LIS role URIs.

Every claim name and role URI the engine reads or writes is a constant here;
nothing else in the code spells them out.
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
CLAIM_ROLE_SCOPE_MENTOR: Final = _LTI + "role_scope_mentor"
CLAIM_AGS_ENDPOINT: Final = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
CLAIM_NRPS: Final = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
CLAIM_DL_SETTINGS: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
CLAIM_DL_CONTENT_ITEMS: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
CLAIM_DL_DATA: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/data"

MESSAGE_RESOURCE_LINK: Final = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING: Final = "LtiDeepLinkingRequest"
MESSAGE_DEEP_LINKING_RESPONSE: Final = "LtiDeepLinkingResponse"
SUPPORTED_MESSAGE_TYPES: Final = frozenset({MESSAGE_RESOURCE_LINK, MESSAGE_DEEP_LINKING})

# Deep Linking 2.0: the content item type the tool places.
CONTENT_ITEM_RESOURCE_LINK: Final = "ltiResourceLink"

CONTEXT_TYPE_COURSE_SECTION: Final = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseSection"

# LIS v2 roles. Context (membership) roles, with their short forms as LTI allows.
_MEMBERSHIP: Final = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
ROLE_LEARNER: Final = _MEMBERSHIP + "Learner"
ROLE_INSTRUCTOR: Final = _MEMBERSHIP + "Instructor"
ROLE_CONTENT_DEVELOPER: Final = _MEMBERSHIP + "ContentDeveloper"
ROLE_CONTEXT_ADMINISTRATOR: Final = _MEMBERSHIP + "Administrator"
ROLE_MENTOR: Final = _MEMBERSHIP + "Mentor"
ROLE_TEACHING_ASSISTANT: Final = _MEMBERSHIP + "Instructor#TeachingAssistant"
ROLE_TEACHING_ASSISTANT_SHORT: Final = _MEMBERSHIP + "TeachingAssistant"
ROLE_INSTITUTION_ADMINISTRATOR: Final = (
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
)
ROLE_SYSTEM_ADMINISTRATOR: Final = "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"

# LTI 1.3 allows these short names inside the roles claim for context roles.
SHORT_CONTEXT_ROLES: Final = {
    "Learner": ROLE_LEARNER,
    "Instructor": ROLE_INSTRUCTOR,
    "ContentDeveloper": ROLE_CONTENT_DEVELOPER,
    "Administrator": ROLE_CONTEXT_ADMINISTRATOR,
    "Mentor": ROLE_MENTOR,
    "TeachingAssistant": ROLE_TEACHING_ASSISTANT,
}

# Custom parameters the engine reads from a launch.
CUSTOM_UNIT: Final = "unit"
CUSTOM_ACTIVITY: Final = "activity"

SCOPE_AGS_LINEITEM: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_AGS_LINEITEM_READONLY: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_AGS_RESULT_READONLY: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_AGS_SCORE: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS: Final = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

# OAuth2 for LTI Advantage services, and AGS media types.
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MEDIA_LINEITEM: Final = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER: Final = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE: Final = "application/vnd.ims.lis.v1.score+json"
# AGS activityProgress / gradingProgress values the tool sends.
ACTIVITY_SUBMITTED: Final = "Submitted"
ACTIVITY_COMPLETED: Final = "Completed"
GRADING_PENDING_MANUAL: Final = "PendingManual"
GRADING_FULLY_GRADED: Final = "FullyGraded"
LINE_ITEM_TAG: Final = "l2i"
# NRPS 2.0 media type of a membership container (a course roster page).
MEDIA_MEMBERSHIP_CONTAINER: Final = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
