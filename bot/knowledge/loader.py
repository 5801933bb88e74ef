"""Load and validate a knowledge pack. The bot and `python -m bot validate` share this code.

Every problem is reported as one line ``FILE:LINE: subject: what is wrong``; a pack with any
problem is refused as a whole (``load_pack`` raises ``PackError``), so a bad edit never
replaces a good pack.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rapidfuzz import fuzz, process

from bot.dates import DateError, DateInfo, parse_when
from bot.knowledge.models import (
    ENTITY_KINDS,
    Entity,
    Fact,
    KnowledgePack,
    Link,
    PackInfo,
    Source,
)
from bot.knowledge.yamlio import LineDict, YamlSyntaxError, load_yaml
from bot.text import normalise_quotes_and_space

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LIMITS = {"title": 100, "answer": 600, "excerpt": 500, "description": 300, "question": 200}
MIN_QUESTIONS = 2


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    subject: str
    message: str

    def __str__(self) -> str:
        subject = f" {self.subject}:" if self.subject else ""
        return f"{self.file}:{self.line}:{subject} {self.message}"


class PackError(Exception):
    """A knowledge pack that did not validate; ``problems`` holds every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"the knowledge pack has {len(problems)} problem(s):\n{lines}{more}")


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


@dataclass
class _Reporter:
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: Path, line: int, subject: str, message: str) -> None:
        self.problems.append(Problem(display_path(path), line, subject, message))


# --- field checks -------------------------------------------------------------------------

FieldCheck = Callable[[Any], str | None]


ITEM_LIMIT = 200  # a tag, a sample question's neighbour fields, an entity id in who/where ...


def _visible(text: str) -> bool:
    """Does the text hold anything a reader would see (not just spaces or control characters)?"""
    return any(ch.isprintable() and not ch.isspace() for ch in text)


def _is_str(v: Any) -> str | None:
    if not isinstance(v, str):
        return f"must be text, not {_type_name(v)}"
    if not _visible(v):
        return "must not be empty (spaces and control characters do not count)"
    return None


def _is_str_list(v: Any) -> str | None:
    if isinstance(v, str):
        return "must be a list (write [a, b] or one '- item' per line), not text"
    if not isinstance(v, list):
        return f"must be a list of text, not {_type_name(v)}"
    if len(v) > 50:
        return f"has {len(v)} items; at most 50"
    for i, item in enumerate(v):
        if not isinstance(item, str):
            return f"item {i + 1} must be text, not {_type_name(item)}"
        if not _visible(item):
            return f"item {i + 1} must not be empty (spaces and control characters do not count)"
        if len(item) > ITEM_LIMIT:
            return f"item {i + 1} is {len(item)} characters; at most {ITEM_LIMIT}"
    return None


def _is_url(v: Any) -> str | None:
    if err := _is_str(v):
        return err
    parsed = urlparse(v)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in v:
        return f"'{v}' is not an absolute http(s) URL"
    if len(v) > 512:
        return "URL is longer than 512 characters"
    return None


def _is_id(v: Any) -> str | None:
    if err := _is_str(v):
        return err
    if not ID_RE.match(v):
        return f"'{v}' is not a slug (lowercase letters, digits and single hyphens)"
    if len(v) > 80:
        return "is longer than 80 characters"
    return None


def _is_when(v: Any) -> str | None:
    try:
        parse_when(v)
    except DateError as exc:
        return str(exc)
    return None


def _is_links(v: Any) -> str | None:
    if not isinstance(v, list):
        return f"must be a list of {{title, url}}, not {_type_name(v)}"
    for i, item in enumerate(v):
        if not isinstance(item, dict):
            return f"item {i + 1} must be a mapping with title and url"
        unknown = set(item) - {"title", "url"}
        if unknown:
            return f"item {i + 1} has unknown key(s): {', '.join(sorted(unknown))}"
        for key in ("title", "url"):
            if key not in item:
                return f"item {i + 1} is missing '{key}'"
        if err := _is_str(item["title"]):
            return f"item {i + 1} title {err}"
        if err := _is_url(item["url"]):
            return f"item {i + 1} {err}"
    return None


