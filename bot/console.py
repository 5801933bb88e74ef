"""Plain-text rendering of replies and the interactive console chat (no Discord needed)."""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.answer import Answerer, Conversation, Reply
from bot.timeline import Timeline, TimelineError

WIDTH = 78


class Style:
    """ANSI colour when writing to a terminal, nothing otherwise (or with NO_COLOR set)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        return cls(stream.isatty() and not os.environ.get("NO_COLOR"))

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def quote(self, text: str) -> str:
        return self._wrap("3;36", text)

    def accent(self, text: str) -> str:
        return self._wrap("33", text)


def _fill(text: str, indent: str = "") -> str:
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def render_reply(reply: Reply, style: Style | None = None) -> str:
    """The console form of a reply: the same parts as the Discord embed, as text."""
    s = style or Style(False)
    lines: list[str] = []
    if reply.corrections:
        fixed = ", ".join(f"{a} → {b}" for a, b in reply.corrections.items())
        lines.append(s.dim(f"(read as: {fixed})"))
    if not reply.answered:
        lines.append(_fill(reply.message))
        if reply.suggestions:
            lines.append("")
            lines.append(s.bold("Did you mean:"))
            for i, sug in enumerate(reply.suggestions, 1):
                lines.append(f"  {i}. {sug.title} — try “{sug.question}”")
        return "\n".join(lines)
    lines.append(s.bold(reply.title or ""))
    lines.append(_fill(reply.answer or ""))
    if reply.excerpt:
        lines.append("")
        lines.append(s.quote(_fill(f"“{reply.excerpt}”", "  > ")))
    if reply.date:
        lines.append("")
        lines.append(f"{s.accent('When:')} {reply.date.short}")
    if reply.source:
        lines.append(
            f"{s.accent('Source:')} {reply.source.title} ({reply.source.url}), {reply.source.licence}"
        )
    elif reply.origin == "guild":
        lines.append(f"{s.accent('Source:')} added by the moderators of this server")
    reading: dict[str, str] = {}  # url -> label, first label wins
    for label, url in [(e.name, e.link) for e in reply.entities] + [(lk.title, lk.url) for lk in reply.links]:
        if url and url not in reading:
            reading[url] = label
    if reading:
        lines.append(s.accent("Read more:"))
        for url, label in reading.items():
            lines.append(f"  - {label}: {url}")
    if reply.related:
        lines.append(s.accent("Ask next:"))
        for i, r in enumerate(reply.related, 1):
            lines.append(f"  {i}. {r.title} — “{r.question}”")
    return "\n".join(lines)


HELP = """\
Ask a question in plain words, for example:
  who started the revolt?    when was the battle of the nobles?    what happened in 741?
