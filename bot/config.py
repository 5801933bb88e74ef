"""One settings object, read from the environment (and a `.env` file), with working defaults."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_KNOWLEDGE = PACKAGE_DIR.parent / "knowledge"


class ConfigError(ValueError):
    """A setting with a value that cannot be used; the message names the variable."""


def _int(env: dict[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _cooldown(env: dict[str, str]) -> tuple[int, float]:
    raw = env.get("TARIKH_COOLDOWN", "").strip() or "5/30"
    try:
        rate, per = raw.split("/")
        parsed = int(rate), float(per)
    except ValueError:
        msg = f"TARIKH_COOLDOWN must look like 5/30 (5 questions per 30 s), not {raw!r}"
        raise ConfigError(msg) from None
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ConfigError("TARIKH_COOLDOWN needs a positive rate and period")
    return parsed


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be 0 or more seconds, not {raw!r}")
    return value


def _database_url(env: dict[str, str]) -> str | None:
    """TARIKH_DATABASE_URL: sqlite:///path or postgresql://... (wins over TARIKH_DB)."""
    url = env.get("TARIKH_DATABASE_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ConfigError("TARIKH_DATABASE_URL must start with sqlite:/// or postgresql://")
    return url


def _shard_ids(env: dict[str, str]) -> list[int] | None:
    raw = env.get("SHARD_IDS", "").strip()
    if not raw:
        return None
    ids: list[int] = []
    try:
        for part in raw.split(","):
            if "-" in part:
                a, b = part.split("-")
                ids.extend(range(int(a), int(b) + 1))
            else:
                ids.append(int(part))
    except ValueError:
        raise ConfigError(f"SHARD_IDS must look like 0-3 or 0,2,4, not {raw!r}") from None
    return ids


@dataclass(frozen=True)
class Settings:
    discord_token: str | None = field(default=None, repr=False)
    guild_id: int | None = None
    database: Path = Path("data/tarikh.db")
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    knowledge: Path = DEFAULT_KNOWLEDGE
    log_level: str = "INFO"
    api_base: str | None = None
    gateway_url: str | None = None
    store_raw_ids: bool = False
    id_salt: str | None = field(default=None, repr=False)
    retention_days: int = 365
    cooldown_rate: int = 5
    cooldown_per: float = 30.0
    shard_count: int | None = None
    shard_ids: list[int] | None = None
    owner_ids: tuple[int, ...] = ()
    health_file: Path | None = None  # None: health.json next to the database
    pack_poll: float = 15.0  # seconds between checks for a reload by another process (0: never)

    @property
    def storage_target(self) -> str | Path:
        """What open_storage gets: TARIKH_DATABASE_URL when set, else the SQLite path TARIKH_DB."""
        if self.database_url and not self.database_url.startswith("sqlite:///"):
            return self.database_url
        if self.database_url:
            return Path(self.database_url[len("sqlite:///") :])
        return self.database

    @property
    def heartbeat_path(self) -> Path:
        """Where the running bot writes its heartbeat and `python -m bot health` reads it."""
        if self.health_file is not None:
            return self.health_file
        db = str(self.database)
        if db.startswith("sqlite:///"):
            db = db[len("sqlite:///") :]
        return Path(db).parent / "health.json"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        if env is None:
            if dotenv:
                load_dotenv(override=False)
            env = dict(os.environ)
        rate, per = _cooldown(env)
        level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {level!r}")
        owners = env.get("TARIKH_OWNER_IDS", "").replace(",", " ").split()
        try:
            owner_ids = tuple(int(x) for x in owners)
        except ValueError:
            raise ConfigError("TARIKH_OWNER_IDS must be Discord user ids separated by commas") from None
        health = env.get("TARIKH_HEALTH_FILE", "").strip()
        return cls(
            discord_token=env.get("DISCORD_TOKEN", "").strip() or None,
            guild_id=_int(env, "DISCORD_GUILD_ID", None),
            database=Path(env.get("TARIKH_DB", "").strip() or "data/tarikh.db"),
            database_url=_database_url(env),
            knowledge=Path(env.get("TARIKH_KNOWLEDGE", "").strip() or DEFAULT_KNOWLEDGE),
            log_level=level,
            api_base=env.get("DISCORD_API_BASE", "").strip() or None,
            gateway_url=env.get("DISCORD_GATEWAY_URL", "").strip() or None,
            store_raw_ids=_bool(env, "TARIKH_STORE_RAW_IDS", False),
            id_salt=env.get("TARIKH_ID_SALT", "").strip() or None,
            retention_days=_int(env, "TARIKH_RETENTION_DAYS", 365) or 0,
            cooldown_rate=rate,
            cooldown_per=per,
            shard_count=_int(env, "SHARD_COUNT", None),
            shard_ids=_shard_ids(env),
            owner_ids=owner_ids,
            health_file=Path(health) if health else None,
            pack_poll=_seconds(env, "TARIKH_PACK_POLL", 15.0),
        )
