"""Load the whole programme from ``course_units/content/``, or report every fault with file and line.

``load_catalog`` reads every unit, page and activity, validates them (``course_units.schemas`` for
each file, then the checks that span files), and either returns a complete ``Catalog`` or raises
one ``ContentError`` listing every problem found, each as ``file:line: message``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # PyYAML built without libyaml: the same, slower
    from yaml import SafeLoader  # type: ignore[assignment]

from course_units.content import Activity, Catalog, Page, Unit
from course_units.schemas import LOCALE_PATTERN, UnitSchema, schema_for_kind

CONTENT_DIR = Path(__file__).parent / "content"
FRAMEWORK_HINT = "competencies/framework/l2i.yaml"
MAX_FILE_BYTES = 1024 * 1024
MAX_PAGE_CHARS = 40_000
MAX_FLOW_DEPTH = 32
CASE_STUDY_HEADING = "Questions to think about"

DataPath = tuple[str | int, ...]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
_BRACKETS = re.compile(r"[\[\]{}]")
_CODE_SPAN = re.compile(r"`[^`]*`")
_FRIENDLIER = {
    "Missing data for required field.": "required field is missing",
    "Unknown field.": "unknown field (check the spelling against docs/content-format.md)",
    "Field may not be null.": "must not be empty",
}


# ---------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class ContentProblem:
    """One fault in one content file; ``line`` is 1-based, or None when it concerns the whole file."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = _display(self.path)
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


