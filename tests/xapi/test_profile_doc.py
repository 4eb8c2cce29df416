"""docs/xapi-profile.md keeps up with the engine: its examples are valid and cover every verb and extension.

The examples are statements a real LRS stored; this checks them against our own validation, that
every verb the statement builders can emit has at least one example, and that every extension the
examples use is described in the profile's extensions table.
"""

from __future__ import annotations

import inspect
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from xapi import erasure, events, statements
from xapi import vocabulary as x
from xapi.validation import statement_problems

DOC = Path(__file__).resolve().parents[2] / "docs" / "xapi-profile.md"
JSON_BLOCK = re.compile(r"^```json[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
VERB_NAME = re.compile(r"\bVERB_[A-Z_]+\b")
EXTENSIONS_HEADING = re.compile(r"^#+ .*\bextensions\b.*$", re.MULTILINE | re.IGNORECASE)
TABLE_ROW = re.compile(r"^\|(.*)\|[ \t]*$")
CODE = re.compile(r"`([^`]+)`")


@cache
def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


@cache
def examples() -> tuple[dict[str, Any], ...]:
    """Every ```json block of the profile, parsed (a block that is not JSON fails here, by number)."""
    found = []
    for number, match in enumerate(JSON_BLOCK.finditer(doc_text()), 1):
        try:
            found.append(json.loads(match.group(1)))
        except json.JSONDecodeError as exc:
            raise AssertionError(f"json block {number} is not JSON: {exc}") from exc
    return tuple(found)


def base_of(statement: dict[str, Any]) -> str:
    """Return the tool's base URL an example was captured with (from its profile category)."""
    categories = statement.get("context", {}).get("contextActivities", {}).get("category", [])
    profiles = [c["id"] for c in categories if c.get("id", "").endswith(x.PROFILE_PATH)]
    assert len(profiles) == 1, f"{statement.get('id')}: no single profile category in {categories}"
    return str(profiles[0])[: -len(x.PROFILE_PATH)]


def emitted_verbs() -> set[str]:
    """Return the verb IRIs the statement builders use: events.py, and erasure.py's voiding."""
    sources = [inspect.getsource(events), inspect.getsource(erasure)]
    if "build_voiding" in sources[1]:
        sources.append(inspect.getsource(statements.build_voiding))
    names = {name for source in sources for name in VERB_NAME.findall(source)}
    return {getattr(x, name) for name in names if getattr(x, name, None) in x.VERB_DISPLAY}


def extensions_table() -> str:
    """Return the rows of the first table below the profile's extensions heading."""
    text = doc_text()
    heading = EXTENSIONS_HEADING.search(text)
    assert heading, "the profile has no extensions heading"
    rows: list[str] = []
    for line in text[heading.end():].splitlines():
        if TABLE_ROW.match(line):
            rows.append(line)
        elif rows:
            break
    assert len(rows) > 2, "no extensions table below the extensions heading"
    return "\n".join(rows)


def documented_extensions() -> set[str]:
    """Return the IRIs (or paths below the base URL) named in the first column of the table."""
    found = set()
    for row in extensions_table().splitlines():
        first_cell = TABLE_ROW.match(row).group(1).split("|")[0]  # type: ignore[union-attr]
        found.update(CODE.findall(first_cell))
    return found


def extension_keys(statement: dict[str, Any]) -> set[str]:
    keys = set(statement.get("context", {}).get("extensions", {}))
    keys |= set(statement.get("result", {}).get("extensions", {}))
    keys |= set(statement.get("object", {}).get("definition", {}).get("extensions", {}))
    return keys


def test_every_example_is_a_statement_our_validation_accepts() -> None:
    assert len(examples()) >= len(x.VERB_DISPLAY), "fewer examples than verbs"
    problems = {
        f"json block {number} ({statement.get('verb', {}).get('id')})": found
        for number, statement in enumerate(examples(), 1)
        if (found := statement_problems(statement))
    }
    assert problems == {}
    ids = [statement["id"] for statement in examples()]
    assert len(ids) == len(set(ids)), "an example is shown twice"


def test_examples_carry_the_profile_and_the_verbs_display() -> None:
    for statement in examples():
        verb = statement["verb"]
        assert verb.get("display") == {"en-US": x.VERB_DISPLAY[verb["id"]]}, statement["id"]
        if verb["id"] == x.VERB_VOIDED:
            assert statement["object"]["objectType"] == "StatementRef"
            assert statement["actor"]["account"]["name"] == erasure.TOOL_ACCOUNT_NAME
        else:
            base = base_of(statement)
            assert statement["actor"]["account"]["homePage"] == base, statement["id"]


def test_every_verb_the_engine_emits_has_an_example() -> None:
    emitted = emitted_verbs()
    assert x.VERB_VOIDED in emitted and x.VERB_LAUNCHED in emitted, "the verb search found too little"
    shown = {statement["verb"]["id"] for statement in examples()}
    assert sorted(emitted - shown) == []


def test_every_extension_in_the_examples_is_in_the_extensions_table() -> None:
    documented = documented_extensions()
    profile_paths = {path for path in documented if path.startswith(x.PROFILE_PATH)}
    assert profile_paths == set(x.EXTENSION_PATHS.values()), "the table and EXTENSION_PATHS differ"
    undocumented = set()
    used = set()
    for statement in examples():
        for key in extension_keys(statement):
            path = next((p for p in x.EXTENSION_PATHS.values() if key == base_of(statement) + p), None)
            used.add(path or key)
            if (path or key) not in documented:
                undocumented.add(key)
    assert sorted(undocumented) == []
    assert used >= set(x.EXTENSION_PATHS.values()), "an extension of the profile has no example"
