"""The knowledge pack: models, loading and validation (no Discord here)."""

from bot.knowledge.loader import PackError, Problem, load_pack, validate_pack
from bot.knowledge.models import Entity, Fact, KnowledgePack, Link, PackInfo, Source

__all__ = [
    "Entity",
    "Fact",
    "KnowledgePack",
    "Link",
    "PackError",
    "PackInfo",
    "Problem",
    "Source",
    "load_pack",
    "validate_pack",
]
