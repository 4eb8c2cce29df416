"""Language maps: text with one value per locale, falling back to English."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LOCALE = "en"


def localise(text: Mapping[str, str] | str | None, locale: str | None) -> str:
    """Return ``text`` in ``locale`` (``sv-SE`` tries ``sv-SE`` then ``sv``), else English."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    for candidate in _candidates(locale):
        if text.get(candidate):
            return text[candidate]
    return text.get(DEFAULT_LOCALE) or next(iter(text.values()), "")


def language_of(text: Mapping[str, str] | str | None, locale: str | None) -> str:
    """Return the language :func:`localise` picks for ``text`` in ``locale`` (for ``lang=""``)."""
    if text is None or isinstance(text, str):
        return DEFAULT_LOCALE
    for candidate in _candidates(locale):
        if text.get(candidate):
            return candidate
    return DEFAULT_LOCALE if text.get(DEFAULT_LOCALE) else next(iter(text), DEFAULT_LOCALE)


def _candidates(locale: str | None) -> list[str]:
    if not locale:
        return []
    normalised = locale.replace("_", "-")
    return [normalised, normalised.split("-", 1)[0].lower()]
