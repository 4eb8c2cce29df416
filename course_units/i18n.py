"""Messages for people, written in English and translated by the web layer, without Flask here.

The domain packages (``course_units``, ``competencies``) never import Flask or Flask-Babel. A
message that reaches a person is a :class:`Message`: an English template marked with :func:`N_`
(so that ``pybabel extract`` finds it) and its parameters. A Message *is* the English text
(``template % params``), so code and tests that read it as a string see English; the web layer
shows ``gettext(message.template, **message.params)`` in the reader's language instead.

A :class:`ReadableError` carries one or more Messages; ``str(error)`` is their English text.
"""

from __future__ import annotations

from collections.abc import Mapping


def N_(text: str) -> str:  # noqa: N802 (the name pybabel looks for)
    """Mark ``text`` as a message to translate; it is returned unchanged."""
    return text


class Count(int):
    """A number shown with thousands separators: ``50,000`` in English, per locale on a page."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{int(self):,}"


class Message(str):
    """A message for a person: the English ``template % params``, translatable from ``template``."""

    template: str
    params: Mapping[str, object]

    def __new__(cls, template: str, /, **params: object) -> Message:
        """Return the English text of ``template`` (marked with :func:`N_`) filled with ``params``."""
        text = super().__new__(cls, template % params if params else template)
        text.template = template
        text.params = params
        return text


class ReadableError(ValueError):
    """An error whose messages a person reads and can act on; ``str()`` gives them in English."""

    def __init__(self, *messages: str) -> None:
        self.messages: tuple[str, ...] = messages
        super().__init__(" ".join(messages))
