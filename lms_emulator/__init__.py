"""A real LTI 1.3 Advantage platform for demos and end-to-end tests: the "demo LMS".

``default_seed`` builds the institutions, courses and people; ``create_emulator_app``
serves them over HTTP (OIDC authorization, JWKS, OAuth2 token, AGS, NRPS, Deep Linking).
"""

from lms_emulator.platform import (
    Course,
    EmulatorConfig,
    Institution,
    LineItem,
    ResourceLink,
    User,
    default_seed,
)

__all__ = [
    "Course",
    "EmulatorConfig",
    "Institution",
    "LineItem",
    "ResourceLink",
    "User",
    "default_seed",
]
