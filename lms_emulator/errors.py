"""Refusals the emulated platform answers with: JSON for services, HTML for browsers."""

from __future__ import annotations


class EmulatorError(Exception):
    """A request the platform refuses, with the HTTP status and a message for the caller."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


class ServiceError(EmulatorError):
    """A refusal of an OAuth2, AGS or NRPS call: answered as ``{"error", "error_description"}``."""


class PageError(EmulatorError):
    """A refusal of a browser request (launch, OIDC authorization, Deep Linking return)."""
