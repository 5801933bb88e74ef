"""`python -m bot` (or `tarikh`): one command line with subcommands.

Exit codes: 0 success, 1 the work found a problem (invalid pack, failed check),
2 wrong usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

from bot import __version__
from bot.config import ConfigError, Settings

log = logging.getLogger("tarikh")

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "knowledge", None):
        settings = _replace(settings, knowledge=Path(args.knowledge))
    if getattr(args, "db", None):
        settings = _replace(settings, database=Path(args.db))
    return settings


def _replace(settings: Settings, **changes: object) -> Settings:
    from dataclasses import replace

    return replace(settings, **changes)  # type: ignore[arg-type]


def setup_logging(level: str) -> None:
    """discord.py's own log setup (coloured on a terminal), one format for everything."""
    import discord.utils

    discord.utils.setup_logging(level=getattr(logging, level, logging.INFO), root=True)


def _load_answerer(settings: Settings, err: TextIO):  # -> Answerer | None
    from bot.answer import Answerer
    from bot.knowledge import PackError, load_pack

    try:
        pack = load_pack(settings.knowledge)
    except PackError as exc:
        print(f"error: the knowledge pack in {settings.knowledge} is invalid:", file=err)
        for p in exc.problems:
            print(str(p), file=err)
        return None
    return Answerer(pack)


# --- subcommands --------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from bot.knowledge import validate_pack
    from bot.knowledge.coverage import coverage

    settings = _settings(args)
    pack, problems = validate_pack(settings.knowledge)
    for p in problems:
        print(str(p))
    if pack is None:
        print(f"{len(problems)} error(s) in {settings.knowledge}", file=sys.stderr)
        return EXIT_PROBLEM
    dated = len(pack.dated_facts())
    print(
        f"ok: {len(pack.facts)} facts ({dated} dated), {len(pack.entities)} entities, "
        f"{len(pack.sources)} source(s); 0 errors"
    )
    if args.coverage:
        status = EXIT_OK
        for cov in coverage(pack):
            print(
                f"coverage of source '{cov.source_id}': {cov.cited}/{len(cov.sentences)} "
                f"sentences cited ({cov.share:.1%})"
            )
            for sentence in cov.uncited:
                print(f"  uncited: {sentence}")
            if cov.share < args.min_coverage:
                print(f"coverage below {args.min_coverage:.0%}", file=sys.stderr)
                status = EXIT_PROBLEM
        return status
    return EXIT_OK


def _read_batch(path: str) -> list[str]:
    if path == "-":
        return sys.stdin.read().splitlines()
    return Path(path).read_text(encoding="utf-8").splitlines()


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.console import Style, render_reply

    settings = _settings(args)
    answerer = _load_answerer(settings, sys.stderr)
    if answerer is None:
        return EXIT_PROBLEM
    if args.batch:
        try:
            lines = _read_batch(args.batch)
        except OSError as exc:
            print(f"error: cannot read {args.batch}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        # The evaluation contract: exactly one JSON line per input line, in order.
        for line in lines:
            reply = answerer.ask(line)
            if args.json:
                print(json.dumps(reply.to_dict(), ensure_ascii=False), flush=False)
            else:
                print(render_reply(reply))
                print("-" * 40)
        sys.stdout.flush()
        return EXIT_OK
    question = " ".join(args.question)
    if not question.strip():
        print("error: give a question, e.g. python -m bot ask \"who started the revolt?\"", file=sys.stderr)
        return EXIT_USAGE
    reply = answerer.ask(question)
    if args.json:
        print(json.dumps(reply.to_dict(), ensure_ascii=False))
    else:
        print(render_reply(reply, Style.for_stream(sys.stdout)))
    return EXIT_OK


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.console import ConsoleChat

    settings = _settings(args)
    answerer = _load_answerer(settings, sys.stderr)
    if answerer is None:
        return EXIT_PROBLEM
    return ConsoleChat(answerer).run()


def cmd_start(args: argparse.Namespace) -> int:
    """`make run`: Discord when DISCORD_TOKEN is set, the console chat otherwise."""
    settings = _settings(args)
    if settings.discord_token:
        return cmd_run(args)
    return cmd_chat(args)


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.discord_token:
        print("error: DISCORD_TOKEN is not set (put it in .env or the environment).", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log_level)
    from bot.discord_app.runner import run_bot

    return run_bot(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Tarikh: answers history questions from a curated, cited fact base.",
    )
    parser.add_argument("--version", action="version", version=f"tarikh {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument(
            "--knowledge", metavar="DIR",
            help="knowledge pack folder (default: TARIKH_KNOWLEDGE or ./knowledge)",
        )  # fmt: skip
        return p

    p = add("validate", "check the knowledge pack and report every problem as FILE:LINE")
    p.add_argument("--coverage", action="store_true", help="also list source sentences no fact cites")
    p.add_argument(
        "--min-coverage", type=float, default=0.95, metavar="SHARE",
        help="with --coverage, fail below this share of cited sentences (default 0.95)",
    )  # fmt: skip
    p.set_defaults(func=cmd_validate)

    p = add("ask", "answer one question (or one per line with --batch)")
    p.add_argument("question", nargs="*", help="the question")
    p.add_argument("--json", action="store_true", help="print the reply object as one JSON line")
    p.add_argument("--batch", metavar="FILE", help="answer each line of FILE ('-' for stdin)")
    p.set_defaults(func=cmd_ask)

    p = add("chat", "talk to the bot in this terminal (no Discord needed)")
    p.set_defaults(func=cmd_chat)

    p = add("start", "run on Discord if DISCORD_TOKEN is set, else the console chat")
    p.add_argument("--db", metavar="PATH", help="SQLite database (default: TARIKH_DB or data/tarikh.db)")
    p.set_defaults(func=cmd_start)

    p = add("run", "run the Discord bot (needs DISCORD_TOKEN)")
    p.add_argument("--db", metavar="PATH", help="SQLite database (default: TARIKH_DB or data/tarikh.db)")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
