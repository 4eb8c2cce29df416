"""A corpus of cross-site scripting payloads, as data, for the browser tests of the tool's escaping.

Each payload has a name, and when it runs it reports that name: it calls ``__pwn('<name>')`` (a
function the test exposes in every frame), or opens a dialog whose message is the name. Every
element a payload would inject carries ``data-pwn="<name>"``, so a page scan can say which payload
got through even when the browser does not run it (a blocked ``javascript:`` link, a CSP-blocked
handler).

``context`` says where the payload breaks out when a page pastes it in raw: as element text
(``body``), inside a double- or single-quoted or unquoted attribute value, a ``<textarea>``, the
``<title>``, an HTML comment, a JavaScript string, an ``href``, or Markdown that is rendered without
sanitising. ``inert`` payloads run nowhere by themselves: they catch a server that evaluates
templates or decodes entities, URL escapes or look-alike characters twice, so the check for them is
that their text comes out on the page unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

SINK: Final = "__pwn"
MARKER_ATTRIBUTE: Final = "data-pwn"
CONTEXTS: Final = frozenset(
    {
        "body",
        "attr-dq",
        "attr-sq",
        "attr-unquoted",
        "textarea",
        "title",
        "comment",
        "js-string",
        "href",
        "markdown",
        "inert",
    }
)


@dataclass(frozen=True)
class Payload:
    """One hostile text: its name, the text itself, and where it breaks out when pasted in raw."""

    name: str
    text: str
    context: str

    @property
    def runs(self) -> bool:
        """Whether the payload runs (or injects markup) when a page pastes it raw in its context."""
        return self.context != "inert"


PAYLOADS: Final[tuple[Payload, ...]] = (
    Payload("script-tag", "<script>__pwn('script-tag')</script>", "body"),
    Payload("script-mixed-case", "<ScRiPt>__pwn('script-mixed-case')</sCrIpT>", "body"),
    Payload("img-onerror", '<img src=x onerror="__pwn(\'img-onerror\')" data-pwn="img-onerror">', "body"),
    Payload("img-alert", '<img src=x onerror="alert(\'img-alert\')" data-pwn="img-alert">', "body"),
    Payload("svg-onload", '<svg onload="__pwn(\'svg-onload\')" data-pwn="svg-onload"></svg>', "body"),
    Payload("svg-script", "<svg data-pwn=\"svg-script\"><script>__pwn('svg-script')</script></svg>", "body"),
    Payload(
        "details-ontoggle",
        '<details open ontoggle="__pwn(\'details-ontoggle\')" data-pwn="details-ontoggle"></details>',
        "body",
    ),
    Payload(
        "iframe-srcdoc",
        '<iframe srcdoc="<script>__pwn(\'iframe-srcdoc\')</script>" data-pwn="iframe-srcdoc"></iframe>',
        "body",
    ),
    Payload(
        "object-data-url",
        "<object data=\"data:text/html,<script>alert('object-data-url')</script>\" "
        'data-pwn="object-data-url"></object>',
        "body",
    ),
    Payload(
        "a-javascript",
        '<a href="javascript:__pwn(\'a-javascript\')" data-pwn="a-javascript">a-javascript</a>',
        "body",
    ),
    Payload(
        "style-expression",
        "<div style=\"width:expression(__pwn('style-expression'));background:url(javascript:"
        '__pwn(\'style-expression\'))" data-pwn="style-expression">x</div>',
        "body",
    ),
    Payload("style-tag", '<style data-pwn="style-tag">*{display:none}</style>', "body"),
    Payload(
        "mxss-svg-style",
        '<svg><style><img src=x onerror="__pwn(\'mxss-svg-style\')" data-pwn="mxss-svg-style"></style></svg>',
        "body",
    ),
    Payload(
        "attr-double-quote",
        '"><img src=x onerror="__pwn(\'attr-double-quote\')" data-pwn="attr-double-quote">',
        "attr-dq",
    ),
    Payload("attr-double-quote-script", "\"><script>__pwn('attr-double-quote-script')</script>", "attr-dq"),
    Payload(
        "attr-single-quote",
        '\'><img src=x onerror="__pwn(\'attr-single-quote\')" data-pwn="attr-single-quote">',
        "attr-sq",
    ),
    Payload(
        "attr-unquoted", "x autofocus onfocus=__pwn('attr-unquoted') data-pwn=attr-unquoted", "attr-unquoted"
    ),
    Payload("textarea-close", "</textarea><script>__pwn('textarea-close')</script>", "textarea"),
    Payload("title-close", "</title><script>__pwn('title-close')</script>", "title"),
    Payload(
        "comment-close",
        '--><img src=x onerror="__pwn(\'comment-close\')" data-pwn="comment-close">',
        "comment",
    ),
    Payload("js-string-break", "\";__pwn('js-string-break');//", "js-string"),
    Payload("href-javascript", "javascript:__pwn('href-javascript')", "href"),
    Payload("markdown-link", "[markdown-link](<javascript:__pwn('markdown-link')>)", "markdown"),
    Payload("markdown-image", "![markdown-image](<javascript:__pwn('markdown-image')>)", "markdown"),
    Payload("template-jinja", "{{7*7}}{% if 1 %}template-jinja{% endif %}", "inert"),
    Payload("template-other", "${7*7} #{7*7} <%= 7*7 %> {{constructor.constructor('__pwn(1)')()}}", "inert"),
    Payload("entity-encoded", "&lt;script&gt;__pwn('entity-encoded')&lt;/script&gt;", "inert"),
    Payload("numeric-entities", "&#x3C;img src=x onerror=__pwn('numeric-entities')&#x3E;", "inert"),
    Payload("url-encoded", "%3Cscript%3E__pwn('url-encoded')%3C/script%3E", "inert"),
    Payload("js-escaped", "\\x3cscript\\x3e__pwn('js-escaped')\\u003c/script\\u003e", "inert"),
    Payload(
        "fullwidth-brackets", "\uff1cscript\uff1e__pwn('fullwidth-brackets')\uff1c/script\uff1e", "inert"
    ),
    Payload("bidi-override", '\u202egpj.exe<b data-pwn="bidi-override">bidi-override</b>', "body"),
)


def by_name(name: str) -> Payload:
    """Return the corpus payload called ``name``."""
    return next(p for p in PAYLOADS if p.name == name)


def fitting(limit: int, payloads: Iterable[Payload] = PAYLOADS) -> list[Payload]:
    """Return the payloads at most ``limit`` characters long (for fields that keep no more)."""
    return [p for p in payloads if len(p.text) <= limit]


def without_slash(payloads: Iterable[Payload] = PAYLOADS) -> list[Payload]:
    """Return the payloads that fit in one URL path segment (no ``/``)."""
    return [p for p in payloads if "/" not in p.text]


def joined(payloads: Iterable[Payload], limit: int, separator: str = " | ") -> tuple[str, list[Payload]]:
    """Join as many payloads as fit in ``limit`` characters; return the text and the payloads in it."""
    taken: list[Payload] = []
    text = ""
    for payload in payloads:
        candidate = payload.text if not taken else text + separator + payload.text
        if len(candidate) <= limit:
            taken.append(payload)
            text = candidate
    return text, taken


def sink_names(payload: Payload) -> set[str]:
    """Return the names a payload reports when it runs (its ``__pwn``/``alert`` calls and markers)."""
    calls = re.findall(r"(?:__pwn|alert)\('([^']*)'\)", payload.text)
    markers = re.findall(r"data-pwn=\"?([\w-]+)", payload.text)
    return set(calls) | set(markers)
