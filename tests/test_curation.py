"""Moderators' facts: validation, versions, overrides, import/export, answerable at once."""

from __future__ import annotations

import pytest
import yaml

from bot.curation import CurationError, Curator
from bot.knowledge import KnowledgePack
from bot.storage import open_storage

GUILD = 111
OTHER = 222
NEW = {
    "title": "The library of the qadi",
    "answer": "Our reading group notes that the qadi kept a library in Kairouan.",
    "questions": ["Did the qadi have a library?", "Where was the qadi's library?"],
}


@pytest.fixture
async def curator(storage_target, pack: KnowledgePack, answerer):
    """The same tests on SQLite and on PostgreSQL."""
    store = open_storage(storage_target)
    await store.open()
    yield Curator(pack, store, answerer)
    await store.close()


async def test_add_is_answerable_at_once_and_only_in_that_guild(curator: Curator) -> None:
    v = await curator.add(GUILD, dict(NEW), author_id=1, author_name="mod")
    assert v.fact_id == "the-library-of-the-qadi" and v.version == 1
    here = (await curator.answerer_for(GUILD)).ask("did the qadi have a library?")
    assert here.answered and here.fact_id == v.fact_id
    assert here.origin == "guild" and here.excerpt is None and here.source is None
    there = (await curator.answerer_for(OTHER)).ask("did the qadi have a library?")
    assert there.fact_id != v.fact_id


async def test_invalid_edit_is_refused_and_the_old_fact_stays(curator: Curator) -> None:
    v = await curator.add(GUILD, dict(NEW), author_id=1, author_name="mod")
    bad = dict(
        NEW, answer="", excerpt="words that are not in the article at all", source="wikipedia-berber-revolt"
    )
    with pytest.raises(CurationError) as info:
        await curator.edit(GUILD, v.fact_id, bad, author_id=2, author_name="other")
    text = " ".join(info.value.problems)
    assert "excerpt is not verbatim" in text
    history = await curator.history(GUILD, v.fact_id)
    assert [h.version for h in history] == [1]
    assert (await curator.fact_data(GUILD, v.fact_id))["answer"] == NEW["answer"]


async def test_override_remove_and_revert_a_shipped_fact(curator: Curator, pack: KnowledgePack) -> None:
    fid = "battle-of-bagdoura"
    original = await curator.fact_data(GUILD, fid)
    assert original is not None
    edited = dict(
        original, answer="Our class summary: the Berbers crushed the Syrian army at Bagdoura in 741."
    )
    await curator.edit(GUILD, fid, edited, author_id=1, author_name="mod")
    reply = (await curator.answerer_for(GUILD)).ask("when was the battle of bagdoura?")
    assert reply.fact_id == fid and reply.answer.startswith("Our class summary")
    await curator.remove(GUILD, fid, author_id=1, author_name="mod")
    assert fid not in (await curator.answerer_for(GUILD)).pack.facts
    assert fid in (await curator.answerer_for(OTHER)).pack.facts  # other servers unaffected
    await curator.revert(GUILD, fid, 0, author_id=1, author_name="mod")
    reply = (await curator.answerer_for(GUILD)).ask("when was the battle of bagdoura?")
    assert reply.answer == pack.facts[fid].answer
    history = await curator.history(GUILD, fid)
    assert [h.action for h in history] == ["edit", "remove", "revert"]
    assert [h.version for h in history] == [1, 2, 3]


async def test_concurrent_writes_conflict_detection(curator: Curator) -> None:
    v = await curator.add(GUILD, dict(NEW), author_id=1, author_name="a")
    await curator.edit(
        GUILD, v.fact_id, dict(NEW, answer="First edit."), author_id=1, author_name="a", expected_version=1
    )
    with pytest.raises(Exception, match="someone changed it meanwhile"):
        await curator.edit(
            GUILD,
            v.fact_id,
            dict(NEW, answer="Stale edit."),
            author_id=2,
            author_name="b",
            expected_version=1,
        )


async def test_export_then_import_round_trip(curator: Curator) -> None:
    await curator.add(GUILD, dict(NEW), author_id=1, author_name="mod")
    exported = await curator.export_yaml(GUILD)
    assert yaml.safe_load(exported)["facts"][0]["title"] == NEW["title"]
    written = await curator.import_yaml(OTHER, exported, author_id=3, author_name="mod2")
    assert [w.fact_id for w in written] == ["the-library-of-the-qadi"]
    assert (await curator.answerer_for(OTHER)).ask("did the qadi have a library?").answered


async def test_import_is_all_or_nothing_with_file_line_messages(curator: Curator) -> None:
    text = yaml.safe_dump(
        {
            "facts": [
                dict(NEW, id="good-one"),
                dict(NEW, id="bad-one", when="sometime"),
            ]
        },
        sort_keys=False,
    )
    with pytest.raises(CurationError) as info:
        await curator.import_yaml(GUILD, text, author_id=1, author_name="m", filename="mine.yaml")
    assert any(
        p.startswith("mine.yaml:") and "fact 'bad-one'" in p and "when" in p for p in info.value.problems
    )
    assert await curator.current(GUILD) == {}
    with pytest.raises(CurationError, match="YAML syntax error"):
        await curator.import_yaml(GUILD, "facts: [oops", author_id=1, author_name="m")


async def test_unknown_fact_and_missing_version(curator: Curator) -> None:
    with pytest.raises(CurationError, match="no fact 'nope'"):
        await curator.remove(GUILD, "nope", author_id=1, author_name="m")
    v = await curator.add(GUILD, dict(NEW), author_id=1, author_name="m")
    with pytest.raises(CurationError, match="has no version 9"):
        await curator.revert(GUILD, v.fact_id, 9, author_id=1, author_name="m")


async def test_a_change_by_another_process_is_seen(
    storage_target, pack: KnowledgePack, answerer, monkeypatch
) -> None:
    """Two processes share one database; B serves the guild after A wrote (a shard moving)."""
    import bot.curation as curation

    monkeypatch.setattr(curation, "REVISION_POLL", 0.0)
    a_store, b_store = open_storage(storage_target), open_storage(storage_target)
    await a_store.open()
    await b_store.open()
    try:
        a, b = Curator(pack, a_store, answerer), Curator(pack, b_store, answerer)
        before = (await b.answerer_for(GUILD)).ask("did the qadi have a library?")  # B caches its view
        assert before.fact_id != "the-library-of-the-qadi"
        v = await a.add(GUILD, dict(NEW), author_id=1, author_name="mod")
        reply = (await b.answerer_for(GUILD)).ask("did the qadi have a library?")
        assert reply.fact_id == v.fact_id
    finally:
        await a_store.close()
        await b_store.close()
