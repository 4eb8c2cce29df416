"""The demo's class at work: the emulated learners' reading, quizzes, reflections and assessments.

``l2i demo`` calls :func:`seed_demo_work` once, so that a trainer who opens the dashboard of a
fresh demo finds a class to look at. Everything goes through the real code paths: the launch
sync (claims built by the emulator itself), page visits, attempts, hand-ins and the trainer's
rubric assessments, so every derived row (evidence, proficiency, its history, unit completion)
is what real work would have left. The work is deterministic (seeded) and spread over the past
eight weeks: each step runs in time order and the rows it wrote are then dated back to its moment.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from competencies.models import Evidence, Proficiency, ProficiencyChange
from competencies.proficiency import ProficiencyRule
from course_units.attempts import Where, attempts_left, attempts_of, best_score, start_attempt
from course_units.content import MAX_RUBRIC_LEVEL, Activity, Catalog, QuizItem, Unit, count_words
from course_units.models import Attempt, AttemptStatus, PageVisit, UnitCompletion, UnitPosition
from course_units.progress import record_page_visit, record_position
from l2i_db import utcnow
from lms_emulator.platform import EmulatorConfig, Institution, User
from lms_emulator.seed_data import ROLE_KINDS
from lti_tool import platforms
from lti_tool.learning import assess_open, hand_in_open, hand_in_quiz
from lti_tool.sync import SyncedLaunch, sync_launch

SEED = "l2i-demo"
HOURS = dt.timedelta(hours=1)
DAYS = dt.timedelta(days=1)


@dataclass(frozen=True)
class SeedReport:
    """What :func:`seed_demo_work` did: nothing (``already_seeded``) or the counts of what it wrote."""

    already_seeded: bool
    learners: int = 0
    attempts: int = 0
    waiting: int = 0
    assessed: int = 0
    page_visits: int = 0
    evidence: int = 0

    def describe(self) -> str:
        """Say in one line what seeding did."""
        if self.already_seeded:
            return "The demo course already holds learners' work (seeded on an earlier run)."
        return (f"Seeded the demo course with the work of {self.learners} learners "
                f"({self.waiting} submissions waiting for assessment).")


@dataclass(frozen=True)
class Pace:
    """How far one seeded learner has come and how well they work."""

    units_done: int     # units worked through in full
    pages_next: int     # pages read in the unit after those
    quiz_next: bool     # whether they tried that unit's quiz once
    skill: float        # chance of answering a quiz question right
    quality: float      # how their written work rates, 0..1
    waiting: int        # how many of their latest hand-ins still wait for the trainer
    began: int          # days ago they started
    last: int           # days ago they last worked


PACES = (
    Pace(units_done=4, pages_next=5, quiz_next=True, skill=0.88, quality=0.85, waiting=2, began=54, last=2),
    Pace(units_done=2, pages_next=3, quiz_next=False, skill=0.72, quality=0.55, waiting=1, began=44, last=6),
    Pace(units_done=0, pages_next=4, quiz_next=True, skill=0.5, quality=0.4, waiting=0, began=16, last=3),
)

SENTENCES = (
    "In my team we often see people only when something has already gone wrong.",
    "Our home care visits are planned around tasks, not around what the person wants from the day.",
    "I spoke with two colleagues about this and we found the same pattern in our own caseloads.",
    "Budgets are tight, so every new idea has to show early on that it frees time or money.",
    "Families tell us they repeat their story to every new professional they meet.",
    "The biggest gap I see is between the hospital discharge team and the community services.",
    "We rarely ask the people who use our services what a good outcome would look like for them.",
    "One older woman I support said she wanted company more than she wanted another visit.",
    "The unit made me notice how many of our meetings end without a clear owner for the next step.",
    "Staff shortages mean that newer colleagues learn by watching whoever is on shift that week.",
    "Digital tools could help, but many of the people we support have no smartphone or no data.",
    "A small test with one neighbourhood team would show whether the idea works before we scale it.",
    "I would involve a service user and a carer in the group from the first meeting, not the last.",
    "Our manager is open to trying new things if we can show how we will measure the difference.",
    "The Buurtzorg example shows that trust in small teams can replace a lot of layered control.",
    "I think the lab should meet every second week, with a short written summary after each session.",
    "Success for me would mean fewer emergency admissions and people feeling listened to.",
    "We would collect a few simple measures at the start, so we have something to compare with later.",
    "The risk is that the project depends on two enthusiastic people and stops when they move on.",
    "Sharing what we learn with other teams in the municipality matters as much as the result.",
    "I need to be careful with personal data when we bring people from different services together.",
    "Co-production is slower at the start, but it avoids building something nobody will use.",
    "Looking back, I underestimated how much informal support already exists around each family.",
    "Volunteers and local associations know the neighbourhood better than our service maps do.",
    "My next step is to discuss a first session with my manager and the social work team.",
    "I will keep a short diary of what changes, because memory alone makes every change look bigger.",
    "Front-line staff have ideas all the time, but there is no place where they are collected.",
    "The ageing population is not only a cost: many older people want to contribute and stay active.",
    "Working with the school and the youth centre would give us a fuller picture of each young person.",
    "I want to try asking at every review meeting: what matters to you now?",
)

FEEDBACK = (
    (0.75, "Thorough and well grounded in your own service. The link to evidence is clear; keep going."),
    (0.5, "A good start. Say more about who you would involve and how you would know it worked."),
    (0.0, "Thank you. The ideas are there, but link them to the unit's concepts and to your own practice."),
)


@dataclass
class _Learner:
    """One learner's work in progress: where they work and the dice that decide how."""

    session: Session
    launch: SyncedLaunch
    grader_id: int
    rule: ProficiencyRule
    pace: Pace
    rng: random.Random

    @property
    def id(self) -> int:
        return self.launch.user.learner_id

    @property
    def where(self) -> Where:
        return Where(
            platform_id=self.launch.platform.id,
            context_id=self.launch.context.id if self.launch.context else None,
            resource_link_id=self.launch.resource_link.id if self.launch.resource_link else None,
        )


