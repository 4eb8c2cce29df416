"""Server-drawn, accessible SVG charts for the trainers' and learners' dashboards.

Every public function returns one ``<svg>`` element as :class:`markupsafe.Markup`, to be placed
inline next to an HTML table that holds the same data (the table is what screen readers read: the
chart is ``role="img"``, named by its ``<title>`` and described by its ``<desc>``).

The drawing is plain SVG with a ``viewBox`` and no fixed size, so it scales with the page
(``static/charts.css`` sets ``width: 100%``). Colours come only from CSS classes defined in
``static/charts.css``: ``lvl-0`` (no level yet, light grey) to ``lvl-6`` (highest level, dark green)
for competency levels. Text is always dark on a light background: counts drawn on a coloured bar sit
on a white chip. Every piece of text is escaped; the output is deterministic (same input, same bytes).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Segment", "funnel", "level_profile", "line_chart", "stacked_bars"]

WIDTH = 640
"""The width of every chart's viewBox; heights depend on the number of rows."""

MAX_LEVELS = 6
"""The number of level classes ``lvl-1`` .. ``lvl-6`` styled in charts.css (``lvl-0``: no level)."""

_CHART_ID = re.compile(r"[a-z][a-z0-9-]{0,63}")
_CSS_CLASS = re.compile(r"[a-z][a-z0-9-]{0,63}")
_GLYPH = 7.2  # rough advance of one 13px sans-serif character, in viewBox units
_PAD = 8
_LABEL_WIDTH = 184  # the column of row labels, left of the bars
_BAR_X = _PAD + _LABEL_WIDTH + _PAD
_ROW_HEIGHT = 30
_BAR_HEIGHT = 20
_CHIP_HEIGHT = 15
_TEXT_DROP = 4.5  # from a text's vertical centre down to its baseline
_EN_DASH = "\u2013"
_NO_LEVEL = _EN_DASH


@dataclass(frozen=True)
class Segment:
    """One legend entry of a stacked bar: its label and the CSS class suffix (e.g. "lvl-3")."""

    label: str
    css_class: str


def stacked_bars(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    segments: Sequence[Segment],
    *,
    empty_text: str,
) -> Markup:
    """Draw one horizontal 100%-stacked bar per row (e.g. per competency: learners at each level).

    Each row's values align with ``segments``; a segment's width is its share of the row's total.
    A legend at the top lists the segments. Each segment's rect has a ``<title>`` tooltip
    "<row label> - <segment label>: <n>" (with an en dash), and its count is written on it when it
    is wide enough.
    A row whose total is zero is drawn as an empty outlined track.
    """
    _check_id(chart_id)
    for segment in segments:
        _check_class(segment.css_class)
    for label, values in rows:
        _check_counts(label, values)
        if len(values) != len(segments):
            raise ValueError(f"row {label!r} has {len(values)} values for {len(segments)} segments")
    if not rows or not any(any(values) for _, values in rows):
        return _empty_chart(chart_id, "stacked-bars", title, description, empty_text)
    legend, legend_height = _draw_legend(segments, _PAD)
    top = _PAD + legend_height + _PAD
    bar_width = WIDTH - _BAR_X - _PAD
    body = [legend]
    for index, (label, values) in enumerate(rows):
        y = top + index * _ROW_HEIGHT
        body.append(_draw_stacked_row(label, values, segments, y, bar_width))
    height = top + len(rows) * _ROW_HEIGHT + _PAD
    return _svg(chart_id, "stacked-bars", title, description, height, "".join(body))


