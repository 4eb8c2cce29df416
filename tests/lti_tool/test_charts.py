"""The server-drawn SVG charts: well-formed, accessible, escaped, proportional and deterministic."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from markupsafe import Markup

from lti_tool import charts
from lti_tool.charts import Segment, funnel, level_profile, line_chart, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
ATTRIBUTE_BREAKER = '"onload=alert(1) x="'
LEVELS = [
    Segment("No level yet", "lvl-0"),
    Segment("Aware", "lvl-1"),
    Segment("Developing", "lvl-2"),
    Segment("Proficient", "lvl-3"),
    Segment("Leading", "lvl-4"),
]
LEVEL_NAMES = ["Aware", "Developing", "Proficient", "Leading"]
CSS = (Path(charts.__file__).parent / "static" / "charts.css").read_text(encoding="utf-8")


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def classes(element: ET.Element) -> list[str]:
    return element.get("class", "").split()


def with_class(root: ET.Element, css_class: str, tag: str = "*") -> list[ET.Element]:
    return [element for element in root.iter(f"{SVG}{tag}" if tag != "*" else tag)
            if css_class in classes(element)]


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def number(element: ET.Element, attribute: str) -> float:
    return float(element.attrib[attribute])


def sample_charts() -> dict[str, Callable[[], Markup]]:
    """One drawing of each kind, with data, keyed by kind."""
    return {
        "stacked-bars": lambda: stacked_bars(
            "levels", "Levels by competency", "Learners at each level, per competency.",
            [("L2I-C1.1 Demographic and social change", [2, 1, 3, 0, 4]), ("L2I-C1.2", [0, 0, 1, 3, 0])],
            LEVELS, empty_text="No learners yet"),
        "funnel": lambda: funnel(
            "progress", "Progress", "How far learners got.",
            [("In the course", 20), ("Started", 15), ("Handed in work", 6), ("Completed", 2)],
            empty_text="No learners yet"),
        "line": lambda: line_chart(
            "weekly", "Active learners", "Learners active each week.",
            [("2026-10-05", 3), ("2026-10-12", 7), ("2026-10-19", 5)],
            y_label="Learners", empty_text="No activity yet"),
        "level-profile": lambda: level_profile(
            "mine", "My competencies", "My level in each competency.",
            [("Co-creation", 2), ("Systems thinking", None), ("Lab facilitation", 4)],
            LEVEL_NAMES, 3, empty_text="No levels yet"),
    }


# --- every chart ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(sample_charts()))
def test_the_svg_is_an_accessible_image_named_by_its_title_and_desc(kind: str) -> None:
    root = parse(sample_charts()[kind]())
    chart_id = root.attrib["id"]
    assert root.tag == f"{SVG}svg"
    assert classes(root) == ["chart", f"chart-{kind}"]
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-labelledby"] == f"{chart_id}-title"
    assert root.attrib["aria-describedby"] == f"{chart_id}-desc"
    assert root.attrib["focusable"] == "false"
    assert re.fullmatch(r"0 0 640 \d+(\.\d)?", root.attrib["viewBox"])
    assert "width" not in root.attrib
    assert "height" not in root.attrib
    title, desc = list(root)[:2]
    assert (title.tag, title.attrib) == (f"{SVG}title", {"id": f"{chart_id}-title"})
    assert (desc.tag, desc.attrib) == (f"{SVG}desc", {"id": f"{chart_id}-desc"})
    assert title.text and desc.text


@pytest.mark.parametrize("kind", sorted(sample_charts()))
def test_colours_come_only_from_classes_styled_in_charts_css(kind: str) -> None:
    root = parse(sample_charts()[kind]())
    for element in root.iter():
        assert not {"fill", "stroke", "style", "color"} & set(element.attrib)
        for css_class in classes(element):
            assert re.search(rf"\.{re.escape(css_class)}(?![\w-])", CSS), css_class


@pytest.mark.parametrize("kind", sorted(sample_charts()))
def test_the_same_input_gives_the_same_bytes(kind: str) -> None:
    draw = sample_charts()[kind]
    assert str(draw()) == str(draw())


def test_charts_css_styles_the_level_palette_and_the_chart_width() -> None:
    for level in range(7):
        assert re.search(rf"\.lvl-{level} \{{ fill: #[0-9a-f]{{6}}; \}}", CSS)
    assert re.search(r"\.chart \{[^}]*width: 100%;[^}]*height: auto;[^}]*max-width: 60rem;", CSS)


def test_text_is_dark_enough_on_white() -> None:
    text_rule = re.search(r"\.chart text \{[^}]*fill: #([0-9a-f]{6});", CSS)
    assert text_rule
    assert contrast_with_white(text_rule.group(1)) >= 4.5
    for colour in re.findall(r"\.chart-tick \{[^}]*fill: #([0-9a-f]{6});", CSS):
        assert contrast_with_white(colour) >= 4.5


def contrast_with_white(hex_colour: str) -> float:
    def channel(value: int) -> float:
        srgb = value / 255
        return srgb / 12.92 if srgb <= 0.03928 else ((srgb + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(int(hex_colour[i:i + 2], 16)) for i in (0, 2, 4))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize("chart_id", ["", "Levels", "1st", "a b", "a_b", "x" * 65, 'a"><script>', "é"])
def test_an_invalid_chart_id_is_refused(chart_id: str) -> None:
    with pytest.raises(ValueError, match="chart id"):
        stacked_bars(chart_id, "t", "d", [("a", [1])], [Segment("A", "lvl-1")], empty_text="none")
    with pytest.raises(ValueError, match="chart id"):
        funnel(chart_id, "t", "d", [], empty_text="none")
    with pytest.raises(ValueError, match="chart id"):
        line_chart(chart_id, "t", "d", [], y_label="y", empty_text="none")
    with pytest.raises(ValueError, match="chart id"):
        level_profile(chart_id, "t", "d", [], LEVEL_NAMES, 3, empty_text="none")


def test_a_valid_chart_id_may_be_64_characters() -> None:
    chart_id = "a" + "-9" * 31 + "z"
    assert len(chart_id) == 64
    assert parse(funnel(chart_id, "t", "d", [("a", 1)], empty_text="none")).attrib["aria-labelledby"] == (
        f"{chart_id}-title")


@pytest.mark.parametrize("markup", [
    stacked_bars("e", "T", "D", [], LEVELS, empty_text="Nobody <b>here</b>"),
    stacked_bars("e", "T", "D", [("a", [0, 0, 0, 0, 0]), ("b", [0, 0, 0, 0, 0])], LEVELS,
                 empty_text="Nobody <b>here</b>"),
    funnel("e", "T", "D", [], empty_text="Nobody <b>here</b>"),
    funnel("e", "T", "D", [("In the course", 0), ("Started", 0)], empty_text="Nobody <b>here</b>"),
    line_chart("e", "T", "D", [], y_label="y", empty_text="Nobody <b>here</b>"),
    line_chart("e", "T", "D", [("w1", 0), ("w2", 0.0)], y_label="y", empty_text="Nobody <b>here</b>"),
    level_profile("e", "T", "D", [], LEVEL_NAMES, 3, empty_text="Nobody <b>here</b>"),
    level_profile("e", "T", "D", [("a", None), ("b", 0)], LEVEL_NAMES, 3, empty_text="Nobody <b>here</b>"),
])
def test_empty_data_shows_the_callers_text_centred(markup: Markup) -> None:
    root = parse(markup)
    [message] = root.findall(f"{SVG}text")
    assert message.text == "Nobody <b>here</b>"
    assert list(message) == []
    assert message.attrib["text-anchor"] == "middle"
    width = float(root.attrib["viewBox"].split()[2])
    assert number(message, "x") == width / 2
    assert root.find(f"{SVG}title") is not None
    assert (root.attrib["aria-labelledby"], root.attrib["aria-describedby"]) == ("e-title", "e-desc")


def test_hostile_text_is_inert_everywhere() -> None:
    drawn = [
        stacked_bars("a", HOSTILE, ATTRIBUTE_BREAKER, [(HOSTILE, [1, 2]), (ATTRIBUTE_BREAKER, [3, 0])],
                     [Segment(HOSTILE, "lvl-1"), Segment(ATTRIBUTE_BREAKER, "lvl-2")], empty_text=HOSTILE),
        funnel("b", HOSTILE, HOSTILE, [(HOSTILE, 3), (ATTRIBUTE_BREAKER, 1)], empty_text=HOSTILE),
        line_chart("c", HOSTILE, HOSTILE, [(HOSTILE, 1), (ATTRIBUTE_BREAKER, 2)], y_label=HOSTILE,
                   empty_text=HOSTILE),
        level_profile("d", HOSTILE, HOSTILE, [(HOSTILE, 1), (ATTRIBUTE_BREAKER, 3)],
                      [HOSTILE, ATTRIBUTE_BREAKER, "Proficient"], 2, empty_text=HOSTILE),
        funnel("e", HOSTILE, HOSTILE, [], empty_text=HOSTILE),
    ]
    for markup in drawn:
        root = parse(markup)
        assert not [element for element in root.iter() if "script" in element.tag.lower()]
        assert all(not name.startswith("on") for element in root.iter() for name in element.attrib)
        everything = ["".join(element.itertext()) for element in root.iter()]
        assert any(HOSTILE in text for text in everything)
        assert "<script>" not in str(markup)
        assert '"onload' not in str(markup)


def test_a_hostile_segment_class_is_refused() -> None:
    with pytest.raises(ValueError, match="CSS class"):
        stacked_bars("a", "t", "d", [("a", [1])], [Segment("A", 'lvl-1" onload="x')], empty_text="none")


# --- stacked bars ------------------------------------------------------------------------------------


def test_segment_widths_are_shares_of_the_row_total() -> None:
    root = parse(stacked_bars("levels", "t", "d", [("One row", [1, 0, 3]), ("Other", [2, 2, 4])],
                              [Segment("A", "lvl-0"), Segment("B", "lvl-1"), Segment("C", "lvl-2")],
                              empty_text="none"))
    first, second = with_class(root, "chart-row")
    narrow, wide = with_class(first, "chart-seg")
    assert classes(narrow) == ["chart-seg", "lvl-0"]
    assert classes(wide) == ["chart-seg", "lvl-2"]
    assert number(wide, "width") / number(narrow, "width") == pytest.approx(3, abs=0.01)
    assert number(wide, "x") == pytest.approx(number(narrow, "x") + number(narrow, "width"))
    full = number(narrow, "width") + number(wide, "width")
    widths = [number(rect, "width") for rect in with_class(second, "chart-seg")]
    assert widths == pytest.approx([full / 4, full / 4, full / 2], abs=0.1)
    assert sum(widths) == pytest.approx(full, abs=0.05)


def test_each_segment_has_a_tooltip_and_its_count_when_wide_enough() -> None:
    root = parse(stacked_bars("levels", "t", "d", [("Co-creation", [1, 99])],
                              [Segment("Aware", "lvl-1"), Segment("Leading", "lvl-4")], empty_text="none"))
    narrow, wide = with_class(root, "chart-seg")
    assert narrow.findtext(f"{SVG}title") == "Co-creation \u2013 Aware: 1"
    assert wide.findtext(f"{SVG}title") == "Co-creation \u2013 Leading: 99"
    values = [text.text for text in with_class(root, "chart-value", "text")]
    assert values == ["99"]  # a 1% sliver has no room for its "1"
    [chip] = with_class(root, "chart-chip")
    assert number(wide, "x") < number(chip, "x") < number(wide, "x") + number(wide, "width")


def test_the_legend_lists_the_segments_in_order() -> None:
    root = parse(stacked_bars("levels", "t", "d", [("a", [1, 1, 1, 1, 1])], LEVELS, empty_text="none"))
    swatches = with_class(root, "chart-swatch")
    assert [classes(swatch)[1] for swatch in swatches] == [f"lvl-{level}" for level in range(5)]
    assert [text.text for text in with_class(root, "chart-legend", "text")] == [s.label for s in LEVELS]
    legend_bottom = max(number(swatch, "y") + number(swatch, "height") for swatch in swatches)
    assert all(number(rect, "y") > legend_bottom for rect in with_class(root, "chart-seg"))


def test_a_long_label_is_truncated_with_the_full_text_as_the_rows_tooltip() -> None:
    label = "L2I-C4.2 Designing and running a Learning & Innovation Lab with partners"
    root = parse(stacked_bars("levels", "t", "d", [(label, [1, 1])],
                              [Segment("A", "lvl-1"), Segment("B", "lvl-2")], empty_text="none"))
    [row] = with_class(root, "chart-row")
    assert row.findtext(f"{SVG}title") == label
    shown = row.findtext(f"{SVG}text")
    assert shown is not None
    assert shown.endswith("\u2026")
    assert label.startswith(shown[:-1])
    assert len(shown) < len(label)


def test_a_row_with_no_learners_is_an_empty_track() -> None:
    root = parse(stacked_bars("levels", "t", "d", [("a", [1, 1]), ("b", [0, 0])],
                              [Segment("A", "lvl-1"), Segment("B", "lvl-2")], empty_text="none"))
    first, second = with_class(root, "chart-row")
    assert with_class(second, "chart-seg") == []
    [track] = with_class(second, "chart-track")
    full = sum(number(rect, "width") for rect in with_class(first, "chart-seg"))
    assert number(track, "width") == pytest.approx(full, abs=0.1)


def test_stacked_bars_refuse_rows_that_do_not_match_the_segments() -> None:
    with pytest.raises(ValueError, match="2 values for 3 segments"):
        stacked_bars("a", "t", "d", [("a", [1, 2])], LEVELS[:3], empty_text="none")
    with pytest.raises(ValueError, match="negative"):
        stacked_bars("a", "t", "d", [("a", [1, -2])], LEVELS[:2], empty_text="none")


# --- funnel ------------------------------------------------------------------------------------------


def test_funnel_widths_are_relative_to_the_first_stage_with_count_and_share() -> None:
    root = parse(funnel("progress", "t", "d",
                        [("In the course", 40), ("Started", 30), ("Handed in work", 10), ("Completed", 0)],
                        empty_text="none"))
    bars = with_class(root, "chart-funnel-bar")
    widths = [number(bar, "width") for bar in bars]
    assert widths[1:] == pytest.approx([widths[0] * 0.75, widths[0] * 0.25, 0], abs=0.1)
    assert len({bar.attrib["x"] for bar in bars}) == 1
    ys = [number(bar, "y") for bar in bars]
    assert ys == sorted(ys)
    assert [text.text for text in with_class(root, "chart-value", "text")] == [
        "40 (100%)", "30 (75%)", "10 (25%)", "0 (0%)"]
    assert [text.text for text in with_class(root, "chart-label", "text")] == [
        "In the course", "Started", "Handed in work", "Completed"]
    assert bars[2].findtext(f"{SVG}title") == "Handed in work: 10 (25%)"


def test_funnel_shares_have_one_decimal_when_not_whole() -> None:
    root = parse(funnel("progress", "t", "d", [("All", 3), ("Some", 2), ("One", 1)], empty_text="none"))
    assert [text.text for text in with_class(root, "chart-value", "text")] == [
        "3 (100%)", "2 (66.7%)", "1 (33.3%)"]


def test_funnel_values_sit_beside_their_bars() -> None:
    root = parse(funnel("progress", "t", "d", [("All", 9), ("Some", 4)], empty_text="none"))
    for bar, value in zip(with_class(root, "chart-funnel-bar"), with_class(root, "chart-value", "text"),
                          strict=True):
        assert number(value, "x") > number(bar, "x") + number(bar, "width")


# --- line chart --------------------------------------------------------------------------------------


def dots(root: ET.Element) -> list[ET.Element]:
    return with_class(root, "chart-series-dot", "circle")


def test_line_points_run_left_to_right_and_higher_values_are_higher_up() -> None:
    points = [("2026-10-05", 2.0), ("2026-10-12", 8.0), ("2026-10-19", 5.0), ("2026-10-26", 0.0)]
    root = parse(line_chart("weekly", "t", "d", points, y_label="Learners", empty_text="none"))
    circles = dots(root)
    xs = [number(circle, "cx") for circle in circles]
    ys = [number(circle, "cy") for circle in circles]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)
    assert ys[1] < ys[2] < ys[0] < ys[3]
    baseline = ys[3]
    assert (baseline - ys[1]) / (baseline - ys[0]) == pytest.approx(4, abs=0.05)
    [line] = with_class(root, "chart-series", "polyline")
    assert line.attrib["points"] == " ".join(f"{c.attrib['cx']},{c.attrib['cy']}" for c in circles)
    assert [circle.findtext(f"{SVG}title") for circle in circles] == [
        "2026-10-05: 2", "2026-10-12: 8", "2026-10-19: 5", "2026-10-26: 0"]


def ticks(root: ET.Element, anchor: str) -> list[ET.Element]:
    return [text for text in with_class(root, "chart-tick", "text") if text.get("text-anchor") == anchor]


def grid_values(root: ET.Element) -> list[str]:
    return [text.text or "" for text in ticks(root, "end")]


def test_the_y_axis_ends_on_a_round_number_with_3_to_5_labelled_grid_lines() -> None:
    root = parse(line_chart("weekly", "t", "d", [("a", 7), ("b", 3)], y_label="Learners", empty_text="none"))
    assert grid_values(root) == ["2", "4", "6", "8", "0"]
    assert 3 <= len(with_class(root, "chart-grid", "line")) <= 5
    assert "Learners" in texts(root)
    fractions = parse(line_chart("rate", "t", "d", [("a", 0.73)], y_label="Share", empty_text="none"))
    assert grid_values(fractions) == ["0.2", "0.4", "0.6", "0.8", "0"]
    big = parse(line_chart("big", "t", "d", [("a", 1234)], y_label="n", empty_text="none"))
    assert grid_values(big)[-2] == "1500"


def test_a_given_y_max_sets_the_top_of_the_axis() -> None:
    root = parse(line_chart("pct", "t", "d", [("a", 50.0), ("b", 100.0), ("c", 120.0)], y_label="%",
                            y_max=100, empty_text="none"))
    assert grid_values(root) == ["25", "50", "75", "100", "0"]
    top_grid_y = min(number(line, "y1") for line in with_class(root, "chart-grid", "line"))
    low, top, over = dots(root)
    assert number(top, "cy") == pytest.approx(top_grid_y)
    assert number(over, "cy") == number(top, "cy")  # drawn at the top, ...
    assert over.findtext(f"{SVG}title") == "c: 120"  # ... but its tooltip says the real value
    assert number(low, "cy") > number(top, "cy")


def test_at_most_eight_x_labels_the_first_and_last_always() -> None:
    labels = [f"week {index:02d}" for index in range(30)]
    root = parse(line_chart("weekly", "t", "d", [(label, index) for index, label in enumerate(labels)],
                            y_label="n", empty_text="none"))
    shown = ticks(root, "middle")
    assert 2 <= len(shown) <= 8
    assert shown[0].text == "week 00"
    assert shown[-1].text == "week 29"
    xs = [number(text, "x") for text in shown]
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert max(gaps) - min(gaps) < 0.25 * max(gaps)  # evenly spread
    circles = dots(root)
    assert xs[0] == number(circles[0], "cx")
    assert xs[-1] == number(circles[-1], "cx")


def test_a_few_x_labels_are_all_shown() -> None:
    points = [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    root = parse(line_chart("weekly", "t", "d", points, y_label="n", empty_text="none"))
    assert [text.text for text in ticks(root, "middle")] == ["a", "b", "c"]


def test_line_chart_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="invalid value"):
        line_chart("a", "t", "d", [("a", -1)], y_label="n", empty_text="none")
    with pytest.raises(ValueError, match="invalid value"):
        line_chart("a", "t", "d", [("a", float("nan"))], y_label="n", empty_text="none")
    with pytest.raises(ValueError, match="y_max"):
        line_chart("a", "t", "d", [("a", 1)], y_label="n", empty_text="none", y_max=0)


# --- level profile -----------------------------------------------------------------------------------


def test_profile_bars_are_as_long_as_the_levels_with_the_level_name_at_the_end() -> None:
    root = parse(level_profile("mine", "t", "d", [("Co-creation", 2), ("Systems", None), ("Labs", 4)],
                               LEVEL_NAMES, 3, empty_text="none"))
    two, four = with_class(root, "chart-level-bar")
    assert classes(two) == ["chart-level-bar", "lvl-2"]
    assert classes(four) == ["chart-level-bar", "lvl-4"]
    assert two.attrib["x"] == four.attrib["x"]
    assert number(four, "width") == pytest.approx(2 * number(two, "width"))
    names = with_class(root, "chart-level-name", "text")
    assert [name.text for name in names] == ["Developing", "\u2013", "Leading"]
    assert number(names[0], "x") > number(two, "x") + number(two, "width")
    assert number(names[2], "x") > number(four, "x") + number(four, "width")
    assert number(names[1], "x") < number(names[0], "x")
    assert [row.findtext(f"{SVG}title") for row in with_class(root, "chart-row")] == [
        "Co-creation: Developing", "Systems: \u2013", "Labs: Leading"]


def test_the_proficiency_line_is_dashed_at_the_proficient_level_and_named() -> None:
    root = parse(level_profile("mine", "t", "d", [("Co-creation", 1), ("Labs", 4)],
                               LEVEL_NAMES, 3, empty_text="none", no_level_text="not yet"))
    one, four = with_class(root, "chart-level-bar")
    [line] = with_class(root, "chart-proficiency", "line")
    unit = number(one, "width")
    assert number(line, "x1") == number(line, "x2") == pytest.approx(number(one, "x") + 3 * unit)
    assert number(four, "width") == pytest.approx(4 * unit)
    [label] = with_class(root, "chart-proficiency-label", "text")
    assert label.text == "Proficient"
    assert number(label, "x") == number(line, "x1")
    assert re.search(r"\.chart-proficiency \{[^}]*stroke-dasharray", CSS)


def test_level_profile_refuses_levels_outside_the_scale() -> None:
    with pytest.raises(ValueError, match="level 5"):
        level_profile("a", "t", "d", [("a", 5)], LEVEL_NAMES, 3, empty_text="none")
    with pytest.raises(ValueError, match="proficient_level"):
        level_profile("a", "t", "d", [("a", 1)], LEVEL_NAMES, 5, empty_text="none")
    with pytest.raises(ValueError, match="level names"):
        level_profile("a", "t", "d", [("a", 1)], [f"L{n}" for n in range(7)], 3, empty_text="none")