Step = tuple[dt.datetime, int, str, Unit, str]   # when, order, verb, unit, page or activity id


def seed_demo_work(session: Session, emulator: EmulatorConfig, catalog: Catalog, rule: ProficiencyRule,
                   *, now: dt.datetime | None = None) -> SeedReport:
    """Give the demo course its learners' work of the past eight weeks, once.

    Syncs each institution's course, learners and trainer as their launches would, then writes
    every learner's reading, quizzes, hand-ins and the trainer's assessments. Does nothing when
    the database already holds any attempt. Flushes, never commits. ``now`` (default and at most:
    the current time) is when the seeded history ends.
    """
    if session.scalar(select(Attempt.id).limit(1)) is not None:
        return SeedReport(already_seeded=True)
    started = utcnow()
    end = min(now or started, started)
    learners = 0
    for institution in emulator.institutions:
        learners += seed_institution(session, institution, catalog, rule, end=end, since=started)
    return count_seeded(session, learners)


def seed_institution(session: Session, institution: Institution, catalog: Catalog, rule: ProficiencyRule,
                     *, end: dt.datetime, since: dt.datetime) -> int:
    """Sync one institution's trainer and learners and write their work; return the learners' number.

    ``since`` is when seeding began: rows stamped at or after it are the ones to date back.
    """
    trainer = next(u for u in institution.users if u.role_label == ROLE_KINDS["trainer"].label)
    students = [u for u in institution.users if u.launches and u.role_label == ROLE_KINDS["learner"].label]
    grader = sync_person(session, institution, trainer)
    steps: list[tuple[Step, _Learner]] = []
    for index, user in enumerate(students):
        rng = random.Random(f"{SEED}:{institution.slug}:{user.sub}")  # noqa: S311 (demo data, not security)
        work = _Learner(session, sync_person(session, institution, user), grader.user.id, rule,
                        PACES[index % len(PACES)], rng)
        steps += [(step, work) for step in plan_steps(catalog, work.pace, rng, end)]
    for (at, _, verb, unit, target), work in sorted(steps, key=lambda pair: pair[0][:2]):
        do_step(work, verb, unit, target, at)
        backdate(session, work.id, since, at)
    stamp_launches(grader, steps, end)
    return len(students)