Follow-ups work too: "when did he die?", "what happened next?".
Commands:
  /timeline [FROM] [TO] [ce|ah|both]   dated facts in order (years in CE, or e.g. 123ah)
  /who NAME   /where PLACE              a person's or a place's card
  /about      sources, licence and counts
  /help       this text            /quit   leave (or Ctrl-D)
  1, 2, 3     ask the numbered suggestion or "ask next" item of the last reply"""


class ConsoleChat:
    """A read-eval-print loop over the same core the Discord bot uses."""

    def __init__(
        self,
        answerer: Answerer,
        out: TextIO = sys.stdout,
        style: Style | None = None,
        on_reply: Callable[[Reply, str], None] | None = None,
    ) -> None:
        self.answerer = answerer
        self.timeline = Timeline(answerer.pack)
        self.out = out
        self.style = style or Style.for_stream(out)
        self.conversation = Conversation()
        self.last: Reply | None = None
        self.on_reply = on_reply

    def banner(self) -> str:
        pack = self.answerer.pack
        return (
            f"{self.style.bold('Tarikh')} — {pack.info.name}: {len(pack.facts)} facts, "
            f"{len(pack.entities)} people, places and groups.\n"
            "Ask a question, or type /help. (No DISCORD_TOKEN set: this is the local console.)"
        )

    def handle(self, line: str) -> str | None:
        """One line of input to the text to print (None means quit)."""
        text = line.strip()
        if text.lower() in ("/quit", "/exit", "quit", "exit"):
            return None
        if not text:
            return "Type a question, or /help."
        if text.startswith("/"):
            return self._command(text)
        if text.isdigit() and self.last is not None:
            items = self.last.related if self.last.answered else self.last.suggestions
            n = int(text)
            if 1 <= n <= len(items):
                return self._show(self.answerer.show(items[n - 1], self.conversation), how="button")
        return self._show(self.answerer.ask(text, self.conversation), how="console")

    def _show(self, reply: Reply, how: str) -> str:
        self.last = reply
        if self.on_reply:
            self.on_reply(reply, how)
        return render_reply(reply, self.style)

    def _command(self, text: str) -> str:
        name, _, arg = text[1:].partition(" ")
        name = name.lower()
        arg = arg.strip()
        if name == "help":
            return HELP
        if name == "about":
            return render_about(self.answerer)
        if name == "timeline":
            try:
                return self.timeline.render_text(*self.timeline.parse_args(arg))
            except TimelineError as exc:
                return str(exc)
        if name in ("who", "where"):
            kinds = ("person", "group", "office") if name == "who" else ("place", "polity", "battle")
            found = self.answerer.entity_search(arg, kinds) if arg else []
            if not found:
                return f"I don't know anyone or anywhere called “{arg}”." if arg else f"Usage: /{name} NAME"
            return render_entity(self.answerer, found[0].id)
        if name == "ask":
            return self._ask(arg, how="console") if arg else "Usage: /ask QUESTION"
        return f"Unknown command /{name}. Type /help."

    def run(self, stdin: TextIO = sys.stdin) -> int:
        interactive = stdin.isatty()
        if interactive:
            _enable_readline()
        print(self.banner(), file=self.out)
        while True:
            try:
                line = input("\nyou> ") if interactive else stdin.readline()
            except (EOFError, KeyboardInterrupt):
                print(file=self.out)
                return 0
            if not interactive and line == "":
                return 0
            if not interactive:
                print(f"\nyou> {line.rstrip()}", file=self.out)
            result = self.handle(line)
            if result is None:
                return 0
            print(result, file=self.out)


def render_about(answerer: Answerer) -> str:
    from bot import __version__

    pack = answerer.pack
    lines = [f"Tarikh {__version__} — {pack.info.name}", pack.info.description, ""]
    lines.append(f"{len(pack.facts)} facts ({len(pack.dated_facts())} dated), {len(pack.entities)} entities.")
    for src in pack.sources.values():
        lines.append(f"Source: {src.title} — {src.url} ({src.licence})")
        if src.attribution:
            lines.append(f"  {src.attribution}")
    return "\n".join(line for line in lines if line is not None)


def render_entity(answerer: Answerer, eid: str) -> str:
    pack = answerer.pack
    ent = pack.entities[eid]
    lines = [f"{ent.name} ({ent.kind})", _fill(ent.description)]
    if ent.aliases:
        lines.append(f"Also written: {', '.join(ent.aliases[:12])}")
    if ent.when:
        lines.append(f"When: {ent.when.short}")
    if ent.link:
        lines.append(f"Read more: {ent.link}")
    facts = pack.facts_about(eid)
    if facts:
        lines.append(f"In {len(facts)} fact(s):")
        for f in facts[:8]:
            lines.append(f"  - {f.title}")
        if len(facts) > 8:
            lines.append(f"  … and {len(facts) - 8} more")
    return "\n".join(lines)


def _enable_readline() -> None:
    try:
        import readline
    except ImportError:  # Windows without pyreadline
        return
    history = Path.home() / ".tarikh_history"
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)
    import atexit

    def _save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(history)

    atexit.register(_save)
