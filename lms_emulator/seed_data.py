"""The demo LMS's people, places and programme, as plain data.

Subs are opaque numeric strings, as in Moodle (2 is the site administrator there).
Both institutions number their users from 2, so a tool that keys people by ``sub``
alone, not by (issuer, sub), shows its bug. Ana Novak studies at both institutions
with the same email address: the case of one learner keeping one competency record.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from lms_emulator import vocabulary as v


class RoleKind(NamedTuple):
    """What a kind of participant is: LIS roles, a label, whether they launch or place content."""

    roles: tuple[str, ...]
    label: str
    launches: bool
    places_content: bool


class PersonSeed(NamedTuple):
    """One seeded participant; ``email`` None means ``{username}@{slug}.example.org``."""

    sub: str
    given_name: str
    family_name: str
    username: str
    kind: str
    locale: str
    email: str | None = None


class InstitutionSeed(NamedTuple):
    """One seeded institution with its single course."""

    slug: str
    name: str
    context_id: str
    people: tuple[PersonSeed, ...]


COURSE_LABEL: Final = "L2I-PILOT"
COURSE_TITLE: Final = "Learning 2 Innovate pilot"
PROGRAMME_LINK_TITLE: Final = "L2I programme"
PROGRAMME_LINK_DESCRIPTION: Final = "The Learning 2 Innovate programme: all five units"
UNIT_SCORE_MAXIMUM: Final = 100.0

UNITS: Final = (
    ("u1-challenges", "Unit 1: Current and future challenges for social services"),
    ("u2-social-innovation", "Unit 2: Social innovation"),
    ("u3-labs", "Unit 3: Setting up and running a Learning & Innovation Lab"),
    ("u4-teams-and-users", "Unit 4: Multidisciplinary teams, stakeholders and users"),
    ("u5-impact", "Unit 5: Evaluating impact, dissemination and mainstreaming"),
)

ROLE_KINDS: Final = {
    "administrator": RoleKind(
        (v.ROLE_CONTEXT_ADMINISTRATOR, v.ROLE_INSTITUTION_ADMINISTRATOR), "Administrator", True, True
    ),
    "trainer": RoleKind((v.ROLE_INSTRUCTOR,), "Trainer", True, True),
    "learner": RoleKind((v.ROLE_LEARNER,), "Learner", True, False),
    "assistant": RoleKind((v.ROLE_INSTRUCTOR, v.ROLE_TEACHING_ASSISTANT), "Teaching assistant", True, False),
    "developer": RoleKind((v.ROLE_CONTENT_DEVELOPER,), "Content developer", True, True),
    "roster": RoleKind((v.ROLE_LEARNER,), "Learner (roster only)", False, False),
}

SHARED_LEARNER_EMAIL: Final = "ana.novak@example.net"

INSTITUTION_SEEDS: Final = (
    InstitutionSeed(
        "linkoping",
        "Linköping R&D Centre (demo)",
        "c-101",
        (
            PersonSeed("2", "Karin", "Lindqvist", "karin.lindqvist", "administrator", "sv"),
            PersonSeed("3", "Erik", "Johansson", "erik.johansson", "trainer", "sv"),
            PersonSeed("4", "Ana", "Novak", "ana.novak", "learner", "sl", SHARED_LEARNER_EMAIL),
            PersonSeed("5", "Lars", "Berg", "lars.berg", "learner", "sv"),
            PersonSeed("6", "Marta", "Puig", "marta.puig", "learner", "es"),
            PersonSeed("7", "Ingrid", "Dahl", "ingrid.dahl", "assistant", "en"),
            PersonSeed("8", "Jelena", "Petrović", "jelena.petrovic", "developer", "en"),
            PersonSeed("9", "Līga", "Ozola", "liga.ozola", "roster", "en"),
            PersonSeed("10", "Pieter", "Claes", "pieter.claes", "roster", "en"),
        ),
    ),
    InstitutionSeed(
        "ljubljana",
        "Ljubljana Social Care Training Centre (demo)",
        "c-201",
        (
            PersonSeed("2", "Matej", "Kranjc", "matej.kranjc", "administrator", "sl"),
            PersonSeed("3", "Maja", "Zupan", "maja.zupan", "trainer", "sl"),
            PersonSeed("4", "Nika", "Horvat", "nika.horvat", "learner", "sl"),
            PersonSeed("5", "Jon", "Larsen", "jon.larsen", "learner", "en"),
            PersonSeed("6", "Ana", "Novak", "ana.novak", "learner", "sl", SHARED_LEARNER_EMAIL),
            PersonSeed("7", "Tina", "Kos", "tina.kos", "assistant", "sl"),
            PersonSeed("8", "Milan", "Jovanović", "milan.jovanovic", "developer", "en"),
            PersonSeed("9", "Jānis", "Bērziņš", "janis.berzins", "roster", "en"),
            PersonSeed("10", "Sofie", "Peeters", "sofie.peeters", "roster", "en"),
        ),
    ),
)