def sync_person(session: Session, institution: Institution, user: User) -> SyncedLaunch:
    """Sync a launch of the course's programme link by ``user``, with the claims the emulator builds."""
    platform = platforms.find_platform(session, institution.issuer, institution.client_id)
    deployment = platforms.find_deployment(session, platform, institution.deployment_id) if platform else None
    if platform is None or deployment is None:
        raise LookupError(f"{institution.name} is not registered in the tool; register the emulator first")
    course = institution.courses[0]
    link = next(link for link in course.links if "unit" not in link.custom)
    claims = institution.build_launch_claims(user, link, nonce=secrets.token_urlsafe(16), locale=user.locale)
    return sync_launch(session, platform, deployment, claims)


def plan_steps(catalog: Catalog, pace: Pace, rng: random.Random, end: dt.datetime) -> list[Step]:
    """Return one learner's steps with their moments, and the trainer's assessments of their hand-ins."""
    plan: list[tuple[str, Unit, str]] = []
    for index, unit in enumerate(catalog.units[:pace.units_done + 1]):
        full = index < pace.units_done
        plan += [("read", unit, page.id) for page in (unit.pages if full else unit.pages[:pace.pages_next])]
        for activity in unit.activities:
            if activity.auto_graded and (full or pace.quiz_next):
                retries = [("retry", unit, activity.id)] * 2 if full else []
                plan += [("quiz", unit, activity.id), *retries]
            elif full:
                plan.append(("hand_in", unit, activity.id))
    first = end - pace.began * DAYS
    moments = sorted(at_work(first + rng.randint(0, pace.began - pace.last) * DAYS, rng) for _ in plan)
    steps: list[Step] = [(at, order, verb, unit, target)
                         for order, (at, (verb, unit, target)) in enumerate(zip(moments, plan, strict=True))]
    hand_ins = [step for step in steps if step[2] == "hand_in"]
    for at, order, _, unit, activity_id in hand_ins[:max(len(hand_ins) - pace.waiting, 0)]:
        steps.append((min(at_work(at + rng.randint(1, 5) * DAYS, rng), end - HOURS), order, "assess", unit,
                      activity_id))
    return steps


def at_work(day: dt.datetime, rng: random.Random) -> dt.datetime:
    """Return a moment of ``day``'s working hours (UTC, 08:00 to 19:59)."""
    return day.replace(hour=rng.randint(8, 19), minute=rng.randint(0, 59), second=rng.randint(0, 59),
                       microsecond=0)


def do_step(work: _Learner, verb: str, unit: Unit, target: str, at: dt.datetime) -> None:
    """Do one step of a learner's (or, for ``assess``, their trainer's) work."""
    if verb == "read":
        record_page_visit(work.session, work.id, unit.id, target, at=at)
        return
    activity = unit.activity(target)
    assert activity is not None, target
    attempts = attempts_of(work.session, work.id, activity.id)
    if verb == "assess":
        assess(work, unit, activity, attempts)
    elif verb in ("hand_in", "quiz") or (verb == "retry" and should_retry(activity, attempts)):
        record_position(work.session, work.id, unit.id, "activity", activity.id, at=at)
        attempt = start_attempt(work.session, work.id, unit.id, activity, work.where)
        if activity.auto_graded:
            skill = min(work.pace.skill + 0.12 * len(attempts), 0.98)
            hand_in_quiz(work.session, unit, activity, attempt, quiz_answers(activity, skill, work.rng),
                         work.rule, tracker=None)
        else:
            hand_in_open(work.session, unit, activity, attempt, open_answer(activity, work.rng),
                         work.launch.locale, tracker=None)


def should_retry(activity: Activity, attempts: Sequence[Attempt]) -> bool:
    """Tell whether a learner below the quiz's pass score would try again (and may)."""
    best = best_score(attempts)
    below = best is None or best + 1e-9 < (activity.pass_score or 0.0)
    return below and attempts_left(activity, attempts) != 0


def assess(work: _Learner, unit: Unit, activity: Activity, attempts: Sequence[Attempt]) -> None:
    """Rate the learner's waiting hand-in at ``activity`` against its rubric, as their trainer."""
    waiting = [a for a in attempts if a.status == AttemptStatus.SUBMITTED.value]
    if not waiting:
        return
    ratings = {c.id: rubric_level(work.pace.quality, work.rng) for c in activity.rubric}
    share = sum(ratings.values()) / (MAX_RUBRIC_LEVEL * len(ratings))
    feedback = next(text for floor, text in FEEDBACK if share >= floor)
    assess_open(work.session, unit, activity, waiting[-1], ratings, feedback, work.grader_id, work.rule,
                tracker=None)


