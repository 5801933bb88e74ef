"""Deployment files (Dockerfile, .dockerignore, docker-compose.yml, .env.example) and `bot health`.

No Docker daemon is needed: the files are parsed and checked for the wiring that matters, and the
health command is run against heartbeat files and databases made here.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from dotenv import dotenv_values

from bot.cli import main
from bot.config import Settings
from bot.health import MAX_AGE, check_database, check_gateway
from bot.storage import open_storage

ROOT = Path(__file__).resolve().parent.parent
MINI_PACK = Path(__file__).parent / "fixtures" / "mini"


def settings_env_names() -> set[str]:
    """Every environment variable bot/config.py reads: env.get("X") and _int/_bool(env, "X")."""
    tree = ast.parse((ROOT / "bot" / "config.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, args = node.func, node.args
        if isinstance(func, ast.Attribute) and func.attr == "get" and getattr(func.value, "id", "") == "env":
            candidates = args[:1]
        elif len(args) >= 2 and isinstance(args[0], ast.Name) and args[0].id == "env":
            candidates = args[1:2]
        else:
            continue
        names |= {a.value for a in candidates if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return names


def test_the_settings_scan_finds_the_settings() -> None:
    names = settings_env_names()
    assert {"DISCORD_TOKEN", "TARIKH_DB", "TARIKH_COOLDOWN", "SHARD_IDS", "TARIKH_HEALTH_FILE"} <= names
    assert len(names) >= 15


# -- docker-compose.yml ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_bot_service(compose: dict[str, Any]) -> None:
    bot = compose["services"]["bot"]
    build = bot["build"]
    assert build == "." or (build["context"] == "." and build.get("dockerfile", "Dockerfile") == "Dockerfile")
    assert bot["env_file"] in (".env", [".env"])
    assert bot["restart"] == "unless-stopped"
    assert "tarikh-data:/data" in bot["volumes"]
    assert "tarikh-data" in compose["volumes"]
    # The database stays on the volume whatever .env says.
    assert bot["environment"]["TARIKH_DB"] == "/data/tarikh.db"
    assert bot["environment"]["TARIKH_HEALTH_FILE"].startswith("/data/")
    assert "profiles" not in bot  # starts with a plain `docker compose up`


def test_compose_healthcheck_logging_and_stop(compose: dict[str, Any]) -> None:
    bot = compose["services"]["bot"]
    health = bot["healthcheck"]
    assert health["test"] == ["CMD", "python", "-m", "bot", "health"]
    for key in ("interval", "timeout", "start_period"):
        assert re.fullmatch(r"\d+s", health[key]), key
    assert int(health["retries"]) >= 1
    assert bot["stop_grace_period"] == "15s"
    for service in compose["services"].values():
        logging = service["logging"]
        assert logging["driver"] == "json-file"
        assert re.fullmatch(r"\d+[kmg]", logging["options"]["max-size"])
        assert int(logging["options"]["max-file"]) >= 2


def test_compose_browse_profile_serves_the_database_read_only(compose: dict[str, Any]) -> None:
    browse = compose["services"]["browse"]
    assert browse["profiles"] == ["browse"]
    assert browse["image"].split(":")[0] == "datasetteproject/datasette"
    command = browse["command"]
    command = shlex.split(command) if isinstance(command, str) else command
    assert command[:2] == ["datasette", "serve"]
    assert "--immutable" in command and command[command.index("--immutable") + 1] == "/data/tarikh.db"
    assert command[command.index("-h") + 1] == "0.0.0.0" and command[command.index("-p") + 1] == "8001"
    assert browse["volumes"] == ["tarikh-data:/data:ro"]
    assert all(str(p).endswith(":8001") for p in browse["ports"])
    assert browse["depends_on"]["bot"]["condition"] == "service_healthy"


# -- Dockerfile and .dockerignore -------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def index_of(instructions: list[tuple[str, str]], keyword: str, pattern: str) -> int:
    for i, (kw, rest) in enumerate(instructions):
        if kw == keyword and re.search(pattern, rest):
            return i
    raise AssertionError(f"no {keyword} matching {pattern!r} in the Dockerfile")


def test_dockerfile_layers_user_volume_health_and_command() -> None:
    ins = dockerfile_instructions()
    assert ins[0] == ("FROM", "python:3.11-slim")
    deps_copy = index_of(ins, "COPY", r"^pyproject\.toml ")
    deps_install = index_of(ins, "RUN", r"pip install")
    code_copy = index_of(ins, "COPY", r"^bot/? ")
    assert deps_copy < deps_install < code_copy  # code changes don't reinstall the dependencies
    assert index_of(ins, "COPY", r"^knowledge/? ") > deps_install
    assert not any(kw == "COPY" and rest.split()[0] == "." for kw, rest in ins[:code_copy])

    users = [rest for kw, rest in ins if kw == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    cmd = index_of(ins, "CMD", r".")
    assert index_of(ins, "USER", r".") < cmd

    env = " ".join(rest for kw, rest in ins if kw == "ENV")
    assert "TARIKH_DB=/data/tarikh.db" in env and "TARIKH_KNOWLEDGE=/app/knowledge" in env
    index_of(ins, "COPY", r"^knowledge/? +\./knowledge/?$")  # baked in at /app/knowledge
    assert ("WORKDIR", "/app") in ins
    volume = next(rest for kw, rest in ins if kw == "VOLUME")
    assert json.loads(volume) == ["/data"] or volume == "/data"

    health = next(rest for kw, rest in ins if kw == "HEALTHCHECK")
    assert re.search(r'CMD \["python", "-m", "bot", "health"\]$|CMD python -m bot health$', health)
    assert json.loads(ins[cmd][1]) == [
        "python",
        "-m",
        "bot",
        "run",
    ]  # a container has no console to fall back to


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders wins."""
    parts = path.split("/")
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").strip("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        regex = re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, p) for p in prefixes):
            ignored = not negate
    return ignored


