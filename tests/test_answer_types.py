"""Answer types: "how many" needs a number, "when" a date, a death a fact that tells of one."""

from dataclasses import replace

from bot.analysis import words
from bot.answer import Answerer
from bot.answer_types import (
    asked_nouns,
    asks_a_count,
    counted_noun,
    counts,
    has_date,
    has_quantity,
    is_light_noun,
    question_kind,
    tells_what_was_asked,
)
from bot.knowledge import KnowledgePack


def test_the_kind_of_answer_a_question_asks_for() -> None:
    assert question_kind(words("Who led the revolt?")) == "who"
    assert question_kind(words("wen did it start")) == "when"  # chat spelling of "when"
    assert question_kind(words("what year did Tangier fall")) == "when"  # "year" frames a date
    assert question_kind(words("how many men did Kulthum have")) == "howmany"
    assert question_kind(words("how long did the frontier last")) == "howmany"
    assert question_kind(words("where is Bagdoura")) == "where"
    assert question_kind(words("how did the revolt spread")) is None
    # the first question word decides: "when" inside the question does not ask for a date
    assert question_kind(words("what did the caliph say when the news reached him")) is None
    assert question_kind(words("in which year did the syrians land")) == "when"
    assert question_kind(words("which place did the rebels take first")) == "where"


def asked(question: str) -> list[str]:
    ws = words(question)
    return [ws[i] for i in asked_nouns(ws)]


def test_the_noun_a_what_or_which_question_asks_for() -> None:
    assert asked("what weapons did the rebels carry") == ["weapons"]
    assert asked("which tribes were the first to rise") == ["tribes"]
    assert asked("what is the capital of the province") == ["capital"]
    assert asked("whats the capital of the province") == ["capital"]  # chat spelling of "what is"
    assert asked("what kind of armour did they wear") == ["armour"]
    assert asked("what post did he hold") == ["post"]  # found, but only names a kind of answer
    assert is_light_noun("post") and is_light_noun("outcome") and is_light_noun("hapened")
    assert not is_light_noun("sports")  # one letter from "sorts", but a word of its own
    # no noun asked for: a verb, an adjective, the one who acted, a possessive, a year
    for question in (
        "what caused the revolt",
        "what famous words did the caliph say",
        "what did the governor do next",
        "which city's fall ended the war",
        "what year did it end",
        "what is going on",
    ):
        assert asked(question) == [], question


def test_a_fact_that_never_speaks_of_the_thing_asked_for_does_not_answer(answerer: Answerer) -> None:
    engine = answerer.engine
    tools = engine.search("what tools did the berbers use in tangier")
    assert not tools.answered and tools.reason == "not what was asked"
    assert tools.best is not None and "tangier" in tools.best.fact.answer.lower()
    # the fact that answers speaks of it (Ceuta is a "town", a synonym of "city")
    besieged = engine.search("which city did the syrians besiege")
    assert besieged.answered and besieged.best is not None
    assert "ceuta" in besieged.best.fact.id
    # a noun that only names the kind of answer need not be in the fact
    title = engine.search("what title did maysara take")
    assert title.answered and title.best is not None and title.best.fact.id == "maysara-claims-caliph-title"


def test_quantities_and_events_in_a_facts_own_text(pack: KnowledgePack) -> None:
    army = pack.facts["kulthum-syrian-army-size"]
    assert has_quantity(army)  # "30,000"
    assert has_quantity(pack.facts["duero-frontier-lasts-centuries"])  # "centuries", no digit
    # a year is a quantity of time, not a count: "how many horses" is not answered by "in 741"
    dated_only = pack.facts["syrian-cavalry-reaches-kairouan"]  # "... in the summer of 741"
    assert has_quantity(dated_only) and not has_quantity(dated_only, years_count=False)
    assert has_quantity(army, years_count=False)
    assert asks_a_count(words("how many horses did balj have"))
    assert not asks_a_count(words("how many years did the syrians stay"))
    assert not asks_a_count(words("how long did the siege last"))
    assert not asks_a_count(words("how much of morocco did the rebels take"))
    executed = pack.facts["oqasha-executed"]
    assert tells_what_was_asked(words("when did oqasha die"), executed)
    assert not tells_what_was_asked(words("when was oqasha born"), executed)
    assert tells_what_was_asked(words("where was oqasha defeated"), executed)  # no life event asked
    # a fact that tells of no death or birth
    quiet = pack.facts["musa-ibn-abi-khalid-loyal-captain"]
    assert not tells_what_was_asked(words("when did musa die"), quiet)
    assert not tells_what_was_asked(words("where was musa born?"), quiet)
    assert not tells_what_was_asked(words("where is musa buried"), quiet)
    assert not tells_what_was_asked(words("who did musa marry"), quiet)
    # describing, not asking: an adjective, a noun, a verb with a particle
    assert tells_what_was_asked(words("what did the dead governor's captain do"), quiet)
    assert tells_what_was_asked(words("was a state born out of the uprising"), quiet)
    assert tells_what_was_asked(words("what happened once the fighting died down"), quiet)


