"""The pack loader and validator: every kind of bad input names its file, line and field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.knowledge import KnowledgePack, PackError, load_pack, validate_pack
from bot.knowledge.coverage import coverage

FACTS = "facts/01-siege.yaml"


def _edit(root: Path, rel: str, old: str, new: str) -> Path:
    path = root / rel
    text = path.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1))
    return path


def _messages(root: Path) -> list[str]:
    pack, problems = validate_pack(root)
    assert pack is None, "an invalid pack must not load"
    return [str(p) for p in problems]


def _where(root: Path, rel: str, line: int) -> str:
    return f"{os.path.relpath(root / rel)}:{line}:"


def test_fixture_pack_is_valid(mini_pack_dir: Path) -> None:
    pack, problems = validate_pack(mini_pack_dir)
    assert problems == []
    assert pack is not None and list(pack.facts) == ["siege-begins", "siege-ends", "arlo-killed"]
    assert pack.facts["siege-ends"].when is not None
    assert pack.facts["siege-ends"].when.text == "spring 742 CE (124 AH)"
    assert pack.facts["siege-begins"].chapter == "The siege"


def test_broken_yaml_names_file_and_line(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "    tags: [siege]", "    tags: [siege")
    [msg] = _messages(mini_pack_dir)
    assert msg.startswith(_where(mini_pack_dir, FACTS, 12))
    assert "YAML syntax error" in msg


def test_missing_required_field(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "    title: The siege of Oldport begins\n", "")
    assert _messages(mini_pack_dir) == [
        f"{_where(mini_pack_dir, FACTS, 3)} fact 'siege-begins': missing required field 'title'"
    ]


def test_wrong_type(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "    tags: [siege]", "    tags: siege")
    assert _messages(mini_pack_dir) == [
        f"{_where(mini_pack_dir, FACTS, 11)} fact 'siege-begins': field 'tags' must be a list "
        "(write [a, b] or one '- item' per line), not text"
    ]


def test_unquoted_year_is_a_type_error_with_a_hint(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, 'when: "0741"', "when: 0741")
    assert _messages(mini_pack_dir) == [
        f"{_where(mini_pack_dir, FACTS, 8)} fact 'siege-begins': field 'when' must be a quoted "
        'EDTF string such as "0740", not 481 (YAML read 0741 as 481; put it in quotes)'
    ]


def test_duplicate_id(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "  - id: siege-ends", "  - id: siege-begins")
    msgs = _messages(mini_pack_dir)
    assert (
        f"{_where(mini_pack_dir, FACTS, 16)} fact 'siege-begins': duplicate id "
        f"(first defined at {os.path.relpath(mini_pack_dir / FACTS)}:3)"
    ) in msgs


def test_dangling_entity_reference(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "    who: [arlo]", "    who: [arlow]")
    assert _messages(mini_pack_dir) == [
        f"{_where(mini_pack_dir, FACTS, 9)} fact 'siege-begins': who 'arlow' is not an entity "
        "in entities.yaml (did you mean 'arlo'?)"
    ]


def test_dangling_related_fact(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "related: [siege-ends]", "related: [siege-endz]")
    assert _messages(mini_pack_dir) == [
        f"{_where(mini_pack_dir, FACTS, 15)} fact 'siege-begins': related fact 'siege-endz' "
        "does not exist (did you mean 'siege-ends'?)"
    ]


def test_excerpt_not_in_source_shows_closest_text(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "was besieged by the river clans", "was attacked by the river clans")
    [msg] = _messages(mini_pack_dir)
    assert msg.startswith(
        f"{_where(mini_pack_dir, FACTS, 6)} fact 'siege-begins': excerpt is not verbatim in "
        "source 'chronicle'; closest source text: \""
    )
    assert "was besieged by the river clans" in msg


def test_typographic_quotes_and_spacing_are_normalised(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, "sources/chronicle.txt", "Arlo was killed", "“Arlo” was killed")
    _edit(mini_pack_dir, "facts/02-after.yaml", "excerpt: Arlo was killed", 'excerpt: \'"Arlo"   was killed')
    _edit(mini_pack_dir, "facts/02-after.yaml", "during the retreat.", "during the retreat.'")
    pack, problems = validate_pack(mini_pack_dir)
    assert problems == []
    assert pack is not None
    assert pack.facts["arlo-killed"].excerpt == '"Arlo"   was killed during the retreat.'


def test_bad_date(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, 'when: "0742-21"', 'when: "0742-31"')
    assert _messages(mini_pack_dir) == [
        f"{_where(mini_pack_dir, FACTS, 23)} fact 'siege-ends': field 'when' month 31 is neither "
        "a month (01-12) nor a season (21-24)"
    ]


def test_unknown_key_suggests_the_right_one(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "    tags: [siege]", "    tgas: [siege]")
    assert _messages(mini_pack_dir) == [
        f"{_where(mini_pack_dir, FACTS, 11)} fact 'siege-begins': unknown field 'tgas' (did you mean 'tags'?)"
    ]


def test_bad_url(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "url: https://example.org/fleets", "url: example.org/fleets")
    [msg] = _messages(mini_pack_dir)
    assert msg == (
        f"{_where(mini_pack_dir, FACTS, 28)} fact 'siege-ends': field 'links' item 1 "
        "'example.org/fleets' is not an absolute http(s) URL"
    )


def test_too_few_questions_and_overlong_excerpt(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, "facts/02-after.yaml", "      - What happened to Captain Arlo?\n", "")
    [msg] = _messages(mini_pack_dir)
    assert msg.endswith("fact 'arlo-killed': needs at least 2 sample questions, has 1")


def test_entity_problems(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, "entities.yaml", "kind: place", "kind: town")
    _edit(mini_pack_dir, "entities.yaml", "aliases: [Old Port]", "aliases: [Arlo]")
    msgs = _messages(mini_pack_dir)
    ent = os.path.relpath(mini_pack_dir / "entities.yaml")
    assert f"{ent}:9: entity 'oldport': kind 'town' is not one of " in msgs[0]


def test_duplicate_alias_across_entities(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, "entities.yaml", "aliases: [Old Port]", "aliases: [Arlow]")
    ent = os.path.relpath(mini_pack_dir / "entities.yaml")
    assert _messages(mini_pack_dir) == [
        f"{ent}:10: entity 'oldport': name or alias 'Arlow' is already used by entity 'arlo'"
    ]


def test_missing_source_text_file(mini_pack_dir: Path) -> None:
    (mini_pack_dir / "sources" / "chronicle.txt").unlink()
    msgs = _messages(mini_pack_dir)
    assert any("its text file" in m and "is missing" in m for m in msgs)


def test_load_pack_raises_with_every_problem(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "    who: [arlo]", "    who: [nobody]")
    _edit(mini_pack_dir, FACTS, 'when: "0742-21"', 'when: "someday"')
    with pytest.raises(PackError) as info:
        load_pack(mini_pack_dir)
    assert len(info.value.problems) == 2
    assert "who 'nobody'" in str(info.value)


# --- the shipped pack ----------------------------------------------------------------------


def test_shipped_pack_is_valid_and_large_enough(pack: KnowledgePack) -> None:
    assert len(pack.facts) >= 150
    assert all(f.excerpt and f.source for f in pack.facts.values())
    assert pack.sources["wikipedia-berber-revolt"].licence == "CC BY-SA 4.0"


def test_shipped_pack_cites_nearly_every_source_sentence(pack: KnowledgePack) -> None:
    [cov] = coverage(pack)
    assert cov.share >= 0.95, cov.uncited[:5]


def test_shipped_entities_know_common_spellings(pack: KnowledgePack) -> None:
    names = {n.casefold() for e in pack.entities.values() for n in e.names}
    for spelling in ("maysara", "maisara", "tangier", "tangiers", "ifriqiya", "kairouan", "kharijites"):
        assert spelling in names, spelling


def test_invisible_text_and_oversized_items_are_refused(mini_pack_dir: Path) -> None:
    _edit(mini_pack_dir, FACTS, "    title: The siege of Oldport begins", '    title: "\\x01\\x02  "')
    _edit(mini_pack_dir, FACTS, "    tags: [siege]", f"    tags: [{'x' * 300}]")
    msgs = _messages(mini_pack_dir)
    assert any(
        "field 'title' must not be empty (spaces and control characters do not count)" in m for m in msgs
    )
    assert any("field 'tags' item 1 is 300 characters; at most 200" in m for m in msgs)