def funnel(
    chart_id: str,
    title: str,
    description: str,
    stages: Sequence[tuple[str, int]],
    *,
    empty_text: str,
) -> Markup:
    """Draw horizontal bars, one per stage (e.g. In the course / Started / Handed in work / Completed).

    Widths are relative to the first stage (or to the largest stage, should a later one exceed it),
    and each bar is labelled with its count and its share of the first stage in %.
    """
    _check_id(chart_id)
    for label, count in stages:
        _check_counts(label, [count])
    if not stages or not any(count for _, count in stages):
        return _empty_chart(chart_id, "funnel", title, description, empty_text)
    first = stages[0][1]
    scale = max(count for _, count in stages)
    value_width = 12 * _GLYPH + _PAD
    bar_width = WIDTH - _BAR_X - value_width - _PAD
    body = []
    for index, (label, count) in enumerate(stages):
        y = _PAD + index * _ROW_HEIGHT
        text = _number(count) if not first else f"{_number(count)} ({_percent(count, first)})"
        body.append(_draw_funnel_row(label, text, bar_width * count / scale, y))
    height = _PAD + len(stages) * _ROW_HEIGHT + _PAD
    return _svg(chart_id, "funnel", title, description, height, "".join(body))


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    points: Sequence[tuple[str, float]],
    *,
    y_label: str,
    empty_text: str,
    y_max: float | None = None,
) -> Markup:
    """Draw a line with dots over labelled x points (e.g. week labels "2026-10-05").

    The y axis runs from 0 to ``y_max`` (default: a round number at or above the largest value),
    with 3-5 labelled horizontal grid lines; each dot has a ``<title>`` "<x label>: <y>". At most
    about 8 x labels are written (thinned out evenly), always the first and the last. Values above
    ``y_max`` are drawn at the top. No points, or only zeros, give the empty state.
    """
    _check_id(chart_id)
    for label, value in points:
        _check_value(label, value)
    if y_max is not None and not (math.isfinite(y_max) and y_max > 0):
        raise ValueError(f"y_max must be a positive number, not {y_max!r}")
    if not points or not any(value for _, value in points):
        return _empty_chart(chart_id, "line", title, description, empty_text)
    top, left, right, bottom = 40.0, 56.0, WIDTH - 44.0, 244.0
    if y_max is None:
        y_max, intervals, decimals = _nice_scale(max(value for _, value in points))
    else:
        intervals, decimals = _grid_for(y_max)
    xs = _spread(len(points), left, right)
    ys = [bottom - (bottom - top) * min(value, y_max) / y_max for _, value in points]
    body = [
        _text(_PAD, 20, y_label, "chart-axis-label"),
        _draw_grid(y_max, intervals, decimals, (top, left, right, bottom)),
        _draw_x_labels([label for label, _ in points], xs, bottom + 20, right - left),
        _tag("polyline", {"class": "chart-series", "points": " ".join(map(_point, xs, ys))}),
    ]
    for (label, value), x, y in zip(points, xs, ys, strict=True):
        dot_title = _tag("title", {}, _escape(f"{label}: {_number(value)}"))
        dot = {"class": "chart-series-dot", "cx": _fmt(x), "cy": _fmt(y), "r": "4"}
        body.append(_tag("circle", dot, dot_title))
    return _svg(chart_id, "line", title, description, bottom + 32, "".join(body))


def level_profile(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, int | None]],
    level_names: Sequence[str],
    proficient_level: int,
    *,
    empty_text: str,
    no_level_text: str = _NO_LEVEL,
) -> Markup:
    """Draw a learner's own profile: one horizontal bar per competency whose length is its level.

    Levels run from 1 to ``len(level_names)`` (``level_names[0]`` names level 1); ``None`` or 0 means
    no level yet: no bar, and ``no_level_text`` where its name would be. A bar has class
    ``lvl-<level>`` and the level's name written at its end. A dashed vertical line marks
    ``proficient_level``, labelled with that level's name. Rows that all lack a level give the empty
    state.
    """
    _check_id(chart_id)
    if not 1 <= len(level_names) <= MAX_LEVELS:
        raise ValueError(f"between 1 and {MAX_LEVELS} level names are needed, not {len(level_names)}")
    if not 1 <= proficient_level <= len(level_names):
        raise ValueError(f"proficient_level {proficient_level} is not one of the levels")
    for label, level in rows:
        if level is not None and not 0 <= level <= len(level_names):
            raise ValueError(f"row {label!r}: level {level} is not between 0 and {len(level_names)}")
    if not rows or not any(level for _, level in rows):
        return _empty_chart(chart_id, "level-profile", title, description, empty_text)
    longest = max(len(name) for name in [*level_names, no_level_text])
    name_width = min(max(longest * _GLYPH, 48.0), 160.0) + 2 * _PAD
    unit = (WIDTH - _BAR_X - name_width) / len(level_names)
    top = 28
    bottom = top + len(rows) * _ROW_HEIGHT
    body = [_draw_level_grid(len(level_names), unit, top, bottom)]
    for index, (label, level) in enumerate(rows):
        name = level_names[level - 1] if level else no_level_text
        body.append(_draw_level_row(label, level or 0, name, unit, top + index * _ROW_HEIGHT, name_width))
    body.append(_draw_proficiency_line(_BAR_X + unit * proficient_level, level_names[proficient_level - 1],
                                       top, bottom))
    return _svg(chart_id, "level-profile", title, description, bottom + _PAD, "".join(body))


