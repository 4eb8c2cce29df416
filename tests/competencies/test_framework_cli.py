"""``l2i framework coverage|export|import`` against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from competencies.coverage import MappedActivity
from competencies.exchange.case import export_case
from competencies.exchange.moodle_csv import export_moodle_csv
from competencies.framework import (
    BUNDLED_PATH,
    MAX_BYTES,
    framework_from_dict,
    framework_to_dict,
    load_framework,
)
from competencies.store import StoredFramework, active_framework, save_framework
from lti_tool.cli import main
from lti_tool.migrate import upgrade_database

Run = Callable[..., Result]


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("L2I_DATABASE_URL", database_url)
    monkeypatch.setenv("L2I_BASE_URL", "http://localhost")
    monkeypatch.setenv("L2I_SECRET_KEY", secrets.token_urlsafe(48))
    upgrade_database(database_url)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["framework", *args])
    return run


def stored(url: str) -> list[tuple[str, dict[str, Any], str]]:
    engine = create_engine(url)
    with Session(engine) as session:
        rows = [(r.idnumber, r.document, r.source)
                for r in session.scalars(select(StoredFramework).order_by(StoredFramework.id))]
    engine.dispose()
    return rows


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_export_gives_the_bundled_framework_when_nothing_is_stored(cli: Run, tmp_path: Path) -> None:
    fw = load_framework()
    as_yaml = cli("export", "--format", "yaml")
    assert as_yaml.exit_code == 0, as_yaml.output
    assert framework_from_dict(yaml.safe_load(as_yaml.stdout)) == fw
    as_case = cli("export", "--format", "case")
    assert json.loads(as_case.stdout) == export_case(fw, "http://localhost")
    assert json.loads(as_case.stdout)["CFItems"][0]["uri"].startswith("http://localhost/ims/case/v1p1/CFItems/")
    target = tmp_path / "fw.csv"
    to_file = cli("export", "--format", "moodle-csv", "--output", str(target))
    assert to_file.exit_code == 0 and to_file.stdout == ""
    assert f"Wrote L2I-FW as moodle-csv to {target}." in to_file.stderr
    assert target.read_text(encoding="utf-8") == export_moodle_csv(fw)
    assert cli("export").exit_code == 2  # --format is required


def test_import_a_moodle_csv_makes_it_active(cli: Run, database_url: str, tmp_path: Path) -> None:
    fw = load_framework()
    rows = csv_rows(export_moodle_csv(fw))
    rows[3][2] = "Demographic change"
    path = write(tmp_path / "edited.csv", csv_text(rows))
    result = cli("import", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported L2I-FW 1.0 (moodle-csv)" in result.stdout and "24 competencies" in result.stdout
    [(idnumber, document, source)] = stored(database_url)
    assert idnumber == "L2I-FW" and source == str(path)
    assert document["domains"][0]["competencies"][0]["shortname"] == "Demographic change"
    again = cli("export", "--format", "moodle-csv")
    assert again.stdout == path.read_text(encoding="utf-8")
    active = framework_from_dict(document)
    assert active.scale == fw.scale and [n.uuid for n in active.nodes] == [n.uuid for n in fw.nodes]


def test_import_case_keeps_its_identifiers_and_replaces_the_stored_one(
    cli: Run, database_url: str, tmp_path: Path,
) -> None:
    package = export_case(load_framework(), "http://localhost")
    package["CFDocument"]["title"] = "L2I, revised"
    old_id, new_id = package["CFItems"][1]["identifier"], "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    package = json.loads(json.dumps(package).replace(old_id, new_id))
    path = write(tmp_path / "package.json", json.dumps(package))
    assert cli("import", str(path)).exit_code == 0
    assert cli("import", "--format", "case", str(path)).exit_code == 0
    [(idnumber, document, _source)] = stored(database_url)
    assert idnumber == "L2I-FW" and document["shortname"] == "L2I, revised"
    exported = json.loads(cli("export", "--format", "case").stdout)
    assert exported["CFItems"][1]["identifier"] == new_id
    assert exported == export_case(framework_from_dict(document), "http://localhost")
    assert export_case(framework_from_dict(document), "http://localhost")["CFItems"] == package["CFItems"]


def _lacking_c83() -> str:
    data = framework_to_dict(load_framework())
    domain = data["domains"][7]
    domain["competencies"] = [c for c in domain["competencies"] if c["idnumber"] != "L2I-C8.3"]
    return yaml.safe_dump(data, sort_keys=False)


def _short_row() -> str:
    rows = csv_rows(export_moodle_csv(load_framework()))
    rows[9] = rows[9][:10]
    return csv_text(rows)


def _cycle() -> str:
    rows = csv_rows(export_moodle_csv(load_framework()))
    rows[3][0] = "L2I-C1.1.a"
    return csv_text(rows)


def _duplicate_yaml() -> str:
    return load_framework_text().replace("idnumber: L2I-C2.2\n", "idnumber: L2I-C2.1\n", 1)


def load_framework_text() -> str:
    return BUNDLED_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "content", "says"), [
    ("short.csv", _short_row, "short.csv:10: 10 columns; every row needs 14"),
    ("cycle.csv", _cycle, "cycle.csv:4: cycle in the parent chain: L2I-C1.1 -> L2I-C1.1.a -> L2I-C1.1"),
    ("dup.yaml", _duplicate_yaml, "dup.yaml:{line}: duplicate idnumber L2I-C2.1 (first at dup.yaml:"),
    ("nodoc.json", lambda: json.dumps({"CFItems": []}), "nodoc.json: $.CFDocument: Missing data for"),
    ("broken.json", lambda: "{\n  oops", "broken.json:2: not JSON"),
    ("lacking.yaml", _lacking_c83, "lacking.yaml: the framework L2I-FW lacks 1 competency id(s) that the "
                                   "course's activities map to:\n  - L2I-C8.3 (mapped by u1-quiz, "
                                   "u1-reflection)"),
])
def test_faulty_files_are_refused_and_nothing_is_stored(
    cli: Run, database_url: str, tmp_path: Path, name: str, content: Callable[[], str], says: str,
) -> None:
    text = content()
    path = write(tmp_path / name, text)
    if "{line}" in says:
        says = says.format(line=[n for n, line in enumerate(text.splitlines(), 1)
                                 if line.endswith("idnumber: L2I-C2.1")][1])
    result = cli("import", str(path))
    assert result.exit_code == 2
    assert says.replace(name, str(path)) in result.stderr
    assert result.stderr.rstrip().endswith("Nothing was imported.")
    assert stored(database_url) == []


def test_a_refused_import_leaves_the_active_framework(cli: Run, database_url: str, tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", export_moodle_csv(load_framework()))
    assert cli("import", str(good)).exit_code == 0
    before = stored(database_url)
    bad = write(tmp_path / "bad.csv", _short_row())
    assert cli("import", str(bad)).exit_code == 2
    assert stored(database_url) == before


def test_a_file_over_5_mb_is_refused(cli: Run, database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    result = cli("import", str(path))
    assert result.exit_code == 2
    assert f"{path}: the file is larger than 5 MB" in result.stderr
    assert stored(database_url) == []


def test_format_is_detected_or_forced(cli: Run, database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "framework.txt", export_moodle_csv(load_framework()))
    forced = cli("import", "--format", "case", str(path))
    assert forced.exit_code == 2 and f"{path}:1: not JSON" in forced.stderr
    detected = cli("import", str(path))
    assert detected.exit_code == 0 and "(moodle-csv)" in detected.stdout
    yaml_path = write(tmp_path / "framework.data", load_framework_text())
    assert "(yaml)" in cli("import", str(yaml_path)).stdout
    assert len(stored(database_url)) == 1


def test_coverage_of_the_course(cli: Run) -> None:
    result = cli("coverage")
    assert result.exit_code == 0, result.output
    assert "Framework L2I-FW 1.0: 24 competencies, 11 activities." in result.stdout
    assert "No problems" in result.stdout
    assert cli("coverage", "--bundled").stdout == result.stdout


def test_coverage_problems_exit_1(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    thin = [MappedActivity("u1-quiz", "u1-challenges", True, {"L2I-C1.1": 1.0, "L2I-X": 1.0})]
    monkeypatch.setattr("lti_tool.cli_framework._mapped_activities", lambda: thin)
    result = cli("coverage", "--bundled")
    assert result.exit_code == 1
    assert "activity u1-quiz (u1-challenges) maps L2I-X, which is not in framework L2I-FW" in result.stdout
    thin_evidence = "L2I-C1.1 Demographic and social change: evidence from 1 activity, at least 2 needed"
    assert thin_evidence in result.stdout
    assert "L2I-C2.1 Concepts of social innovation: no auto-graded activity gives evidence" in result.stdout


def test_active_framework_prefers_l2i_then_the_latest(database_url: str) -> None:
    upgrade_database(database_url)
    fw = load_framework()
    other = framework_from_dict({**framework_to_dict(fw), "idnumber": "OTHER"})
    third = framework_from_dict({**framework_to_dict(fw), "idnumber": "THIRD", "shortname": "Third"})
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert active_framework(session) == fw
        save_framework(session, other, "other.yaml")
        save_framework(session, third, "third.yaml")
        assert active_framework(session).idnumber == "THIRD"
        save_framework(session, fw, "l2i.yaml")
        save_framework(session, other, "other-again.yaml")
        assert active_framework(session) == fw
        session.commit()
    with Session(engine) as session:
        rows = {r.idnumber: r.source for r in session.scalars(select(StoredFramework))}
        assert rows == {"OTHER": "other-again.yaml", "THIRD": "third.yaml", "L2I-FW": "l2i.yaml"}
    engine.dispose()