def rubric_level(quality: float, rng: random.Random) -> int:
    """Return a rubric level around ``quality`` (0..1 of the top level)."""
    return max(0, min(MAX_RUBRIC_LEVEL, round(quality * MAX_RUBRIC_LEVEL + rng.uniform(-0.8, 0.8))))


def quiz_answers(activity: Activity, skill: float, rng: random.Random) -> dict[str, Any]:
    """Answer every item of a quiz: right with chance ``skill``, otherwise partly or wholly wrong."""
    return {item.id: answer_item(item, rng.random() < skill, rng) for item in activity.items}


def answer_item(item: QuizItem, right: bool, rng: random.Random) -> Any:
    """Return the right answer to ``item``, or a plausible wrong one."""
    if item.type in ("single", "multiple"):
        correct = [o.id for o in item.options if o.correct]
        wrong = [o.id for o in item.options if not o.correct]
        if item.type == "single":
            return correct[0] if right or not wrong else rng.choice(wrong)
        return correct if right or not wrong else [*correct[1:], rng.choice(wrong)]
    ids = [p.id for p in item.pairs] if item.type == "matching" else [s.id for s in item.steps]
    chosen = list(ids)
    if not right and len(ids) >= 2:
        i = rng.randrange(len(ids) - 1)
        chosen[i], chosen[i + 1] = chosen[i + 1], chosen[i]
    return dict(zip(ids, chosen, strict=True)) if item.type == "matching" else chosen


def open_answer(activity: Activity, rng: random.Random) -> Any:
    """Write a reflection (or a lab canvas, section by section) that meets the activity's length rules."""
    if activity.kind == "lab-canvas":
        return {s.id: compose(s.min_words + rng.randint(10, 40), rng) for s in activity.sections}
    words = activity.min_words + rng.randint(20, 120)
    return compose(min(words, activity.max_words or words), rng)


def compose(words: int, rng: random.Random) -> str:
    """Write at least ``words`` words of reflective text, in paragraphs."""
    sentences: list[str] = []
    pool = itertools.cycle(rng.sample(SENTENCES, len(SENTENCES)))
    while count_words(" ".join(sentences)) < words:
        sentences.append(next(pool))
    paragraphs = [" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)]
    return "\n\n".join(paragraphs)


STAMPED: tuple[tuple[type[Any], tuple[str, ...]], ...] = (
    (Attempt, ("created_at", "saved_at", "submitted_at", "graded_at")),
    (PageVisit, ("first_at", "last_at")),
    (UnitPosition, ("updated_at",)),
    (UnitCompletion, ("completed_at",)),
    (Evidence, ("created_at",)),
    (Proficiency, ("updated_at",)),
    (ProficiencyChange, ("at",)),
)


def backdate(session: Session, learner_id: int, since: dt.datetime, at: dt.datetime) -> None:
    """Move the learner's rows stamped at or after ``since`` (this step's) back to ``at``."""
    for model, columns in STAMPED:
        for name in columns:
            session.execute(update(model).where(model.learner_id == learner_id, getattr(model, name) >= since)
                            .values({name: at}))


def stamp_launches(grader: SyncedLaunch, steps: Sequence[tuple[Step, _Learner]], end: dt.datetime) -> None:
    """Date each account to its first step and its last launch to its last one (the trainer's: assessing)."""
    for work in {id(work): work for _, work in steps}.values():
        moments = [step[0] for step, other in steps if other is work and step[2] != "assess"]
        work.launch.user.created_at, work.launch.user.last_launch_at = min(moments), max(moments)
    first = min((step[0] for step, _ in steps), default=end - DAYS) - 2 * DAYS
    grader.user.created_at = first
    grader.user.last_launch_at = max((step[0] for step, _ in steps if step[2] == "assess"), default=end)
    if grader.context is not None:
        grader.context.created_at = first


def count_seeded(session: Session, learners: int) -> SeedReport:
    """Count what the seeding wrote."""
    def count(model: type[Any], *where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    return SeedReport(
        already_seeded=False, learners=learners, attempts=count(Attempt),
        waiting=count(Attempt, Attempt.status == AttemptStatus.SUBMITTED.value),
        assessed=count(Attempt, Attempt.graded_by_id.is_not(None)),
        page_visits=count(PageVisit), evidence=count(Evidence),
    )