# --- checking the input -------------------------------------------------------------------------


def _check_id(chart_id: str) -> None:
    """Refuse a chart id that is not a short lower-case name (it becomes an XML id)."""
    if not _CHART_ID.fullmatch(chart_id):
        raise ValueError(f"invalid chart id {chart_id!r}: expected ^[a-z][a-z0-9-]{{0,63}}$")


def _check_class(css_class: str) -> None:
    """Refuse a segment's CSS class that is not a plain class name."""
    if not _CSS_CLASS.fullmatch(css_class):
        raise ValueError(f"invalid CSS class {css_class!r}")


def _check_counts(label: str, counts: Sequence[int]) -> None:
    """Refuse negative counts."""
    if any(count < 0 for count in counts):
        raise ValueError(f"row {label!r} has a negative count")


def _check_value(label: str, value: float) -> None:
    """Refuse a negative or non-finite y value."""
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"point {label!r} has an invalid value {value!r}")


# --- formatting -----------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    """Format a coordinate with at most one decimal, without locale (``12``, ``12.5``)."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _number(value: float, decimals: int = 1) -> str:
    """Format a value to show: an integer when whole, else with ``decimals`` decimals."""
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(part: int, whole: int) -> str:
    """Format ``part`` as a percentage of ``whole``: ``75%``, ``66.7%``."""
    return f"{_number(100 * part / whole)}%"


def _truncate(text: str, width: float) -> str:
    """Shorten ``text`` with an ellipsis so that it fits about ``width`` viewBox units."""
    limit = max(int(width / _GLYPH), 2)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _escape(text: str) -> str:
    """Escape text for XML content or an attribute value, as a plain ``str``."""
    return str(escape(text))


def _point(x: float, y: float) -> str:
    """Format one point of a polyline."""
    return f"{_fmt(x)},{_fmt(y)}"


# --- building elements ----------------------------------------------------------------------------


def _tag(name: str, attributes: dict[str, str], content: str = "") -> str:
    """Build an element; ``content`` must already be markup (escaped text or elements)."""
    attrs = "".join(f' {key}="{_escape(value)}"' for key, value in attributes.items())
    return f"<{name}{attrs}>{content}</{name}>" if content else f"<{name}{attrs}/>"


def _text(x: float, y: float, text: str, css_class: str, anchor: str = "start") -> str:
    """Build a ``<text>`` element whose baseline starts (or centres, or ends) at x, y."""
    attributes = {"class": css_class, "x": _fmt(x), "y": _fmt(y)}
    if anchor != "start":
        attributes["text-anchor"] = anchor
    return _tag("text", attributes, _escape(text))


def _rect(x: float, y: float, width: float, height: float, css_class: str, content: str = "") -> str:
    """Build a ``<rect>``, with optional children (a ``<title>``)."""
    geometry = {"x": _fmt(x), "y": _fmt(y), "width": _fmt(width), "height": _fmt(height)}
    return _tag("rect", {"class": css_class, **geometry}, content)


def _line(x1: float, y1: float, x2: float, y2: float, css_class: str) -> str:
    """Build a ``<line>``."""
    return _tag("line", {"class": css_class, "x1": _fmt(x1), "y1": _fmt(y1), "x2": _fmt(x2), "y2": _fmt(y2)})


def _svg(chart_id: str, kind: str, title: str, description: str, height: float, body: str) -> Markup:
    """Wrap a chart's body in its ``<svg>`` element, named by its title and described by its desc."""
    attributes = {
        "xmlns": "http://www.w3.org/2000/svg",
        "class": f"chart chart-{kind}",
        "viewBox": f"0 0 {WIDTH} {_fmt(height)}",
        "role": "img",
        "id": chart_id,
        "aria-labelledby": f"{chart_id}-title",
        "aria-describedby": f"{chart_id}-desc",
        "focusable": "false",
    }
    heading = (_tag("title", {"id": f"{chart_id}-title"}, _escape(title))
               + _tag("desc", {"id": f"{chart_id}-desc"}, _escape(description)))
    # Every text and attribute value in the body went through _escape, so it is safe markup.
    return Markup(_tag("svg", attributes, heading + body))  # noqa: S704


