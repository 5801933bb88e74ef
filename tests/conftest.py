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
