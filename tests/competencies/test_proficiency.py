"""The proficiency rule, and its incremental update for one learner on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competencies.evidence import (
    EvidenceError,
    Origin,
    add_rating,
    clear_override,
    write_attempt_evidence,
)
from competencies.models import Evidence, Proficiency, ProficiencyChange
from competencies.proficiency import (
    EvidencePoint,
    ProficiencyRule,
    compute_standing,
    recompute_learner,
    update_standings,
)
from lti_tool.models import Learner

RULE = ProficiencyRule()


def attempt_point(activity: str, score: float, weight: float = 1.0) -> EvidencePoint:
    """Evidence from a graded attempt at ``activity``."""
    return EvidencePoint("attempt", score, weight, None, activity, None)


def test_weighted_mean_of_each_activitys_latest_attempt() -> None:
    points = [attempt_point("quiz", 0.2), attempt_point("essay", 0.9, 0.5), attempt_point("quiz", 0.8)]
    standing = compute_standing(points, RULE)
    # latest quiz 0.8 (weight 1) and essay 0.9 (weight 0.5): (0.8 + 0.45) / 1.5
    assert standing.score == pytest.approx(0.8333, abs=1e-4)
    assert (standing.level, standing.sources, standing.overridden) == (3, 2, False)


def test_best_method_keeps_the_best_attempt_per_activity() -> None:
    points = [attempt_point("quiz", 0.95), attempt_point("essay", 0.5), attempt_point("quiz", 0.3)]
    standing = compute_standing(points, ProficiencyRule(method="best"))
    assert standing.score == pytest.approx(0.725)
    assert standing.level == 3


def test_no_level_before_the_minimum_amount_of_evidence() -> None:
    standing = compute_standing([attempt_point("quiz", 1.0), attempt_point("quiz", 1.0)], RULE)
    assert (standing.score, standing.level, standing.sources) == (1.0, None, 1)
    assert compute_standing([attempt_point("quiz", 1.0)], ProficiencyRule(min_sources=1)).level == 4


@pytest.mark.parametrize(("score", "level"),
                         [(0.0, 1), (0.39, 1), (0.4, 2), (0.69, 2), (0.7, 3), (0.9, 4), (1.0, 4)])
def test_levels_follow_the_thresholds(score: float, level: int) -> None:
    assert RULE.level_for(score) == level


def test_override_wins_until_cleared_and_history_keeps_the_score() -> None:
    base = [attempt_point("quiz", 0.3), attempt_point("essay", 0.3)]
    override = EvidencePoint("override", RULE.score_for_level(4), 1.0, 4, None, 7)
    standing = compute_standing([*base, override, attempt_point("quiz", 0.35)], RULE)
    assert (standing.level, standing.overridden) == (4, True)
    assert standing.score == pytest.approx(0.325)  # the override is not averaged in
    cleared = compute_standing([*base, override, EvidencePoint("clear", None, 0.0, None, None, 7)], RULE)
    assert (cleared.level, cleared.overridden) == (1, False)


@pytest.mark.parametrize("bad", [
    {"method": "median"}, {"min_sources": 0}, {"thresholds": (0.1, 0.5)}, {"thresholds": (0.0, 0.7, 0.4)},
    {"thresholds": (0.0, 1.5)}, {"rating_weight": 0.0},
])
def test_an_unusable_rule_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        ProficiencyRule(**bad)


def _learner(session: Session) -> int:
    learner = Learner()
    session.add(learner)
    session.flush()
    return learner.id


def _evidence(session: Session, learner_id: int, activity: str, scores: dict[str, float]) -> list[Evidence]:
    return write_attempt_evidence(
        session, learner_id=learner_id, activity_id=activity, attempt_id=None,
        competency_scores=scores, weights=dict.fromkeys(scores, 1.0), origin=Origin(), rule=RULE,
    ).rows


def test_new_evidence_updates_only_that_learner_and_those_competencies(db_session: Session) -> None:
    alice, bob = _learner(db_session), _learner(db_session)
    _evidence(db_session, bob, "u1-quiz", {"L2I-C1.1": 0.5})
    _evidence(db_session, alice, "u1-quiz", {"L2I-C1.1": 0.8, "L2I-C1.2": 0.6})
    bob_row = db_session.scalars(select(Proficiency).where(Proficiency.learner_id == bob)).one()
    bob_updated = bob_row.updated_at
    _evidence(db_session, alice, "u1-reflection", {"L2I-C1.1": 1.0})
    rows = {p.competency_id: p for p in db_session.scalars(
        select(Proficiency).where(Proficiency.learner_id == alice))}
    assert rows["L2I-C1.1"].score == pytest.approx(0.9)
    assert rows["L2I-C1.1"].level == 4
    assert rows["L2I-C1.2"].level is None  # one source only
    assert bob_row.updated_at == bob_updated
    assert db_session.scalar(select(func.count()).select_from(ProficiencyChange)
                             .where(ProficiencyChange.learner_id == bob)) == 1
    history = db_session.scalars(select(ProficiencyChange).where(
        ProficiencyChange.learner_id == alice, ProficiencyChange.competency_id == "L2I-C1.1")
        .order_by(ProficiencyChange.id)).all()
    assert [h.level for h in history] == [None, 4]


def test_ratings_overrides_and_clearing_stay_in_the_history(db_session: Session) -> None:
    learner = _learner(db_session)
    _evidence(db_session, learner, "u1-quiz", {"L2I-C1.1": 0.2})
    add_rating(db_session, learner_id=learner, competency_id="L2I-C1.1", level=2, note="Talked it through",
               rated_by_id=None, origin=Origin(), rule=RULE)
    row = db_session.scalars(select(Proficiency).where(Proficiency.learner_id == learner)).one()
    assert (row.sources, row.level) == (2, 1)  # (0.2 + 0.55) / 2 = 0.375
    add_rating(db_session, learner_id=learner, competency_id="L2I-C1.1", level=3, note="Leads the lab",
               rated_by_id=None, origin=Origin(), rule=RULE, override=True)
    assert (row.level, row.overridden) == (3, True)
    clear_override(db_session, learner_id=learner, competency_id="L2I-C1.1", note=None, rated_by_id=None,
                   origin=Origin(), rule=RULE)
    assert (row.level, row.overridden) == (1, False)
    kinds = db_session.scalars(select(Evidence.kind).where(Evidence.learner_id == learner)
                               .order_by(Evidence.id)).all()
    assert kinds == ["attempt", "rating", "override", "clear"]
    levels = db_session.scalars(select(ProficiencyChange.level).where(ProficiencyChange.learner_id == learner)
                                .order_by(ProficiencyChange.id)).all()
    assert levels == [None, 1, 3, 1]


def test_bad_ratings_are_refused_and_nothing_is_written(db_session: Session) -> None:
    learner = _learner(db_session)
    with pytest.raises(EvidenceError, match="between 1 and 4"):
        add_rating(db_session, learner_id=learner, competency_id="L2I-C1.1", level=9, note=None,
                   rated_by_id=None, origin=Origin(), rule=RULE)
    with pytest.raises(EvidenceError, match="under 5000"):
        add_rating(db_session, learner_id=learner, competency_id="L2I-C1.1", level=2, note="x" * 6000,
                   rated_by_id=None, origin=Origin(), rule=RULE)
    assert db_session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_recompute_after_a_rule_change_matches_incremental_updates(db_session: Session) -> None:
    learner = _learner(db_session)
    for activity, score in [("a", 0.9), ("b", 0.2), ("a", 0.4), ("c", 0.75)]:
        _evidence(db_session, learner, activity, {"L2I-C2.1": score, "L2I-C2.2": 1 - score})
    incremental = {k: (v.score, v.level) for k, v in update_standings(
        db_session, learner, ["L2I-C2.1", "L2I-C2.2"], RULE).rows.items()}
    full = {k: (v.score, v.level) for k, v in recompute_learner(db_session, learner, RULE).items()}
    assert incremental == full
    assert full["L2I-C2.1"][0] == pytest.approx((0.4 + 0.2 + 0.75) / 3, abs=1e-4)


def test_attempt_evidence_reports_each_level_before_and_after(db_session: Session) -> None:
    learner = _learner(db_session)
    _evidence(db_session, learner, "a", {"L2I-C2.1": 0.9, "L2I-C2.2": 0.1})
    _evidence(db_session, learner, "b", {"L2I-C2.1": 0.8})
    written = write_attempt_evidence(
        db_session, learner_id=learner, activity_id="c", attempt_id=None,
        competency_scores={"L2I-C2.3": 0.5, "L2I-C2.2": 0.95, "L2I-C2.1": 1.0, "L2I-C2.4": 0.7},
        weights={"L2I-C2.1": 1.0, "L2I-C2.2": 0.5, "L2I-C2.3": 1.0, "L2I-C2.4": 0.0}, origin=Origin(),
        rule=RULE)
    assert [(e.competency_id, e.score, e.weight) for e in written.rows] == [
        ("L2I-C2.1", 1.0, 1.0), ("L2I-C2.2", 0.95, 0.5), ("L2I-C2.3", 0.5, 1.0)]
    assert all(e.id is not None and e in db_session for e in written.rows)
    assert written.levels_before == {"L2I-C2.1": 3, "L2I-C2.2": None, "L2I-C2.3": None}
    assert written.levels_after == {"L2I-C2.1": 4, "L2I-C2.2": 1, "L2I-C2.3": None}  # C2.2: 0.575 / 1.5
    history = db_session.scalars(select(ProficiencyChange).where(ProficiencyChange.learner_id == learner)
                                 .order_by(ProficiencyChange.id)).all()
    assert history[-3:] and [(h.competency_id, h.level, h.evidence_id) for h in history[-3:]] == [
        ("L2I-C2.1", 4, written.rows[-1].id), ("L2I-C2.2", 1, written.rows[-1].id),
        ("L2I-C2.3", None, written.rows[-1].id)]


def test_the_standings_in_the_session_are_the_stored_ones(db_session: Session) -> None:
    learner = _learner(db_session)
    _evidence(db_session, learner, "a", {"L2I-C2.1": 0.9, "L2I-C2.2": 0.1})
    rows = update_standings(db_session, learner, ["L2I-C2.1", "L2I-C2.2"], RULE).rows
    _evidence(db_session, learner, "b", {"L2I-C2.1": 0.3, "L2I-C2.2": 0.2})
    in_session = {c: (r.score, r.level, r.sources, r.overridden, r.updated_at) for c, r in rows.items()}
    db_session.expire_all()
    stored = {r.competency_id: (r.score, r.level, r.sources, r.overridden, r.updated_at)
              for r in db_session.scalars(select(Proficiency).where(Proficiency.learner_id == learner))}
    assert in_session == stored
    assert stored["L2I-C2.1"][:3] == (0.6, 2, 2)
