"""``l2i units validate`` on the real content and on a broken copy."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from course_units.loader import CONTENT_DIR
from lti_tool.cli import main


def test_validate_passes_on_the_real_content() -> None:
    result = CliRunner().invoke(main, ["units", "validate"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"OK: 5 units, \d+ pages, 11 activities, \d+ words", lines[0])
    assert [line.split(":")[0].strip() for line in lines[1:6]] == [
        "u1-challenges",
        "u2-social-innovation",
        "u3-labs",
        "u4-teams-and-users",
        "u5-impact",
    ]
    assert "u1-quiz (quiz, 10 items), u1-reflection (reflection, 4 criteria)" in lines[1]
    assert "u3-lab-canvas (lab-canvas, 6 sections, 5 criteria)" in lines[3]
    assert re.search(r"u3-labs: \d+ words, 175 min, 7 pages;", lines[3])
    assert lines[6] == "Competencies with evidence: 24 of 24"
    total = sum(int(re.search(r": (\d+) words", line).group(1)) for line in lines[1:6])  # type: ignore[union-attr]
    assert lines[0].endswith(f"{total} words")


def test_validate_fails_with_file_and_line_on_a_broken_copy(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    quiz = content / "u2-social-innovation/activities/u2-quiz.yaml"
    text = quiz.read_text(encoding="utf-8")
    quiz.write_text(text.replace("pass_score: 0.7", "pass_score: seventy"), encoding="utf-8")
    line = 1 + text[: text.index("pass_score: 0.7")].count("\n")
    (content / "u5-impact/pages/02-theory-of-change.en.md").unlink()

    result = CliRunner().invoke(main, ["units", "validate", "--content-dir", str(content)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"u2-social-innovation/activities/u2-quiz.yaml:{line}: pass_score: Not a number" in result.stderr
    assert re.search(
        r"u5-impact/unit\.yaml:\d+: pages\[1\]\.file: page file pages/02-theory-of-change\.en\.md",
        result.stderr,
    )
    assert "2 problem(s) found; nothing was loaded." in result.stderr


def test_validate_reports_a_missing_content_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["units", "validate", "--content-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "content folder does not exist" in result.stderr
