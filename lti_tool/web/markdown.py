"""Turning the content's Markdown into safe HTML: rendered, then sanitised against an allow-list."""

from __future__ import annotations

from functools import lru_cache
from html import escape

import markdown as markdown_lib
import nh3
from flask_babel import gettext
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "hr", "li", "ol", "p",
    "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}


@lru_cache(maxsize=1024)
def render_markdown(source: str, table_label: str = "Table") -> Markup:
    """Render Markdown (CommonMark with tables) to HTML that keeps only harmless tags and links.

    Each table sits in a focusable, labelled region that scrolls sideways on a narrow screen,
    so that it can be scrolled with the keyboard too.
    """
    html = markdown_lib.markdown(source, extensions=["tables", "sane_lists"], output_format="html")
    cleaned = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")
    region = f'<div class="table-scroll" role="region" tabindex="0" aria-label="{escape(table_label)}">'
    wrapped = cleaned.replace("<table>", region + "<table>").replace("</table>", "</table></div>")
    return Markup(wrapped)  # noqa: S704 - sanitised by nh3 just above; only our own wrapper added


def markdown_filter(source: str) -> Markup:
    """Render ``source`` for the templates' ``markdown`` filter, with a translated table label."""
    return render_markdown(source, gettext("Table (scrolls sideways on a narrow screen)"))
