"""Reply objects and conversational follow-ups."""

from bot.answer import Answerer, Conversation, ConversationStore


def test_reply_carries_cited_excerpt_source_and_dates(answerer: Answerer) -> None:
    reply = answerer.ask("when was the battle of bagdoura?")
    assert reply.answered and reply.fact_id
    fact = answerer.pack.facts[reply.fact_id]
    assert reply.excerpt == fact.excerpt
    assert reply.excerpt and reply.excerpt in " ".join(
        answerer.pack.sources["wikipedia-berber-revolt"].text.split()
    )
    assert reply.source and reply.source.url == "https://en.wikipedia.org/wiki/Berber_Revolt"
    assert reply.source.licence == "CC BY-SA 4.0"
    assert reply.date and "CE" in reply.date.ce and "AH" in reply.date.ah
    assert 1 <= len(reply.related) <= 3
    assert all(r.fact_id != reply.fact_id for r in reply.related)


def test_reply_serialises_to_the_batch_contract(answerer: Answerer) -> None:
    data = answerer.ask("who was kulthum?").to_dict()
    for key in ("question", "answered", "answer", "excerpt", "source", "fact_id", "score", "date",
                "links", "related", "suggestions"):  # fmt: skip
        assert key in data


def test_decline_offers_three_suggestions(answerer: Answerer) -> None:
    reply = answerer.ask("who won the 2018 world cup?")
    assert not reply.answered and reply.answer is None and reply.excerpt is None
    assert len(reply.suggestions) == 3
    assert "won't guess" in reply.message


def test_a_decline_says_when_the_source_knows_the_person_but_not_the_answer(answerer: Answerer) -> None:
    # the engine found Musa's fact, but it gives no death: say the source is silent on it
    silent = answerer.ask("when did musa ibn abi khalid die")
    assert not silent.answered
    assert "mention Musa ibn Abi Khalid but don't say that" in silent.message
    assert silent.suggestions  # and still offers what it does know
    # a question about nothing in the source gets the plain decline
    unknown = answerer.ask("what is the capital of france")
    assert not unknown.answered and "couldn't find that" in unknown.message


def test_follow_up_pronoun_uses_the_previous_answer(answerer: Answerer) -> None:
    conv = Conversation()
    first = answerer.ask("who led the revolt at first?", conv)
    assert first.answered
    follow = answerer.ask("what happened to him?", conv)
    assert follow.answered and follow.fact_id != first.fact_id
    assert "maysara-al-matghari" in answerer.pack.facts[follow.fact_id or ""].entity_ids


def test_he_is_the_person_the_user_asked_about(answerer: Answerer) -> None:
    """The answer about Kulthum's appointment names the caliph first; "he" is still Kulthum."""
    conv = Conversation()
    first = answerer.ask("who was kulthum ibn iyad", conv)
    assert first.answered and "kulthum-ibn-iyad" in answerer.pack.facts[first.fact_id or ""].entity_ids
    death = answerer.ask("when did he die?", conv)
    assert death.answered and death.followup == "context"
    assert "kulthum-ibn-iyad" in answerer.pack.facts[death.fact_id or ""].entity_ids
    assert death.date is not None
    # a new question about no one in particular: "he" is someone in that answer again
    answerer.ask("what happened at tangier in 740", conv)
    assert conv.people == ()


def test_he_after_an_answer_naming_no_one_asks_who(answerer: Answerer) -> None:
    """The Battle of Bagdoura answer names armies, no person: "he" is not guessed at."""
    conv = Conversation()
    battle = answerer.ask("what was the battle of bagdoura", conv)
    assert battle.answered
    named = answerer.pack.facts[battle.fact_id or ""].who
    assert not [e for e in named if answerer._entity_kind(e) == "person"]
    reply = answerer.ask("when did he die?", conv)
    assert not reply.answered
    assert reply.message.startswith("Who do you mean by “he”?")
    assert "Kulthum ibn Iyad" in reply.message  # a person of the facts around that answer
    assert reply.suggestions, "offers the facts that introduce those people"
    for ref in reply.suggestions:
        fact = answerer.pack.facts[ref.fact_id]
        assert any(answerer._entity_kind(e) == "person" for e in fact.who)
    # naming the person then works as usual
    assert answerer.ask("when did kulthum die?", conv).answered


def test_what_happened_next_moves_along_the_story(answerer: Answerer) -> None:
    conv = Conversation()
    first = answerer.ask("when was the battle of the nobles?", conv)
    nxt = answerer.ask("what happened next?", conv)
    assert nxt.answered and nxt.followup == "next"
    _, expected = answerer.engine.neighbours(first.fact_id or "")
    assert expected is not None and nxt.fact_id == expected.id
    back = answerer.ask("and before that?", conv)
    assert back.fact_id == first.fact_id


def test_without_context_next_is_not_a_follow_up(answerer: Answerer) -> None:
    reply = answerer.ask("what happened next?", Conversation())
    assert reply.followup is None


def test_hostile_input_gets_a_reply_not_a_traceback(answerer: Answerer) -> None:
    for text in ("", "   ", "\x00\x1b[31m\u202e", "x" * 100_000, "من قاد ثورة البربر؟", "马伊萨拉是谁",
                 "<@123> @everyone", "?" * 500):  # fmt: skip
        reply = answerer.ask(text)
        assert isinstance(reply.answered, bool)
        assert len(reply.question) <= 500


def test_conversation_store_expires_and_is_bounded() -> None:
    store = ConversationStore(ttl=0.0, max_size=2)
    a = store.get(("c", 1))
    a.fact_id = "x"
    assert store.get(("c", 1)).fact_id is None  # expired at once with ttl=0
    for i in range(5):
        store.get(("c", i))
    assert len(store._items) == 2
