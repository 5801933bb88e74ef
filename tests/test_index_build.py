"""The batch index builder must give exactly what word-by-word processing gives."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analysis import NON_CONTENT, plain_words, stem
from bot.index_build import PostingsBuilder, WordSplitter, _sum_by_key
from bot.knowledge import KnowledgePack
from bot.search import FIELD_WEIGHTS, SearchIndex

TRICKY = [
    "",
    "Qayrawān, ʿAbd al-Raḥmān ibn Ḥabīb al-Fihrī (d. 755)",
    "Qa`id   TANGIER\tTangiers\n740 CE / 122 AH",
    "straße Ωμέγα عبد الرحمن 漢字 x\u0301y",
    "a\x01b \x01 c",  # the character the builder uses between texts
    "ends with a number 741",
    "   ",
    "İstanbul, the ǅ digraph and the Kelvin sign \u212a",
]


def _split(texts: list[str]) -> list[tuple[str, int]]:
    splitter = WordSplitter()
    words, text_of = splitter.split(texts)
    return [(splitter.words.order[w], t) for w, t in zip(words.tolist(), text_of.tolist(), strict=True)]


def test_splitter_finds_the_words_plain_words_finds() -> None:
    expected = [(w, i) for i, t in enumerate(TRICKY) for w in plain_words(t.replace("\x01", " "))]
    assert _split(TRICKY) == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8))
def test_splitter_matches_plain_words_on_any_text(texts: list[str]) -> None:
    expected = [(w, i) for i, t in enumerate(texts) for w in plain_words(t.replace("\x01", " "))]
    assert _split(texts) == expected


def test_splitter_numbers_words_consistently_across_batches() -> None:
    splitter = WordSplitter()
    a, _ = splitter.split(["Maysara took Tangier", "Tangier fell"])
    b, _ = splitter.split(["Tangier again"])
    order = splitter.words.order
    assert [order[i] for i in a.tolist()] == ["maysara", "took", "tangier", "tangier", "fell"]
    assert order[b.tolist()[0]] == "tangier"
    assert a.tolist()[2] == a.tolist()[3] == b.tolist()[0]


def _reference_bag(index: SearchIndex, pos: int) -> dict[str, float]:
    """The (term -> summed weight) of one fact, worked out word by word."""
    fact = index.docs[pos].fact
    bag: dict[str, float] = defaultdict(float)
    fields = {
        "title": [fact.title],
        "questions": list(fact.questions),
        "answer": [fact.answer],
        "excerpt": [fact.excerpt or ""],
        "tags": list(fact.tags),
    }
    entities = set(fact.entity_ids)
    for name, texts in fields.items():
        for text in texts:
            stems = [stem(w) for w in plain_words(text) if w not in NON_CONTENT]
            for s in stems:
                bag[s] += FIELD_WEIGHTS[name]
            if name in PostingsBuilder.NAME_FIELDS:
                entities |= index.match_entities(stems)
    for eid in entities & index.entities.keys():
        bag[f"@{eid}"] += 2.0
        for t in index._entity_terms[eid]:
            bag[t] += FIELD_WEIGHTS["entities"]
    return bag


def test_index_holds_each_facts_terms_and_entities(pack: KnowledgePack) -> None:
    index = SearchIndex(pack)
    for pos in range(0, len(index.docs), 7):
        bag = _reference_bag(index, pos)
        assert index.docs[pos].length == pytest.approx(sum(bag.values()), rel=1e-5)
        for term in bag:
            assert index.has_term(term, pos), (index.docs[pos].fact.id, term)
    fact = pack.facts["skirmish-outside-tangier"]
    doc = index.docs[index.by_id[fact.id]]
    # listed entities, and entities named in the text but not listed
    assert {"maysara-al-matghari", "tangier"} <= doc.entities


def test_entity_named_across_two_fields_is_not_a_mention(pack: KnowledgePack) -> None:
    """'... Khalid' ending the title and 'ibn Abi Habib ...' starting the answer are two texts."""
    fact = next(iter(pack.facts.values()))
    ent = pack.entities["khalid-ibn-abi-habib-al-fihri"]
    first, _, rest = ent.name.partition(" ")
    odd = replace(fact, id="odd", title=f"A story about {first}", answer=f"{rest} and more.", excerpt=None,
                  who=(), where=(), questions=(), tags=())  # fmt: skip
    one = KnowledgePack(path=pack.path, info=pack.info, sources=pack.sources, entities=pack.entities,
                        facts={"odd": odd})  # fmt: skip
    index = SearchIndex(one)
    assert ent.id not in index.docs[0].entities


def test_word_counts_feed_the_typo_vocabulary(pack: KnowledgePack) -> None:
    index = SearchIndex(pack)
    counts: Counter[str] = Counter()
    for fact in pack.facts.values():
        for text in (fact.title, *fact.questions, fact.answer, fact.excerpt or "", *fact.tags):
            counts.update(w for w in plain_words(text) if w not in NON_CONTENT)
    assert index._surface_freq == dict(counts)
    assert "tangier" in index.vocabulary


def test_plain_view_counts_every_word_of_the_text_and_sample_questions(pack: KnowledgePack) -> None:
    """Function words too, unstemmed; not the tags, nor entities' names the fact does not use."""
    import numpy as np

    index = SearchIndex(pack)
    counts: dict[str, Counter[str]] = {}
    for pos in range(0, len(index.docs), 11):
        fact = index.docs[pos].fact
        texts = (fact.title, fact.answer, fact.excerpt or "", *fact.questions)
        words = [w for t in texts for w in plain_words(t)]
        counts[fact.id] = Counter(words)
        assert index.plain_lengths[pos] == len(words)
    for word, (docs, tfs) in index.plain_postings.items():
        assert np.all(np.diff(docs) > 0), word
        for doc, tf in zip(docs.tolist(), tfs.tolist(), strict=True):
            expected = counts.get(index.docs[doc].fact.id)
            if expected is not None:
                assert expected[word] == tf, (index.docs[doc].fact.id, word)
    for fid, expected in counts.items():
        pos = index.by_id[fid]
        for word, tf in expected.items():
            docs, tfs = index.plain_postings[word]
            assert tfs[np.searchsorted(docs, pos)] == tf
    assert "the" in index.plain_postings and "how" in index.plain_postings  # function words count
    assert "berbers" in index.plain_postings and "berbers" not in index.postings  # unstemmed
    assert index.plain_avg == pytest.approx(float(np.mean(index.plain_lengths)))