def _empty_chart(chart_id: str, kind: str, title: str, description: str, empty_text: str) -> Markup:
    """Draw the empty state: the caller's (translated) "no data" text, centred."""
    height = 80
    body = _text(WIDTH / 2, height / 2 + _TEXT_DROP, _truncate(empty_text, WIDTH - 2 * _PAD), "chart-empty",
                 "middle")
    return _svg(chart_id, kind, title, description, height, body)


# --- stacked bars and funnel ----------------------------------------------------------------------


def _draw_legend(segments: Sequence[Segment], top: float) -> tuple[str, float]:
    """Lay the legend's swatches and labels out in lines; return them and the height they take."""
    swatch, gap, line_height = 12.0, 18.0, 20.0
    x, y, parts = float(_PAD), top, []
    for segment in segments:
        label = _truncate(segment.label, 30 * _GLYPH)
        width = swatch + 6 + len(label) * _GLYPH
        if x > _PAD and x + width > WIDTH - _PAD:
            x, y = float(_PAD), y + line_height
        parts.append(_rect(x, y + 2, swatch, swatch, f"chart-swatch {segment.css_class}"))
        parts.append(_text(x + swatch + 6, y + 8 + _TEXT_DROP, label, "chart-legend"))
        x += width + gap
    return _tag("g", {}, "".join(parts)), y - top + line_height


def _draw_row_label(label: str, y: float) -> str:
    """Write a row's label, right-aligned against the bars and truncated to its column."""
    baseline = y + _BAR_HEIGHT / 2 + _TEXT_DROP
    return _text(_BAR_X - _PAD, baseline, _truncate(label, _LABEL_WIDTH), "chart-label", "end")


def _draw_chip(centre: float, y: float, text: str) -> str:
    """Write a count on a white chip centred at ``centre`` over a bar starting at ``y``."""
    width = len(text) * _GLYPH + 6
    chip_y = y + (_BAR_HEIGHT - _CHIP_HEIGHT) / 2
    return (_rect(centre - width / 2, chip_y, width, _CHIP_HEIGHT, "chart-chip")
            + _text(centre, y + _BAR_HEIGHT / 2 + _TEXT_DROP, text, "chart-value", "middle"))


def _draw_stacked_row(label: str, values: Sequence[int], segments: Sequence[Segment], y: float,
                      bar_width: float) -> str:
    """Draw one 100%-stacked bar, its label, and the count on each segment wide enough for it."""
    parts = [_tag("title", {}, _escape(label)), _draw_row_label(label, y)]
    total = sum(values)
    if not total:
        parts.append(_rect(_BAR_X, y, bar_width, _BAR_HEIGHT, "chart-track"))
    done = 0
    for value, segment in zip(values, segments, strict=True):
        if not value:
            continue
        start = float(_fmt(_BAR_X + bar_width * done / total))
        done += value
        end = float(_fmt(_BAR_X + bar_width * done / total))
        tooltip = _tag("title", {}, _escape(f"{label} {_EN_DASH} {segment.label}: {_number(value)}"))
        parts.append(_rect(start, y, end - start, _BAR_HEIGHT, f"chart-seg {segment.css_class}", tooltip))
        if end - start >= len(_number(value)) * _GLYPH + 10:
            parts.append(_draw_chip((start + end) / 2, y, _number(value)))
    return _tag("g", {"class": "chart-row"}, "".join(parts))


def _draw_funnel_row(label: str, value_text: str, width: float, y: float) -> str:
    """Draw one funnel stage: its label, its bar, and its count and share beside the bar."""
    parts = [_tag("title", {}, _escape(label)), _draw_row_label(label, y)]
    tooltip = _tag("title", {}, _escape(f"{label}: {value_text}"))
    parts.append(_rect(_BAR_X, y, width, _BAR_HEIGHT, "chart-funnel-bar", tooltip))
    parts.append(_text(_BAR_X + width + 6, y + _BAR_HEIGHT / 2 + _TEXT_DROP, value_text, "chart-value"))
    return _tag("g", {"class": "chart-row"}, "".join(parts))


# --- line chart -----------------------------------------------------------------------------------


def _nice_scale(peak: float) -> tuple[float, int, int]:
    """Choose a round top for the y axis: 3-5 intervals of 1, 2 or 5 times a power of ten.

    Returns the top, the number of intervals and the decimals the grid labels need.
    """
    exponent = math.floor(math.log10(peak)) - 1
    while True:
        for mantissa in (1, 2, 5):
            step = float(f"{mantissa}e{exponent}")
            intervals = math.ceil(peak / step - 1e-9)
            if 3 <= intervals <= 5:
                return float(f"{mantissa * intervals}e{exponent}"), intervals, max(0, -exponent)
        exponent += 1


