"""The console chat: same replies as Discord, commands, odd input."""

import io

from bot.answer import Answerer
from bot.console import ConsoleChat, Style


def chat(answerer: Answerer) -> ConsoleChat:
    return ConsoleChat(answerer, out=io.StringIO(), style=Style(False))


def test_question_and_follow_up(answerer: Answerer) -> None:
    c = chat(answerer)
    first = c.handle("who led the revolt at first?")
    assert first and "Maysara" in first and "> “" in first and "When: 740 CE · 122–123 AH" in first
    nxt = c.handle("what happened next?")
    assert nxt and nxt != first


def test_numbered_item_asks_the_suggestion(answerer: Answerer) -> None:
    c = chat(answerer)
    c.handle("tell me about the price of bread in paris")
    assert c.last is not None and not c.last.answered and c.last.suggestions
    offered = c.last.suggestions[0]
    out = c.handle("1")
    assert out and c.last.answered and c.last.fact_id == offered.fact_id
    assert c.last.title in out
    # "ask next" items of an answer work the same way
    assert c.last.related
    nxt = c.last.related[0]
    c.handle("1")
    assert c.last.fact_id == nxt.fact_id


def test_commands(answerer: Answerer) -> None:
    c = chat(answerer)
    assert "Commands:" in (c.handle("/help") or "")
    assert "CC BY-SA 4.0" in (c.handle("/about") or "")
    assert "Maysara al-Matghari (person)" in (c.handle("/who maisara") or "")
    assert "Kairouan" in (c.handle("/where kairwan") or "")
    timeline = c.handle("/timeline 741ce 741ce ce") or ""
    assert "741 CE" in timeline and "AH" not in timeline
    assert "not a year" in (c.handle("/timeline abc") or "")
    assert "Unknown command" in (c.handle("/frobnicate") or "")
    assert c.handle("/quit") is None


def test_odd_input_never_raises(answerer: Answerer) -> None:
    c = chat(answerer)
    for text in ("", "\x00\x07", "x" * 100_000, "ثورة البربر", "/who", "/timeline 9999999"):
        assert isinstance(c.handle(text), str)


def test_run_reads_until_eof(answerer: Answerer) -> None:
    out = io.StringIO()
    c = ConsoleChat(answerer, out=out, style=Style(False))
    assert c.run(io.StringIO("who was balj?\n")) == 0
    assert "Balj" in out.getvalue()