def test_building_in_many_batches_gives_the_same_index(pack: KnowledgePack, monkeypatch) -> None:
    """Batches are prepared in a worker thread while the previous one is added; the postings
    (facts ascending in each term, weights) must be those of a build in one batch."""
    import numpy as np

    import bot.search

    whole = SearchIndex(pack)
    monkeypatch.setattr(bot.search, "BATCH", 7)
    batched = SearchIndex(pack)
    assert whole.postings.keys() == batched.postings.keys()
    for term, (docs, weights) in whole.postings.items():
        other_docs, other_weights = batched.postings[term]
        assert np.all(np.diff(other_docs) > 0), term
        np.testing.assert_array_equal(docs, other_docs)
        np.testing.assert_allclose(weights, other_weights, rtol=1e-6)
    assert [d.length for d in whole.docs] == pytest.approx([d.length for d in batched.docs])
    assert whole._surface_freq == batched._surface_freq  # how often each word occurs, for typo repair
    assert whole.plain_postings.keys() == batched.plain_postings.keys()
    for word, (docs, tfs) in whole.plain_postings.items():
        np.testing.assert_array_equal(docs, batched.plain_postings[word][0])
        np.testing.assert_array_equal(tfs, batched.plain_postings[word][1])
    np.testing.assert_array_equal(whole.plain_lengths, batched.plain_lengths)


@given(st.lists(st.tuples(st.integers(0, 2**31 - 1), st.floats(0, 100, width=32)), max_size=60))
def test_summing_weights_by_key_matches_numpy_unique(pairs: list[tuple[int, float]]) -> None:
    weights = np.array([w for _, w in pairs], dtype=np.float32)
    for dtype in (np.int32, np.int64):  # the packed sort, and np.unique for keys too wide to pack
        keys = np.array([k for k, _ in pairs], dtype=dtype)
        unique, sums = _sum_by_key(keys, weights)
        expected, inverse = np.unique(keys, return_inverse=True)
        assert unique.tolist() == expected.tolist()
        assert np.allclose(sums, np.bincount(inverse.ravel(), weights=weights, minlength=len(expected)))
