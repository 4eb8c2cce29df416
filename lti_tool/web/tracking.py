"""The xAPI tracker of the current request: the launched learner's, or the graded learner's."""

from __future__ import annotations

from course_units.models import Attempt
from lti_tool.models import Context, Platform
from lti_tool.tracking import Tracker, subject_of, subject_of_learner
from lti_tool.web.auth import launched
from lti_tool.web.state import app_state, db


def launch_tracker() -> Tracker:
    """Return the tracker of the launched user's own learning."""
    launch = launched()
    state = app_state()
    return Tracker(state.settings, state.framework,
                   subject_of(launch.user, launch.platform, launch.context, launch.locale))


def learner_tracker(learner_id: int) -> Tracker:
    """Return the tracker of a learner a trainer acts on, in the trainer's own course."""
    launch = launched()
    state = app_state()
    subject = subject_of_learner(db(), learner_id, launch.platform, launch.context)
    return Tracker(state.settings, state.framework, subject)


def attempt_tracker(attempt: Attempt) -> Tracker:
    """Return the tracker of the learner whose attempt a trainer grades, where the attempt was made."""
    launch = launched()
    platform = db().get(Platform, attempt.platform_id) if attempt.platform_id else None
    context = db().get(Context, attempt.context_id) if attempt.context_id else None
    state = app_state()
    subject = subject_of_learner(db(), attempt.learner_id, platform or launch.platform, context)
    return Tracker(state.settings, state.framework, subject)
