"""Errors raised while handling an LTI message, each with a status and a message a person can act on."""

from __future__ import annotations

from pylti1p3.exception import LtiException


class LaunchRefused(LtiException):
    """A login or launch that the tool refuses. ``status`` is the HTTP status to answer with."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if status is not None:
            self.status = status


class StateMismatch(LaunchRefused):
    """The launch's state was not started in this browser (or its cookie did not come back)."""

    status = 401


class PlatformUnavailable(LaunchRefused):
    """The platform's key set could not be fetched (down, slow or answering nonsense)."""

    status = 502
