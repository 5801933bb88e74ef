"""Words, typo repair and dates in questions."""

from pathlib import Path

from bot.analysis import _STEMMER, PhraseBook, find_dates, repair_everyday, stem, terms, words
from bot.search import SearchEngine


def test_words_fold_accents_and_chat_spellings() -> None:
    assert words("Qayrawān, wen did it happen?") == ["qayrawan", "when", "did", "it", "happen"]
    assert terms("What happened to the Berbers?") == ["berber"]


def test_typo_repair_fixes_rare_words_only(answerer) -> None:
    vocab = answerer.engine.index.vocabulary
    assert vocab.repair("blaj") == "balj"  # a swapped pair of letters is one edit
    assert vocab.repair("kharajites") == "kharijites"
    assert vocab.repair("battel") == "battle"
    assert vocab.repair("seige") == "siege"
    # ordinary English words are never "corrected" into knowledge words
    for word in ("pizza", "weather", "football", "dinner", "music"):
        assert vocab.repair(word) is None, word
    # a rare but real word is not two edits from a knowledge word ("saladin" is not "slain")
    assert vocab.repair("saladin") is None
    assert vocab.repair("tangeir") == "tangier"  # ... while a made-up spelling may be
    # equally close words: the one the knowledge uses most, not the longest shared beginning
    assert vocab.repair("burber") == "berber"


def test_slips_in_everyday_words_are_read_as_those_words(answerer) -> None:
    assert repair_everyday("happend") == "happened"
    assert repair_everyday("thier") == "their"
    assert repair_everyday("wich") == "which"  # a letter left out before a letter changed ("with")
    # real words, and names the knowledge does not know, stay as they are
    for word in ("sports", "pizza", "zanj", "tahert", "saladin", "die"):
        assert repair_everyday(word) is None, word
    # a short word is read as a question or function word ("whne"), not as another word ("oran")
    assert repair_everyday("whne") == "when" and repair_everyday("oran") is None
    engine = answerer.engine
    # a slip in a question word still asks that question; one in "happened" weighs nothing
    asked = engine.parse("whne did the syrians reach kairouan")
    assert asked.kind == "when" and asked.corrections == {"whne": "when"}
    slipped = engine.search("what happend at the battle of the nobels")
    assert slipped.answered and slipped.best is not None
    assert slipped.best.fact.id == engine.search("what happened at the battle of the nobles").best.fact.id


def test_dates_in_questions() -> None:
    [d] = find_dates(words("what happened in 741?"))
    assert d.start == (741, 1, 1) and d.end == (741, 12, 31)
    [ah] = find_dates(words("events of 123 AH"))
    assert ah.label == "123 AH" and ah.start == (740, 11, 26)
    [spring] = find_dates(words("spring 742"))
    assert spring.start == (742, 3, 1) and spring.end[1] == 5
    assert find_dates(words("how many of the 40 men survived")) == []
    # a number written with a thousands separator is a count, not the year 120; "739/740" is two years
    assert find_dates(words("did 120,000 Berbers really die in 741?"))[0].label == "741 CE"
    assert len(find_dates(words("did 120,000 Berbers really die?"))) == 0
    assert [d.label for d in find_dates(words("the revolt of 739/740"))] == ["739 CE", "740 CE"]


def test_alias_spellings_find_the_same_entity(answerer) -> None:
    engine: SearchEngine = answerer.engine
    for spelling in ("Maysara", "Maisara", "maysarah"):
        assert "maysara-al-matghari" in engine.parse(f"who was {spelling}").entities, spelling
    assert "tangier" in engine.parse("revolt in tangiers").entities


def test_expressions_are_found_in_every_inflection(tmp_path: Path) -> None:
    book_file = tmp_path / "phrases.txt"
    book_file.write_text(
        "# comment\ntake over = seize succeed\nkick out = expel\ncome out on top = win\nnot a line\n"
    )
    book = PhraseBook([book_file, tmp_path / "missing.txt"])
    assert stem("took") == stem("taking") == stem("take") == stem("taken")
    assert stem("fought") == stem("fight") and stem("fled") == stem("flee")

    def found(question: str) -> list[tuple[str, tuple[str, ...]]]:
        ws = words(question)
        return [(" ".join(ws[m.start : m.end]), m.means) for m in book.find(ws)]

    assert found("who took over after him") == [("took over", ("seiz", "succeed"))]
    assert found("who is taking over") == [("taking over", ("seiz", "succeed"))]
    assert found("did they kick them out") == [("kick them out", ("expel",))]  # a pronoun between
    assert found("who came out on top at the nobles") == [("came out on top", ("win",))]
    # the words of an expression apart, or in another order, are not the expression
    assert found("they took the city over") == []
    assert found("over they took") == []
    assert found("what happened") == []


def test_the_c_stemmer_stems_as_the_python_one(pack) -> None:
    """snowballstemmer hands stemming to PyStemmer (C, a dependency) when it is installed; the
    index must not depend on which one a machine has."""
    from snowballstemmer.english_stemmer import EnglishStemmer

    python = EnglishStemmer()
    texts = [t for f in pack.facts.values() for t in (f.title, f.answer, f.excerpt or "", *f.questions)]
    vocabulary = sorted({w for t in texts for w in words(t)})
    assert len(vocabulary) > 1000
    assert [_STEMMER.stemWord(w) for w in vocabulary] == [python.stemWord(w) for w in vocabulary]
