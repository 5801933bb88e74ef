"""Shared fixtures: the shipped pack (loaded once) and a copy of the tiny test pack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.config import DEFAULT_KNOWLEDGE
from bot.knowledge import KnowledgePack, load_pack

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def pack() -> KnowledgePack:
    return load_pack(DEFAULT_KNOWLEDGE)


@pytest.fixture(scope="session")
def answerer(pack: KnowledgePack) -> Answerer:
    return Answerer(pack)


@pytest.fixture
def mini_pack_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/mini, for tests that break it on purpose."""
    dest = tmp_path / "mini"
    shutil.copytree(FIXTURES / "mini", dest)
    return dest


# --- PostgreSQL (a real server the tests start themselves) -----------------------------------


@pytest.fixture(scope="session")
def pg_server():
    from pgserver import PostgresServer, find_bin_dir

    if find_bin_dir() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does this)")
    server = PostgresServer().start()
    yield server
    server.stop()


_pg_counter = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the test server."""
    return pg_server.create_database(f"t{next(_pg_counter)}")


@pytest.fixture(params=["sqlite", "postgres"])
def storage_target(request, tmp_path: Path):
    """Where a storage test writes: a SQLite file, then a PostgreSQL database (same tests)."""
    if request.param == "sqlite":
        return tmp_path / "t.db"
    return request.getfixturevalue("pg_url")
