"""`python -m bot health`: is the running bot well? For Docker's HEALTHCHECK and for people.

Three checks, one line each: the knowledge pack loads, the database takes a write (rolled
back), and the gateway is connected -- read from the heartbeat file the running bot rewrites
every 15 s (``bot/discord_app/heartbeat.py``). Exit status 0 when all pass, 1 otherwise.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TextIO

from bot.config import Settings

MAX_AGE = 60.0  # seconds: an older heartbeat means the bot is stuck or gone


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def check_pack(settings: Settings) -> Check:
    from bot.knowledge import validate_pack

    pack, problems = validate_pack(settings.knowledge)
    if pack is None:
        first = f"; first: {problems[0]}" if problems else ""
        return Check("knowledge", False, f"{len(problems)} problem(s) in {settings.knowledge}{first}")
    return Check("knowledge", True, f"{len(pack.facts)} facts in {settings.knowledge}")


def shown_database(settings: Settings) -> str:
    """The database as it may be printed: a PostgreSQL URL without its user and password."""
    target = str(settings.storage_target)
    if "://" in target and "@" in target:
        scheme, rest = target.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return target


def check_database(settings: Settings, timeout: float = 5.0) -> Check:
    from bot.storage import check_writable

    try:
        problem = check_writable(settings.storage_target, timeout)
    except ValueError as exc:
        problem = str(exc)
    if problem:
        return Check("database", False, problem)
    return Check("database", True, f"{shown_database(settings)} is writable")


def check_gateway(settings: Settings, max_age: float = MAX_AGE, now: float | None = None) -> Check:
    path = settings.heartbeat_path
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        ts = float(state["ts"])
    except FileNotFoundError:
        return Check("gateway", False, f"no heartbeat file {path} (is the bot running?)")
    except (OSError, ValueError, TypeError, KeyError) as exc:
        return Check("gateway", False, f"unreadable heartbeat file {path}: {exc!r}")
    age = (time.time() if now is None else now) - ts
    if age > max_age:
        return Check(
            "gateway", False, f"heartbeat {path} is {age:.0f} s old (> {max_age:.0f} s): bot stuck or gone"
        )
    if state.get("connected") is not True:
        why = "the bot stopped" if state.get("stopped") else "not connected to the Discord gateway"
        return Check("gateway", False, f"{why} ({age:.0f} s ago)")
    latency = state.get("latency")
    shown = f"{latency * 1000:.0f} ms" if isinstance(latency, int | float) else "unknown"
    return Check(
        "gateway", True, f"connected, {state.get('guilds', '?')} guild(s), latency {shown}, {age:.0f} s ago"
    )


def run_checks(settings: Settings) -> list[Check]:
    return [check_pack(settings), check_database(settings), check_gateway(settings)]


def report(checks: list[Check], out: TextIO) -> int:
    for check in checks:
        print(check.line(), file=out)
    return 0 if all(c.ok for c in checks) else 1
