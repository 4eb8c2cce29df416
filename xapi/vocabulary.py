"""xAPI vocabulary: the verbs, activity types and extension IRIs of the L2I statement profile.

Every IRI the engine writes into a statement is a constant here (or, for the engine's own
profile and extensions, a path joined to the tool's base URL by :class:`ProfileIris`); nothing
else in the code spells them out. ``docs/xapi-profile.md`` describes each statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

XAPI_VERSION: Final = "1.0.3"
VERSION_HEADER: Final = "X-Experience-API-Version"

_ADL_VERB: Final = "http://adlnet.gov/expapi/verbs/"
# Verbs cmi5 defines (their IRIs are ADL's).
VERB_LAUNCHED: Final = _ADL_VERB + "launched"
VERB_INITIALIZED: Final = _ADL_VERB + "initialized"
VERB_COMPLETED: Final = _ADL_VERB + "completed"
VERB_PASSED: Final = _ADL_VERB + "passed"
VERB_FAILED: Final = _ADL_VERB + "failed"
VERB_TERMINATED: Final = _ADL_VERB + "terminated"
# Verbs from the ADL vocabulary.
VERB_EXPERIENCED: Final = _ADL_VERB + "experienced"
VERB_ANSWERED: Final = _ADL_VERB + "answered"
VERB_PROGRESSED: Final = _ADL_VERB + "progressed"
VERB_SCORED: Final = _ADL_VERB + "scored"
VERB_MASTERED: Final = _ADL_VERB + "mastered"
VERB_VOIDED: Final = _ADL_VERB + "voided"

# How each verb is displayed (en-US, as ADL registers them).
VERB_DISPLAY: Final[dict[str, str]] = {
    VERB_LAUNCHED: "launched",
    VERB_INITIALIZED: "initialized",
    VERB_COMPLETED: "completed",
    VERB_PASSED: "passed",
    VERB_FAILED: "failed",
    VERB_TERMINATED: "terminated",
    VERB_EXPERIENCED: "experienced",
    VERB_ANSWERED: "answered",
    VERB_PROGRESSED: "progressed",
    VERB_SCORED: "scored",
    VERB_MASTERED: "mastered",
    VERB_VOIDED: "voided",
}

_ADL_ACTIVITY: Final = "http://adlnet.gov/expapi/activities/"
TYPE_COURSE: Final = _ADL_ACTIVITY + "course"            # the programme, and an LMS course
TYPE_MODULE: Final = _ADL_ACTIVITY + "module"            # a unit
TYPE_LESSON: Final = _ADL_ACTIVITY + "lesson"            # a content page
TYPE_ASSESSMENT: Final = _ADL_ACTIVITY + "assessment"    # a quiz
TYPE_PERFORMANCE: Final = _ADL_ACTIVITY + "performance"  # a reflection or lab canvas
TYPE_INTERACTION: Final = _ADL_ACTIVITY + "cmi.interaction"  # a quiz item
TYPE_OBJECTIVE: Final = _ADL_ACTIVITY + "objective"      # a competency of the framework

# cmi5's result extension for progress, an integer percentage.
EXT_PROGRESS: Final = "https://w3id.org/xapi/cmi5/result/extensions/progress"

# Interaction types of xAPI (cmi.interaction) used for the quiz items.
INTERACTION_CHOICE: Final = "choice"
INTERACTION_MATCHING: Final = "matching"
INTERACTION_SEQUENCING: Final = "sequencing"
# Separators of xAPI's response patterns.
RESPONSE_SEPARATOR: Final = "[,]"
PAIR_SEPARATOR: Final = "[.]"

# The engine's own IRIs, below the tool's base URL.
PROFILE_PATH: Final = "/xapi/profile"
EXTENSION_PATHS: Final[dict[str, str]] = {
    "platform_issuer": PROFILE_PATH + "/extensions/platform-issuer",
    "lti_context_id": PROFILE_PATH + "/extensions/lti-context-id",
    "competencies": PROFILE_PATH + "/extensions/competencies",
    "activity_version": PROFILE_PATH + "/extensions/activity-version",
    "level": PROFILE_PATH + "/extensions/level",
}


@dataclass(frozen=True)
class ProfileIris:
    """The profile's and its extensions' IRIs for a tool served at ``base_url``."""

    base_url: str

    @property
    def profile(self) -> str:
        """The profile IRI, put in every statement's ``category`` context activity."""
        return self.base_url + PROFILE_PATH

    def extension(self, name: str) -> str:
        """Return the IRI of one of the profile's extensions (see ``EXTENSION_PATHS``)."""
        return self.base_url + EXTENSION_PATHS[name]
