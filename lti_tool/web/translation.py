"""Showing text in the reader's language: Flask-Babel's gettext, typed, and the domain's messages.

The domain packages raise :class:`course_units.i18n.ReadableError` with English
:class:`course_units.i18n.Message` s; :func:`message_of` shows them in the language of the request
(see ``select_locale`` in ``lti_tool.app``). Catalogues are in ``lti_tool/translations``.
"""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as babel_gettext

from course_units.i18n import N_, Count, Message, ReadableError

# Werkzeug's names of the HTTP errors the tool answers with, and the descriptions it gives when
# the tool gives none (an unknown address, a wrong method...).
HTTP_ERROR_NAMES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    409: N_("Conflict"),
    413: N_("Request Entity Too Large"),
    422: N_("Unprocessable Entity"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
    502: N_("Bad Gateway"),
    503: N_("Service Unavailable"),
}
HTTP_DEFAULT_DESCRIPTIONS = frozenset({
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_("The requested URL was not found on the server. If you entered the URL manually please check "
       "your spelling and try again."),
    N_("The method is not allowed for the requested URL."),
    N_("The server encountered an internal error and was unable to complete your request. Either the "
       "server is overloaded or there is an error in the application."),
})


def gettext(template: str, **params: object) -> str:
    """Return ``template`` in the request's language, filled with ``params`` (``%(name)s``)."""
    text: str = babel_gettext(template, **params)
    return text


def _shown(value: object) -> object:
    return format_decimal(int(value)) if isinstance(value, Count) else value


def translate(text: str) -> str:
    """Return a domain :class:`Message` in the request's language; any other text as it is."""
    if not isinstance(text, Message):
        return text
    return gettext(text.template, **{name: _shown(value) for name, value in text.params.items()})


def message_of(error: ReadableError) -> str:
    """Return the messages of a domain error in the request's language."""
    return " ".join(translate(message) for message in error.messages)


def http_error_text(code: int, name: str, description: str) -> tuple[str, str]:
    """Return an HTTP error's title and description, translated when they are Werkzeug's own."""
    title = gettext(HTTP_ERROR_NAMES[code]) if HTTP_ERROR_NAMES.get(code) == name else name
    if description in HTTP_DEFAULT_DESCRIPTIONS:
        description = gettext(description)
    return title, description
