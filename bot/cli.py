"""`python -m bot` (or `tarikh`): one command line with subcommands.

Exit codes: 0 success, 1 the work found a problem (invalid pack, failed check),
2 wrong usage or configuration.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
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
    """discord.py's own log setup, one format for everything: coloured on a terminal only.

    discord.py also colours when it detects Docker, which fills `docker logs` and log files
    with escape codes; plain text there, and wherever NO_COLOR is set.
    """
    import discord.utils

    options: dict[str, logging.Formatter] = {}
    if os.environ.get("NO_COLOR") or not sys.stderr.isatty():
        options["formatter"] = logging.Formatter(
            "[{asctime}] [{levelname:<8}] {name}: {message}", "%Y-%m-%d %H:%M:%S", style="{"
        )
    discord.utils.setup_logging(level=getattr(logging, level, logging.INFO), root=True, **options)


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
        print('error: give a question, e.g. python -m bot ask "who started the revolt?"', file=sys.stderr)
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


def cmd_sync(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.discord_token:
        print("error: DISCORD_TOKEN is not set.", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log_level)
    from bot.discord_app.runner import sync_commands

    guild = args.guild if args.guild is not None else None
    return sync_commands(settings, guild)


def _client_id_from_token(token: str) -> int | None:
    """A bot token starts with the bot's user id in base64 (the application id for new apps)."""
    import base64
    import binascii

    head = token.split(".", 1)[0]
    try:
        return int(base64.b64decode(head + "=" * (-len(head) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def cmd_invite(args: argparse.Namespace) -> int:
    settings = _settings(args)
    client_id = args.client_id
    if client_id is None and settings.discord_token:
        client_id = _client_id_from_token(settings.discord_token)
    if client_id is None:
        print(
            "error: give --client-id (the Application ID from the Discord developer portal) "
            "or set DISCORD_TOKEN",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bot.discord_app.runner import invite_url

    print(invite_url(client_id))
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from bot.storage import open_storage

    settings = _settings(args)
    if not Path(str(settings.database)).exists():
        print(f"no query log yet at {settings.database}")
        return EXIT_OK

    async def read():
        storage = open_storage(settings.database)
        await storage.open()
        try:
            since = time.time() - args.days * 86400 if args.days else None
            return await storage.stats(since=since, limit=args.top)
        finally:
            await storage.close()

    stats = asyncio.run(read())
    print(f"questions: {stats.total}   answered: {stats.answered} ({stats.answer_rate:.1%})")
    print(f"feedback: {stats.helpful} helpful, {stats.not_helpful} not helpful")
    print("\nmost asked:")
    for row in stats.top_questions:
        print(f"  {row.count:5d}  {row.question}")
    print("\nmost asked and not answered (gaps to fill):")
    for row in stats.top_unanswered:
        print(f"  {row.count:5d}  {row.question}")
    return EXIT_OK


def cmd_health(args: argparse.Namespace) -> int:
    """For Docker's HEALTHCHECK: pack loads, database writable, gateway connected (heartbeat file)."""
    from bot.health import report, run_checks

    settings = _settings(args)
    if args.heartbeat:
        settings = _replace(settings, health_file=Path(args.heartbeat))
    return report(run_checks(settings), sys.stdout)


def cmd_migrate(args: argparse.Namespace) -> int:
    import asyncio

    from bot.storage.migrate import MigrationError, migrate_sqlite_to_postgres

    settings = _settings(args)
    if not args.to.startswith(("postgres://", "postgresql://")):
        print("error: --to must be a postgresql:// URL", file=sys.stderr)
        return EXIT_USAGE
    source = Path(args.source) if args.source else settings.database
    try:
        counts = asyncio.run(migrate_sqlite_to_postgres(source, args.to))
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    except OSError as exc:
        print(f"error: cannot reach PostgreSQL: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    for c in counts:
        print(f"{c.table:15} {c.source:8d} -> {c.destination:8d}  {'ok' if c.ok else 'MISMATCH'}")
    if all(c.ok for c in counts):
        print("every row accounted for; set TARIKH_DATABASE_URL to the new database")
        return EXIT_OK
    return EXIT_PROBLEM


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
            "--knowledge",
            metavar="DIR",
            help="knowledge pack folder (default: TARIKH_KNOWLEDGE or ./knowledge)",
        )
        return p

    p = add("validate", "check the knowledge pack and report every problem as FILE:LINE")
    p.add_argument("--coverage", action="store_true", help="also list source sentences no fact cites")
    p.add_argument(
        "--min-coverage",
        type=float,
        default=0.95,
        metavar="SHARE",
        help="with --coverage, fail below this share of cited sentences (default 0.95)",
    )
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

    p = add("sync", "register the slash commands with Discord (globally, or to one guild)")
    p.add_argument("--guild", type=int, metavar="ID", help="sync to this guild only (instant)")
    p.set_defaults(func=cmd_sync)

    p = add("invite", "print the link that adds the bot to a server")
    p.add_argument("--client-id", type=int, metavar="ID", help="application id (default: from DISCORD_TOKEN)")
    p.set_defaults(func=cmd_invite)

    p = add("stats", "answer rate, top questions and the most-asked unanswered questions")
    p.add_argument("--db", metavar="PATH", help="SQLite database (default: TARIKH_DB or data/tarikh.db)")
    p.add_argument("--days", type=int, default=0, help="only the last N days (default: all)")
    p.add_argument("--top", type=int, default=10, help="how many questions to list (default 10)")
    p.set_defaults(func=cmd_stats)

    p = add("migrate", "copy the SQLite database into PostgreSQL and verify every table's row count")
    p.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host:port/database")
    p.add_argument("--from", dest="source", metavar="PATH", help="SQLite file (default: TARIKH_DB)")
    p.set_defaults(func=cmd_migrate)

    p = add("health", "check the running bot: pack loads, database writable, gateway connected")
    p.add_argument("--db", metavar="PATH", help="SQLite database (default: TARIKH_DB or data/tarikh.db)")
    p.add_argument(
        "--heartbeat",
        metavar="FILE",
        help="the running bot's heartbeat file (default: TARIKH_HEALTH_FILE or health.json by the database)",
    )
    p.set_defaults(func=cmd_health)
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