def test_dockerignore_sends_only_what_the_image_needs() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    for kept in ("pyproject.toml", "bot/cli.py", "bot/data/stopwords.txt", "knowledge/pack.yaml"):
        assert not dockerignored(kept, patterns), kept
    for dropped in (
        ".env",
        ".git/HEAD",
        ".venv/bin/python",
        "data/tarikh.db",
        "tests/test_deploy.py",
        "bot/__pycache__/cli.cpython-311.pyc",
        "tarikh.egg-info/PKG-INFO",
    ):
        assert dockerignored(dropped, patterns), dropped
    # Every COPY source of the Dockerfile is in the build context.
    for kw, rest in dockerfile_instructions():
        if kw == "COPY":
            for source in rest.split()[:-1]:
                assert not dockerignored(source.strip("/"), patterns), source
                assert (ROOT / source).exists(), source


# -- .env.example -------------------------------------------------------------------------------


ENV_EXAMPLE = ROOT / ".env.example"
ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    listed: dict[str, int] = {}
    for i, line in enumerate(lines):
        m = ASSIGNMENT.match(line.strip())
        if m:
            listed.setdefault(m.group(1), i)
    missing = settings_env_names() - set(listed)
    assert not missing, f".env.example does not mention {sorted(missing)}"
    for name, i in listed.items():
        j = i - 1  # walk up over the neighbouring settings to their comment
        while j >= 0 and ASSIGNMENT.match(lines[j].strip()):
            j -= 1
        assert j >= 0 and lines[j].startswith("# ") and len(lines[j]) > 8, f"{name} has no comment above it"


def test_env_example_holds_no_secret_and_only_defaults() -> None:
    values = dotenv_values(ENV_EXAMPLE)
    assert values.get("DISCORD_TOKEN") == ""
    assert not values.get("TARIKH_ID_SALT")
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert not re.search(r"[\w-]{23,}\.[\w-]{6,}\.[\w-]{27,}", text)  # anything shaped like a bot token
    for name, value in values.items():
        assert value is not None and len(value) <= 16, (name, value)
    # Used as .env (locally, or by compose's env_file) it changes nothing: every value is the default.
    assert Settings.from_env(dict(values), dotenv=False) == Settings.from_env({}, dotenv=False)  # type: ignore[arg-type]
    # The image sets the paths; an uncommented (even empty) one would override them.
    for name in ("TARIKH_DB", "TARIKH_KNOWLEDGE", "TARIKH_HEALTH_FILE"):
        assert name not in values, name


# -- python -m bot health -------------------------------------------------------------------------


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    path = tmp_path / "tarikh.db"
    storage = open_storage(path)
    await storage.open()  # the schema, as the bot makes it
    await storage.close()
    return path