def test_a_how_many_question_needs_a_fact_that_states_a_number(answerer: Answerer) -> None:
    engine = answerer.engine
    counted = engine.search("how many soldiers did kulthum bring from syria")
    assert counted.answered and counted.best is not None
    assert any(ch.isdigit() for ch in counted.best.fact.answer)
    # the fact about the taxes matches every word, but says nothing of how much
    uncounted = engine.search("how much tribute did ubayd allah demand")
    assert not uncounted.answered and uncounted.reason == "no quantity"
    assert uncounted.best is not None and uncounted.best.fact.id == "ubayd-allah-resumes-taxes"
    # "how long" is answered by a span of time too, with or without a number ("for centuries")
    lasting = engine.search("how long did the no man's land along the duero last")
    assert lasting.answered and lasting.best is not None
    assert lasting.best.fact.id == "duero-frontier-lasts-centuries"
    assert not any(ch.isdigit() for ch in lasting.best.fact.answer)


def test_a_when_question_needs_a_dated_fact(answerer: Answerer) -> None:
    engine = answerer.engine
    undated = next(f for f in answerer.pack.facts.values() if f.when is None)
    assert has_date(replace(undated, answer="The Umayyads lost Tangier in 740."))  # a year
    assert not has_date(replace(undated, answer="Some 30,000 men marched west."))  # a number
    assert engine.search("were berber converts treated as second class muslims").answered
    undated = engine.search("when were berber converts treated as second class muslims")
    assert not undated.answered and undated.reason == "no date"
    assert undated.best is not None and undated.best.fact.when is None


def test_a_question_about_a_death_needs_a_fact_that_tells_of_one(answerer: Answerer) -> None:
    engine = answerer.engine
    # the source says Musa stayed near Tlemcen, nothing of his death: no guessing from his fact
    unknown = engine.search("when did musa ibn abi khalid die")
    assert not unknown.answered and unknown.reason == "not stated"
    assert unknown.best is not None and unknown.best.fact.id == "musa-ibn-abi-khalid-loyal-captain"
    for question, fact in [
        ("when did oqasha die", "oqasha-executed"),
        ("when did abd al-malik ibn qatan die", "ibn-qatan-tortured-to-death"),
    ]:
        told = engine.search(question)
        assert told.answered and told.best is not None and told.best.fact.id == fact


def test_a_question_about_an_age_a_look_or_a_language_needs_a_fact_that_states_it(
    answerer: Answerer, pack: KnowledgePack
) -> None:
    engine = answerer.engine
    assert engine.search("who was musa ibn abi khalid").answered
    looks = engine.search("what did musa ibn abi khalid look like")
    assert not looks.answered and looks.reason == "not stated"
    assert looks.best is not None and looks.best.fact.id == "musa-ibn-abi-khalid-loyal-captain"
    quiet = pack.facts["musa-ibn-abi-khalid-loyal-captain"]
    described = replace(quiet, answer=f"{quiet.answer} He was tall, with a grey beard.")
    assert tells_what_was_asked(words("what did musa look like"), described)
    assert not tells_what_was_asked(words("what did musa look like"), quiet)
    army = pack.facts["kulthum-syrian-army-size"]  # a number, but nobody's age
    assert not tells_what_was_asked(words("how old was kulthum when he marched west"), army)
    assert not tells_what_was_asked(words("what language did kulthum's soldiers speak"), army)
    assert tells_what_was_asked(words("how many men did kulthum lead"), army)  # nothing of the kind asked
    # whole words only: "swore" does not ask what someone "wore"
    assert tells_what_was_asked(words("what oath was sworn, and who swore it"), quiet)


def test_a_how_many_question_needs_a_count_of_what_it_asks_about(
    answerer: Answerer, pack: KnowledgePack
) -> None:
    ws = words("how many horses did balj have")
    assert counted_noun(ws) == 2
    assert counted_noun(words("how many years did the revolt last")) is None  # frames the answer
    assert counted_noun(words("how long did the siege last")) is None
    ceuta = pack.facts["syrians-trapped-in-ceuta"]  # "... the remnant ..., about 10,000 men ..."
    assert counts(ceuta, ["men"]) and not counts(ceuta, ["hors", "cavalri"])
    dated = replace(ceuta, answer="Balj's horses were eaten in Ceuta in 742.", excerpt=None)
    assert not counts(dated, ["hors"])  # a year near them is not a number of them
    assert counts(replace(dated, answer="Balj kept three thousand horses in Ceuta."), ["hors"])
    engine = answerer.engine
    # the Ceuta fact counts Balj's men, not his horses
    assert engine.search("how many men did balj have in ceuta").answered
    horses = engine.search("how many horses did balj have in ceuta")
    assert not horses.answered and horses.reason == "no quantity"
    assert horses.best is not None and horses.best.fact.id == "syrians-trapped-in-ceuta"