def _type_name(v: Any) -> str:
    return {
        str: "text",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
        LineDict: "a mapping",
        type(None): "nothing (null)",
    }.get(type(v), type(v).__name__)


SOURCE_FIELDS: dict[str, tuple[FieldCheck, bool]] = {
    "id": (_is_id, True),
    "title": (_is_str, True),
    "url": (_is_url, True),
    "licence": (_is_str, True),
    "licence_url": (_is_url, False),
    "attribution": (_is_str, False),
}
ENTITY_FIELDS: dict[str, tuple[FieldCheck, bool]] = {
    "id": (_is_id, True),
    "name": (_is_str, True),
    "kind": (_is_str, True),
    "aliases": (_is_str_list, False),
    "description": (_is_str, True),
    "link": (_is_url, False),
    "when": (_is_when, False),
}
FACT_FIELDS: dict[str, tuple[FieldCheck, bool]] = {
    "id": (_is_id, True),
    "title": (_is_str, True),
    "answer": (_is_str, True),
    "excerpt": (_is_str, True),
    "source": (_is_id, True),
    "when": (_is_when, False),
    "who": (_is_str_list, False),
    "where": (_is_str_list, False),
    "tags": (_is_str_list, False),
    "questions": (_is_str_list, True),
    "related": (_is_str_list, False),
    "links": (_is_links, False),
}


def check_record(
    raw: Any,
    fields: dict[str, tuple[FieldCheck, bool]],
    report: Callable[[int, str], None],
    *,
    line: int,
    optional: Iterable[str] = (),
) -> bool:
    """Check one mapping against a field table; report each problem; True when clean."""
    if not isinstance(raw, dict):
        report(line, f"must be a mapping of fields, not {_type_name(raw)}")
        return False
    ok = True
    line_of = raw.line_of if isinstance(raw, LineDict) else (lambda _k: line)
    for key, dup_line in getattr(raw, "duplicate_keys", []):
        report(dup_line, f"'{key}' is given twice")
        ok = False
    optional = set(optional)
    for key, (check, required) in fields.items():
        if key not in raw or raw[key] is None:
            if required and key not in optional:
                report(getattr(raw, "line", line), f"missing required field '{key}'")
                ok = False
            continue
        if err := check(raw[key]):
            typed = getattr(raw, "raw_scalars", {}).get(key)
            if typed is not None and not isinstance(raw[key], str) and typed != str(raw[key]):
                err += f" (YAML read {typed} as {raw[key]!r}; put it in quotes)"
            report(line_of(key), f"field '{key}' {err}")
            ok = False
    for key in raw:
        if key not in fields:
            guess = process.extractOne(key, list(fields), scorer=fuzz.ratio, score_cutoff=60)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            report(line_of(key), f"unknown field '{key}'{hint}")
            ok = False
    return ok