def beat(path: Path, *, age: float = 1.0, **changes: Any) -> Path:
    state = {"connected": True, "latency": 0.042, "guilds": 3, "ts": time.time() - age, "pid": 1}
    state.update(changes)
    path.write_text(json.dumps(state), encoding="utf-8")
    return path


def health(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["health", "--knowledge", str(MINI_PACK), *args])
    return code, capsys.readouterr().out.splitlines()


def test_health_passes_with_a_fresh_heartbeat_and_a_writable_database(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heartbeat = beat(tmp_path / "health.json")
    code, lines = health(capsys, "--db", str(database))  # health.json next to the database: the default
    assert code == 0, lines
    assert [line.split()[:2] for line in lines] == [
        ["ok", "knowledge:"],
        ["ok", "database:"],
        ["ok", "gateway:"],
    ]
    assert "connected, 3 guild(s), latency 42 ms" in lines[2]
    # The write was rolled back.
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'health'").fetchone() is None
    # --heartbeat reads another file.
    code, lines = health(capsys, "--db", str(database), "--heartbeat", str(tmp_path / "elsewhere.json"))
    assert code == 1 and lines[2].startswith("FAIL  gateway: no heartbeat file")
    assert heartbeat.exists()


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, "no heartbeat file"),
        ({"age": MAX_AGE + 5}, "old"),
        ({"connected": False}, "not connected"),
        ({"connected": False, "stopped": True}, "the bot stopped"),
        ("not json", "unreadable"),
        ({"ts": "yesterday"}, "unreadable"),
    ],
)
def test_health_fails_without_a_live_heartbeat(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], state: Any, expected: str
) -> None:
    path = tmp_path / "health.json"
    if isinstance(state, dict):
        beat(path, **state)
    elif isinstance(state, str):
        path.write_text(state, encoding="utf-8")
    check = check_gateway(Settings(database=database))
    assert not check.ok and expected in check.detail, check
    code, lines = health(capsys, "--db", str(database))
    assert code == 1
    assert lines[1].startswith("ok  ") and lines[2].startswith("FAIL  gateway: ")


def test_health_fails_on_an_invalid_pack(
    database: Path, tmp_path: Path, mini_pack_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    beat(tmp_path / "health.json")
    (mini_pack_dir / "pack.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    code = main(["health", "--knowledge", str(mini_pack_dir), "--db", str(database)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1 and lines[0].startswith("FAIL  knowledge: ") and "problem(s)" in lines[0]


def test_health_fails_when_the_database_cannot_take_a_write(database: Path, tmp_path: Path) -> None:
    def fails(path: Path, expected: str, timeout: float = 5.0) -> None:
        check = check_database(Settings(database=path), timeout=timeout)
        assert not check.ok and expected in check.detail, check

    missing = tmp_path / "nope" / "tarikh.db"
    fails(missing, "does not exist")
    assert not missing.exists() and not missing.parent.exists()  # the check creates nothing

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    fails(garbage, "cannot write")

    empty_schema = tmp_path / "other.db"
    empty_schema.write_bytes(b"")  # a valid, empty SQLite database
    fails(empty_schema, "no such table: meta")

    # Another writer holds the lock for longer than the check waits.
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        fails(database, "locked", timeout=0.2)
        assert time.monotonic() - started < 2
        other.execute("ROLLBACK")
    assert check_database(Settings(database=database)).ok

    if os.geteuid() != 0:  # root writes to read-only files anyway
        database.chmod(0o444)
        try:
            fails(database, "readonly")
        finally:
            database.chmod(0o644)


def test_health_paths_follow_the_settings(tmp_path: Path) -> None:
    assert Settings(database=Path("/data/tarikh.db")).heartbeat_path == Path("/data/health.json")
    assert Settings(database="sqlite:////srv/t.db").heartbeat_path == Path("/srv/health.json")  # type: ignore[arg-type]
    env = {"TARIKH_DB": "/data/tarikh.db", "TARIKH_HEALTH_FILE": str(tmp_path / "hb.json")}
    assert Settings.from_env(env, dotenv=False).heartbeat_path == tmp_path / "hb.json"
    assert Settings.from_env({"TARIKH_HEALTH_FILE": " "}, dotenv=False).health_file is None
    assert Settings().heartbeat_path == Path("data/health.json")