class ContentError(ValueError):
    """The content has faults; ``problems`` lists them all, and ``str()`` gives one per line."""

    def __init__(self, problems: Iterable[ContentProblem]) -> None:
        self.problems: list[ContentProblem] = sorted(problems, key=_sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


def _sort_key(problem: ContentProblem) -> tuple[str, int, str]:
    return (str(problem.path), problem.line or 0, problem.message)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


@dataclass
class Problems:
    """The problems found so far."""

    items: list[ContentProblem] = field(default_factory=list)

    def add(self, path: Path, line: int | None, message: str) -> None:
        """Record a problem."""
        self.items.append(ContentProblem(path, line, message))


# ---------------------------------------------------------------------------------------------
# YAML with line numbers


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file and the line where each of its data paths starts."""

    path: Path
    data: dict[str, Any]
    lines: Mapping[DataPath, int]

    def line_of(self, data_path: DataPath) -> int:
        """Return the line of ``data_path``, or of its nearest parent that exists in the file."""
        for end in range(len(data_path), -1, -1):
            line = self.lines.get(data_path[:end])
            if line is not None:
                return line
        return 1


def read_text_file(path: Path, problems: Problems) -> str | None:
    """Read a UTF-8 file of at most 1 MB, or record why it can't be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.add(
                path, None, f"file is {size:,} bytes, over the 1 MB limit ({MAX_FILE_BYTES:,} bytes)"
            )
            return None
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.add(path, None, f"not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        problems.add(path, None, f"cannot be read: {exc.strerror or exc}")
    return None


def read_yaml(path: Path, problems: Problems) -> YamlDocument | None:
    """Parse a YAML file (safe loader) whose top level is a mapping, noting each path's line."""
    text = read_text_file(path, problems)
    if text is None:
        return None
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        problems.add(path, None, f"[ ] and {{ }} are nested more than {MAX_FLOW_DEPTH} levels deep")
        return None
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None or not isinstance(node, yaml.MappingNode):
            problems.add(path, 1, "expected a mapping (key: value lines) at the top level")
            return None
        lines: dict[DataPath, int] = {}
        if not _index_lines(node, (), lines, set(), path, problems):
            return None
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        problems.add(path, _mark_line(exc), f"not valid YAML: {_yaml_message(exc)}")
        return None
    except (yaml.YAMLError, RecursionError) as exc:
        problems.add(path, None, f"not valid YAML: {exc}")
        return None
    finally:
        loader.dispose()
    return YamlDocument(path, data, lines)


def _flow_depth(text: str) -> int:
    """Return how deep ``[`` and ``{`` nest (counting brackets in strings too: an upper bound)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(text):
        depth = depth + 1 if bracket in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _mark_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else None


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [exc.context, exc.problem]
    return "; ".join(p for p in parts if p) or str(exc)


def _index_lines(
    node: yaml.Node,
    here: DataPath,
    lines: dict[DataPath, int],
    seen: set[int],
    path: Path,
    problems: Problems,
) -> bool:
    """Record the line of every path under ``node``; refuse aliases and duplicate keys."""
    if id(node) in seen:
        line = lines.get(here, node.start_mark.line + 1)
        problems.add(path, line, "YAML aliases (*name) are not allowed in content")
        return False
    seen.add(id(node))
    lines.setdefault(here, node.start_mark.line + 1)
    ok = True
    for key, key_line, child in _children(node):
        child_path = (*here, key)
        if child_path in lines and isinstance(key, str):
            problems.add(path, key_line, f"duplicate key {key!r} (first on line {lines[child_path]})")
            ok = False
        lines[child_path] = key_line
        ok = _index_lines(child, child_path, lines, seen, path, problems) and ok
    return ok


def _children(node: yaml.Node) -> Iterator[tuple[str | int, int, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            yield str(key), key_node.start_mark.line + 1, value_node
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield index, item.start_mark.line + 1, item


# ---------------------------------------------------------------------------------------------
# Schema errors to problems


@dataclass(frozen=True)
class Validated:
    """What a schema made of a document: ``data`` if it is valid, and the top-level fields that were."""

    data: dict[str, Any] | None
    valid: dict[str, Any]


def validate_document(document: YamlDocument, schema: Schema, problems: Problems) -> Validated:
    """Load ``document`` with ``schema``; record each error at its line."""
    try:
        loaded: dict[str, Any] = schema.load(document.data)
    except ValidationError as exc:
        for data_path, message in flatten_errors(exc.messages, ()):
            where = format_path(data_path)
            text = _FRIENDLIER.get(message, message)
            problems.add(document.path, document.line_of(data_path), f"{where}: {text}" if where else text)
        failed = set(exc.messages) if isinstance(exc.messages, dict) else set()
        valid = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        return Validated(None, {k: v for k, v in valid.items() if k not in failed})
    return Validated(loaded, loaded)


def flatten_errors(messages: Any, here: DataPath) -> Iterator[tuple[DataPath, str]]:
    """Turn marshmallow's nested error messages into (data path, message) pairs."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from flatten_errors(value, here if key == "_schema" else (*here, key))
    elif isinstance(messages, list | tuple):
        for message in messages:
            yield from flatten_errors(message, here)
    else:
        yield here, str(messages)


def format_path(data_path: DataPath) -> str:
    """Format a data path as ``items[2].options``."""
    text = ""
    for part in data_path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# ---------------------------------------------------------------------------------------------
# One unit folder


@dataclass
class _ActivityDraft:
    document: YamlDocument
    activity: Activity | None


@dataclass
class _UnitDraft:
    folder: Path
    document: YamlDocument | None
    fields: dict[str, Any] | None
    page_refs: list[dict[str, Any]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    activities: dict[str, _ActivityDraft] = field(default_factory=dict)

    def build(self) -> Unit:
        """Build the unit; only called when no problem was found."""
        assert self.fields is not None  # guaranteed by load_catalog
        fields_ = self.fields
        activities = tuple(self.activities[a].activity for a in fields_["activities"])
        return Unit(
            id=fields_["id"],
            order=fields_["order"],
            version=fields_["version"],
            title=fields_["title"],
            summary=fields_["summary"],
            estimated_minutes=fields_["estimated_minutes"],
            objectives=tuple(fields_["objectives"]),
            pages=tuple(self.pages),
            activities=tuple(a for a in activities if a is not None),
            completion=fields_["completion"],
        )


def _load_unit_folder(folder: Path, problems: Problems) -> _UnitDraft:
    """Load one unit folder; the parts of unit.yaml that are valid are checked further."""
    document = read_yaml(folder / "unit.yaml", problems)
    if document is None:
        return _UnitDraft(folder, None, None, activities=_load_activities(folder, folder.name, problems))
    validated = validate_document(document, UnitSchema(), problems)
    valid = validated.valid
    if "id" in valid and valid["id"] != folder.name:
        problems.add(
            document.path,
            document.line_of(("id",)),
            f"id: {valid['id']!r} must match the folder name {folder.name!r}",
        )
    draft = _UnitDraft(folder, document, validated.data, page_refs=valid.get("pages", []))
    draft.activities = _load_activities(folder, valid.get("id", folder.name), problems)
    _check_listing(document, draft.activities, problems)
    draft.pages = _load_pages(folder, document, valid.get("id", folder.name), draft.page_refs, problems)
    if "pages" in valid:
        _check_unlisted_pages(folder, draft.page_refs, problems)
    if "completion" in valid and "activities" in valid:
        _check_completion(document, valid, draft.activities, problems)
    return draft


def _load_activities(folder: Path, unit_id: str, problems: Problems) -> dict[str, _ActivityDraft]:
    drafts: dict[str, _ActivityDraft] = {}
    activity_dir = folder / "activities"
    for path in sorted(activity_dir.iterdir()) if activity_dir.is_dir() else ():
        if path.name.startswith("."):
            continue
        if path.suffix != ".yaml" or not path.is_file():
            problems.add(path, None, "not an activity file: activities/ holds only <activity-id>.yaml files")
            continue
        document = read_yaml(path, problems)
        if document is not None:
            drafts[path.stem] = _ActivityDraft(document, _load_activity(document, unit_id, problems))
    return drafts


def _load_activity(document: YamlDocument, unit_id: str, problems: Problems) -> Activity | None:
    kind = document.data.get("kind")
    loaded = validate_document(document, schema_for_kind(kind), problems).data
    if loaded is None:
        return None
    if loaded["id"] != document.path.stem:
        problems.add(
            document.path,
            document.line_of(("id",)),
            f"id: {loaded['id']!r} must match the file name ({document.path.stem}.yaml)",
        )
    return Activity(unit_id=unit_id, **loaded)


def _check_listing(document: YamlDocument, drafts: Mapping[str, _ActivityDraft], problems: Problems) -> None:
    """Check that every activity listed in unit.yaml has a file, and every file is listed."""
    raw = document.data.get("activities")
    listed = [a for a in raw if isinstance(a, str)] if isinstance(raw, list) else []
    for index, activity_id in enumerate(listed):
        if (
            activity_id not in drafts
            and not (document.path.parent / f"activities/{activity_id}.yaml").exists()
        ):
            problems.add(
                document.path,
                document.line_of(("activities", index)),
                f"activities[{index}]: activity {activity_id!r} is listed but activities/{activity_id}.yaml "
                "does not exist",
            )
    for stem, draft in drafts.items():
        if stem not in listed:
            problems.add(
                draft.document.path,
                None,
                f"activity file is not listed under activities: in {_display(document.path)}",
            )


def _check_completion(
    document: YamlDocument, fields_: dict[str, Any], drafts: Mapping[str, _ActivityDraft], problems: Problems
) -> None:
    if any(a not in drafts for a in fields_["activities"]):
        return  # an activity file is missing or unreadable: already reported
    kinds = {drafts[a].document.data.get("kind") for a in fields_["activities"]}
    if fields_["completion"].min_quiz_score is not None and "quiz" not in kinds:
        problems.add(
            document.path,
            document.line_of(("completion", "min_quiz_score")),
            "completion.min_quiz_score: the unit has no quiz",
        )


# ---------------------------------------------------------------------------------------------
# Pages


def _load_pages(
    folder: Path, document: YamlDocument, unit_id: str, refs: list[dict[str, Any]], problems: Problems
) -> list[Page]:
    pages = []
    for index, ref in enumerate(refs):
        english = folder / f"{ref['file']}.en.md"
        if not english.is_file():
            problems.add(
                document.path,
                document.line_of(("pages", index, "file")),
                f"pages[{index}].file: page file {ref['file']}.en.md does not exist",
            )
            continue
        body = _read_page_files(folder, ref, problems)
        if "en" in body:
            pages.append(
                Page(
                    id=ref["id"],
                    unit_id=unit_id,
                    title=ref["title"],
                    minutes=ref["minutes"],
                    kind=ref["kind"],
                    body=body,
                )
            )
    return pages


def _check_unlisted_pages(folder: Path, refs: list[dict[str, Any]], problems: Problems) -> None:
    """Report Markdown files under pages/ that no entry of unit.yaml's ``pages:`` points to."""
    listed = {Path(ref["file"]).name for ref in refs}
    for path in sorted((folder / "pages").glob("*.md")):
        if path.name.split(".", 1)[0] not in listed:
            problems.add(path, None, "page file is not listed under pages: in unit.yaml")


def _read_page_files(folder: Path, ref: Mapping[str, Any], problems: Problems) -> dict[str, str]:
    """Read ``<file>.<locale>.md`` for every locale present; check each one's Markdown."""
    stem = Path(ref["file"]).name
    body: dict[str, str] = {}
    for path in sorted((folder / ref["file"]).parent.glob(f"{stem}.*.md")):
        locale = path.name[len(stem) + 1 : -len(".md")]
        if not LOCALE_PATTERN.match(locale):
            problems.add(path, None, f"{locale!r} is not a locale: name translations like {stem}.sv.md")
            continue
        text = read_text_file(path, problems)
        if text is not None and _check_markdown(path, text, ref, locale, problems):
            body[locale] = text
    return body


def _check_markdown(path: Path, text: str, ref: Mapping[str, Any], locale: str, problems: Problems) -> bool:
    """Check a page's size, its single ``#`` title line, raw HTML and a case study's questions."""
    before = len(problems.items)
    if len(text) > MAX_PAGE_CHARS:
        problems.add(
            path, None, f"page is {len(text):,} characters, over the {MAX_PAGE_CHARS:,} limit: split it"
        )
    headings = list(_headings(text))
    first_line = next((n for n, line in enumerate(text.splitlines(), 1) if line.strip()), 1)
    titles = [(n, title) for n, level, title in headings if level == 1]
    if not titles or titles[0][0] != first_line:
        problems.add(path, first_line, "a page starts with its title as a '# ' heading")
    for line, _ in titles[1:]:
        problems.add(path, line, "only the page title is a '# ' heading; sections start at '##'")
    if titles and locale == "en" and titles[0][1] != ref["title"]["en"]:
        problems.add(
            path, titles[0][0], f"title {titles[0][1]!r} differs from unit.yaml's {ref['title']['en']!r}"
        )
    for line in _html_lines(text):
        problems.add(path, line, "raw HTML is escaped, not rendered: write Markdown instead")
    if (
        ref["kind"] == "case-study"
        and locale == "en"
        and not any(CASE_STUDY_HEADING in t for _, _, t in headings)
    ):
        problems.add(path, None, f"a case study ends with a '## {CASE_STUDY_HEADING}' list")
    return len(problems.items) == before


def _headings(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield (line, level, text) for each ATX heading outside code fences."""
    for number, line in _prose_lines(text):
        match = _HEADING.match(line)
        if match:
            yield number, len(match.group(1)), match.group(2)


def _html_lines(text: str) -> Iterator[int]:
    for number, line in _prose_lines(text):
        if _HTML_TAG.search(_CODE_SPAN.sub("", line)):
            yield number


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            yield number, line


# ---------------------------------------------------------------------------------------------
# The programme


def load_catalog(
    content_dir: Path = CONTENT_DIR, known_competencies: Collection[str] | None = None
) -> Catalog:
    """Load and validate every unit under ``content_dir``; raise ``ContentError`` listing all faults.

    With ``known_competencies``, every competency id an activity maps to must be one of them.
    Never returns a partly loaded catalogue.
    """
    problems = Problems()
    drafts = [_load_unit_folder(folder, problems) for folder in _unit_folders(content_dir, problems)]
    _check_unique_units(drafts, problems)
    _check_unique_pages(drafts, problems)
    _check_unique_activities(drafts, problems)
    if known_competencies is not None:
        _check_competencies(drafts, frozenset(known_competencies), problems)
    if problems.items:
        raise ContentError(problems.items)
    units = sorted((draft.build() for draft in drafts), key=lambda unit: unit.order)
    return Catalog(units=tuple(units))


def _unit_folders(content_dir: Path, problems: Problems) -> list[Path]:
    if not content_dir.is_dir():
        problems.add(content_dir, None, "content folder does not exist")
        return []
    folders = []
    for folder in sorted(
        p for p in content_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    ):
        if (folder / "unit.yaml").is_file():
            folders.append(folder)
        else:
            problems.add(folder / "unit.yaml", None, "a unit folder needs a unit.yaml")
    if not folders and not problems.items:
        problems.add(content_dir, None, "no units found (expected <unit-id>/unit.yaml folders)")
    return folders


def _check_unique_units(drafts: list[_UnitDraft], problems: Problems) -> None:
    first_order: dict[int, Path] = {}
    for draft in drafts:
        if draft.document is None or draft.fields is None:
            continue
        order = draft.fields["order"]
        if order in first_order:
            problems.add(
                draft.document.path,
                draft.document.line_of(("order",)),
                f"order: {order} is already the order of {_display(first_order[order])}",
            )
        first_order.setdefault(order, draft.document.path)


def _check_unique_pages(drafts: list[_UnitDraft], problems: Problems) -> None:
    first: dict[str, str] = {}
    for draft in drafts:
        if draft.document is None:
            continue
        for index, ref in enumerate(draft.page_refs):
            where = f"{_display(draft.document.path)}:{draft.document.line_of(('pages', index, 'id'))}"
            if ref["id"] in first and first[ref["id"]] != where:
                problems.add(
                    draft.document.path,
                    draft.document.line_of(("pages", index, "id")),
                    f"pages[{index}].id: page id {ref['id']!r} is already used at {first[ref['id']]}",
                )
            first.setdefault(ref["id"], where)


def _check_unique_activities(drafts: list[_UnitDraft], problems: Problems) -> None:
    first: dict[str, Path] = {}
    for draft in drafts:
        for activity_draft in draft.activities.values():
            activity_id = activity_draft.document.data.get("id")
            if not isinstance(activity_id, str):
                continue
            if activity_id in first:
                problems.add(
                    activity_draft.document.path,
                    activity_draft.document.line_of(("id",)),
                    f"id: activity id {activity_id!r} is already used by {_display(first[activity_id])}",
                )
            first.setdefault(activity_id, activity_draft.document.path)


def _check_competencies(drafts: list[_UnitDraft], known: frozenset[str], problems: Problems) -> None:
    """Check the ids under each activity's ``competencies:`` (read raw, so it runs despite other faults)."""
    for draft in drafts:
        for activity_draft in draft.activities.values():
            document = activity_draft.document
            entries = document.data.get("competencies")
            for index, entry in enumerate(entries if isinstance(entries, list) else ()):
                competency_id = entry.get("id") if isinstance(entry, dict) else None
                if isinstance(competency_id, str) and competency_id not in known:
                    problems.add(
                        document.path,
                        document.line_of(("competencies", index, "id")),
                        f"competencies[{index}].id: unknown competency id {competency_id}; known ids are in "
                        f"{FRAMEWORK_HINT}",
                    )