def _grid_for(y_max: float) -> tuple[int, int]:
    """Split a given y axis top into 3-5 intervals, preferring whole, then one-decimal, steps."""
    for decimals in (0, 1):
        for intervals in (4, 5, 3):
            step = y_max / intervals * 10**decimals
            if abs(step - round(step)) < 1e-9:
                return intervals, decimals
    return 4, 2


def _draw_grid(y_max: float, intervals: int, decimals: int, box: tuple[float, float, float, float]) -> str:
    """Draw the horizontal grid lines with their values, and the x axis."""
    top, left, right, bottom = box
    parts = []
    for index in range(1, intervals + 1):
        y = bottom - (bottom - top) * index / intervals
        parts.append(_line(left, y, right, y, "chart-grid"))
        tick = _number(y_max * index / intervals, decimals)
        parts.append(_text(left - 6, y + _TEXT_DROP, tick, "chart-tick", "end"))
    parts.append(_line(left, bottom, right, bottom, "chart-axis"))
    parts.append(_text(left - 6, bottom + _TEXT_DROP, "0", "chart-tick", "end"))
    return _tag("g", {}, "".join(parts))


def _spread(count: int, left: float, right: float) -> list[float]:
    """Place ``count`` points evenly from ``left`` to ``right`` (a single point in the middle)."""
    if count == 1:
        return [(left + right) / 2]
    return [left + (right - left) * index / (count - 1) for index in range(count)]


def _thin(count: int, most: int, gap: int) -> list[int]:
    """Pick evenly spread indexes out of ``count``, the first and the last always among them.

    At most ``most`` of them, and at least ``gap`` indexes apart, so that their labels do not overlap.
    """
    if count <= 2:
        return list(range(count))
    chosen = max(2, min(most, (count - 1) // gap + 1, count))
    return [round(index * (count - 1) / (chosen - 1)) for index in range(chosen)]


def _draw_x_labels(labels: Sequence[str], xs: Sequence[float], y: float, plot_width: float) -> str:
    """Write the x labels under their points, thinned out so that they do not overlap."""
    label_width = min(max(len(label) for label in labels), 14) * _GLYPH + 10
    spacing = plot_width / max(len(labels) - 1, 1)
    gap = max(1, math.ceil(label_width / spacing))
    parts = [_text(xs[index], y, _truncate(labels[index], 14 * _GLYPH), "chart-tick", "middle")
             for index in _thin(len(labels), 8, gap)]
    return _tag("g", {}, "".join(parts))


# --- level profile --------------------------------------------------------------------------------


def _draw_level_grid(levels: int, unit: float, top: float, bottom: float) -> str:
    """Draw a faint vertical line at each level, so that a bar's length reads against them."""
    parts = [_line(_BAR_X + unit * level, top, _BAR_X + unit * level, bottom, "chart-grid")
             for level in range(1, levels + 1)]
    parts.append(_line(_BAR_X, top, _BAR_X, bottom, "chart-axis"))
    return _tag("g", {}, "".join(parts))


def _draw_level_row(label: str, level: int, name: str, unit: float, y: float, name_width: float) -> str:
    """Draw one competency's bar, of class ``lvl-<level>``, with the level's name at its end."""
    parts = [_tag("title", {}, _escape(f"{label}: {name}")), _draw_row_label(label, y)]
    if level:
        parts.append(_rect(_BAR_X, y, unit * level, _BAR_HEIGHT, f"chart-level-bar lvl-{level}"))
    parts.append(_text(_BAR_X + unit * level + 6, y + _BAR_HEIGHT / 2 + _TEXT_DROP,
                       _truncate(name, name_width - 2 * _PAD), "chart-value chart-level-name"))
    return _tag("g", {"class": "chart-row"}, "".join(parts))


def _draw_proficiency_line(x: float, name: str, top: float, bottom: float) -> str:
    """Draw the dashed line at the proficient level, labelled with its name above the bars."""
    line = _line(x, top - 6, x, bottom, "chart-proficiency")
    return _tag("g", {}, line + _text(x, top - 10, name, "chart-proficiency-label", "middle"))