def _subject(kind: str, raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"{kind} '{raw['id']}'"
    return f"{kind} #{index + 1}"


def _list_section(data: Any, key: str, path: Path, rep: _Reporter, *, extra: Iterable[str] = ()) -> list[Any]:
    """The list under ``key`` at the top of a file, reporting a wrong shape."""
    if data is _UNREADABLE:
        return []  # already reported
    if data is None:
        rep.add(path, 1, "", f"file is empty; expected a mapping with '{key}:'")
        return []
    if not isinstance(data, dict):
        rep.add(path, 1, "", f"expected a mapping with '{key}:' at the top, not {_type_name(data)}")
        return []
    line_of = data.line_of if isinstance(data, LineDict) else (lambda _k: 1)
    for k in data:
        if k != key and k not in extra:
            rep.add(path, line_of(k), "", f"unknown top-level key '{k}'")
    items = data.get(key)
    if items is None:
        rep.add(path, 1, "", f"missing '{key}:' list")
        return []
    if not isinstance(items, list):
        rep.add(path, line_of(key), "", f"'{key}' must be a list, not {_type_name(items)}")
        return []
    return items


# --- excerpt search ----------------------------------------------------------------------


def closest_source_text(excerpt: str, source_text: str) -> str:
    """The stretch of the source most like a (non-verbatim) excerpt, for the error message."""
    norm_src = normalise_quotes_and_space(source_text)
    norm_ex = normalise_quotes_and_space(excerpt)
    align = fuzz.partial_ratio_alignment(norm_ex, norm_src)
    if align is None or align.score < 40:
        return ""
    snippet = norm_src[align.dest_start : align.dest_end]
    return snippet if len(snippet) <= 240 else snippet[:237] + "..."


def excerpt_in_source(excerpt: str, normalised_source: str) -> bool:
    return normalise_quotes_and_space(excerpt) in normalised_source


# --- loading ------------------------------------------------------------------------------


_UNREADABLE = object()


def yaml_value_problem(exc: ValueError) -> tuple[int, str]:
    """Line and message for a value YAML recognises but cannot build (the unquoted date
    0741-02-30 raises "day is out of range for month"): the line is that of the YAML node
    being built when it failed."""
    line, tb = 1, exc.__traceback__
    while tb is not None:
        mark = getattr(tb.tb_frame.f_locals.get("node"), "start_mark", None)
        if mark is not None:
            line = mark.line + 1
        tb = tb.tb_next
    return line, f'YAML could not read a value ({exc}); put dates in quotes, e.g. "0741-02"'


def _load_file(path: Path, rep: _Reporter) -> Any:
    try:
        return load_yaml(path)
    except YamlSyntaxError as exc:
        rep.add(path, exc.line, "", exc.message)
    except OSError as exc:
        rep.add(path, 1, "", f"cannot read file: {exc.strerror}")
    except ValueError as exc:
        line, message = yaml_value_problem(exc)
        rep.add(path, line, "", message)
    return _UNREADABLE


def _load_sources(root: Path, rep: _Reporter) -> dict[str, Source]:
    path = root / "sources.yaml"
    if not path.exists():
        rep.add(path, 1, "", "missing file: a pack needs sources.yaml")
        return {}
    sources: dict[str, Source] = {}
    for i, raw in enumerate(_list_section(_load_file(path, rep), "sources", path, rep)):
        subject = _subject("source", raw, i)
        line = getattr(raw, "line", 1)

        def report(ln: int, m: str, subject: str = subject) -> None:
            rep.add(path, ln, subject, m)

        if not check_record(raw, SOURCE_FIELDS, report, line=line):
            continue
        sid = raw["id"]
        if sid in sources:
            rep.add(path, line, subject, "duplicate source id")
            continue
        text_path = root / "sources" / f"{sid}.txt"
        try:
            text = text_path.read_text(encoding="utf-8")
        except OSError:
            rep.add(path, line, subject, f"its text file {display_path(text_path)} is missing")
            continue
        sources[sid] = Source(
            id=sid,
            title=raw["title"],
            url=raw["url"],
            licence=raw["licence"],
            licence_url=raw.get("licence_url"),
            attribution=raw.get("attribution"),
            text=text,
        )
    return sources


def _load_entities(root: Path, rep: _Reporter) -> dict[str, Entity]:
    path = root / "entities.yaml"
    if not path.exists():
        return {}
    entities: dict[str, Entity] = {}
    alias_owner: dict[str, str] = {}
    for i, raw in enumerate(_list_section(_load_file(path, rep), "entities", path, rep)):
        subject = _subject("entity", raw, i)
        line = getattr(raw, "line", 1)

        def report(ln: int, m: str, subject: str = subject) -> None:
            rep.add(path, ln, subject, m)

        if not check_record(raw, ENTITY_FIELDS, report, line=line):
            continue
        eid = raw["id"]
        if eid in entities:
            report(line, "duplicate entity id")
            continue
        if raw["kind"] not in ENTITY_KINDS:
            report(raw.line_of("kind"), f"kind '{raw['kind']}' is not one of {', '.join(ENTITY_KINDS)}")
            continue
        names = [raw["name"], *raw.get("aliases", [])]
        for name in names:
            key = name.casefold()
            owner = alias_owner.get(key)
            if owner and owner != eid:
                report(raw.line_of("aliases"), f"name or alias '{name}' is already used by entity '{owner}'")
            alias_owner[key] = eid
        entities[eid] = Entity(
            id=eid,
            name=raw["name"],
            kind=raw["kind"],
            aliases=tuple(dict.fromkeys(a for a in raw.get("aliases", []) if a != raw["name"])),
            description=raw["description"],
            link=raw.get("link"),
            when=parse_when(raw["when"]) if raw.get("when") else None,
        )
    return entities


def build_fact(raw: dict[str, Any], *, chapter: str, file: str, line: int, origin: str) -> Fact:
    """A Fact from a mapping that passed ``check_record``."""
    when: DateInfo | None = parse_when(raw["when"]) if raw.get("when") else None
    return Fact(
        id=raw["id"],
        title=raw["title"].strip(),
        answer=raw["answer"].strip(),
        questions=tuple(q.strip() for q in raw["questions"]),
        source=raw.get("source"),
        excerpt=raw["excerpt"].strip() if raw.get("excerpt") else None,
        when=when,
        who=tuple(raw.get("who", [])),
        where=tuple(raw.get("where", [])),
        tags=tuple(raw.get("tags", [])),
        related=tuple(raw.get("related", [])),
        links=tuple(Link(x["title"], x["url"]) for x in raw.get("links", [])),
        chapter=chapter,
        file=file,
        line=line,
        origin=origin,
    )


def check_fact_content(
    raw: dict[str, Any],
    report: Callable[[int, str], None],
    *,
    sources: dict[str, Source],
    normalised_sources: dict[str, str],
    line_of: Callable[[str], int],
) -> bool:
    """Lengths, counts and the verbatim rule for one fact (after the field types passed)."""
    ok = True
    for key in ("title", "answer", "excerpt"):
        value = raw.get(key)
        if isinstance(value, str) and len(value.strip()) > LIMITS[key]:
            size = len(value.strip())
            report(line_of(key), f"field '{key}' is {size} characters; the limit is {LIMITS[key]}")
            ok = False
    questions = raw.get("questions") or []
    if not isinstance(questions, list):
        return False  # the type problem is reported by check_record
    if len(questions) < MIN_QUESTIONS:
        report(line_of("questions"), f"needs at least {MIN_QUESTIONS} sample questions, has {len(questions)}")
        ok = False
    for q in questions:
        if isinstance(q, str) and len(q) > LIMITS["question"]:
            report(line_of("questions"), f"a sample question is longer than {LIMITS['question']} characters")
            ok = False
    sid = raw.get("source")
    if not isinstance(sid, str | None):
        return False
    if sid is not None and sid not in sources:
        report(line_of("source"), f"source '{sid}' is not in sources.yaml")
        return False
    excerpt = raw.get("excerpt")
    if sid and isinstance(excerpt, str) and not excerpt_in_source(excerpt, normalised_sources[sid]):
        closest = closest_source_text(excerpt, sources[sid].text)
        hint = f'; closest source text: "{closest}"' if closest else ""
        report(line_of("excerpt"), f"excerpt is not verbatim in source '{sid}'{hint}")
        ok = False
    return ok


def _load_facts(
    root: Path, rep: _Reporter, sources: dict[str, Source], entities: dict[str, Entity]
) -> dict[str, Fact]:
    facts: dict[str, Fact] = {}
    where_defined: dict[str, tuple[Path, int]] = {}
    related_refs: list[tuple[Path, int, str, str]] = []
    normalised = {sid: normalise_quotes_and_space(s.text) for sid, s in sources.items()}
    files = sorted((root / "facts").glob("*.yaml"))
    if not files:
        rep.add(root / "facts", 1, "", "no fact files (facts/*.yaml)")
    for path in files:
        data = _load_file(path, rep)
        items = _list_section(data, "facts", path, rep, extra=("chapter",))
        chapter = data.get("chapter", "") if isinstance(data, dict) else ""
        if not isinstance(chapter, str):
            rep.add(path, data.line_of("chapter"), "", "'chapter' must be text")
            chapter = ""
        chapter = chapter or path.stem.split("-", 1)[-1].replace("-", " ").capitalize()
        for i, raw in enumerate(items):
            subject = _subject("fact", raw, i)
            line = getattr(raw, "line", 1)

            def report(ln: int, m: str, subject: str = subject, path: Path = path) -> None:
                rep.add(path, ln, subject, m)

            fields_ok = check_record(raw, FACT_FIELDS, report, line=line)
            fid = raw.get("id") if isinstance(raw, dict) else None
            if isinstance(fid, str) and fid in where_defined:
                first, first_line = where_defined[fid]
                origin = f"{display_path(first)}:{first_line}"
                report(raw.line_of("id"), f"duplicate id (first defined at {origin})")
                continue
            if isinstance(fid, str):
                where_defined[fid] = (path, raw.line_of("id"))
            if not fields_ok:
                continue
            ok = check_fact_content(
                raw, report, sources=sources, normalised_sources=normalised, line_of=raw.line_of
            )
            for key in ("who", "where"):
                for eid in raw.get(key, []):
                    if eid not in entities:
                        guess = process.extractOne(eid, list(entities), scorer=fuzz.ratio, score_cutoff=70)
                        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                        report(raw.line_of(key), f"{key} '{eid}' is not an entity in entities.yaml{hint}")
                        ok = False
            for rid in raw.get("related", []):
                related_refs.append((path, raw.line_of("related"), fid, rid))
            if ok:
                shown = display_path(path)
                facts[fid] = build_fact(raw, chapter=chapter, file=shown, line=line, origin="pack")
    for path, line, fid, rid in related_refs:
        if rid == fid:
            rep.add(path, line, f"fact '{fid}'", "is related to itself")
        elif rid not in where_defined:
            guess = process.extractOne(rid, list(where_defined), scorer=fuzz.ratio, score_cutoff=70)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            rep.add(path, line, f"fact '{fid}'", f"related fact '{rid}' does not exist{hint}")
    return facts


def _load_info(root: Path, rep: _Reporter) -> PackInfo:
    path = root / "pack.yaml"
    default = PackInfo(id=root.name, name=root.name.replace("-", " ").title())
    if not path.exists():
        return default
    data = _load_file(path, rep)
    if data is None or data is _UNREADABLE:
        return default
    fields = {"id": (_is_id, True), "name": (_is_str, True), "description": (_is_str, False)}
    if not check_record(data, fields, lambda ln, m: rep.add(path, ln, "pack", m), line=1):
        return default
    return PackInfo(id=data["id"], name=data["name"], description=(data.get("description") or "").strip())


def validate_pack(root: Path | str) -> tuple[KnowledgePack | None, list[Problem]]:
    """Load a pack and return it with every problem found (the pack is None if any)."""
    root = Path(root)
    rep = _Reporter()
    if not root.is_dir():
        rep.add(root, 1, "", "knowledge folder does not exist")
        return None, rep.problems
    info = _load_info(root, rep)
    sources = _load_sources(root, rep)
    entities = _load_entities(root, rep)
    facts = _load_facts(root, rep, sources, entities)
    if rep.problems:
        return None, rep.problems
    return KnowledgePack(path=root, info=info, sources=sources, entities=entities, facts=facts), []


def load_pack(root: Path | str) -> KnowledgePack:
    """Load a pack or raise PackError listing every problem."""
    pack, problems = validate_pack(root)
    if pack is None:
        raise PackError(problems)
    return pack
