"""Per-user cooldowns whose cost does not grow with the number of users."""

from __future__ import annotations

import time
from collections.abc import Hashable

from discord.app_commands import Cooldown


class UserCooldowns:
    """``rate`` uses per ``per`` seconds for each key (a user id), with discord.py's token buckets.

    discord.py's own mappings (``app_commands.checks.dynamic_cooldown``, ``commands.CooldownMapping``)
    look at every bucket on every use to drop the idle ones: linear in the number of recent users,
    for every question. Here idle buckets are dropped at most once a period, so a use costs O(1)
    (amortised), and the buckets belong to one bot, not to the module.
    """

    def __init__(self, rate: int, per: float) -> None:
        self.rate = rate
        self.per = per
        self._buckets: dict[Hashable, Cooldown] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._buckets)

    def update(self, key: Hashable, now: float | None = None) -> float | None:
        """Count one use by ``key``: None if allowed, else the seconds until it would be."""
        now = time.time() if now is None else now
        if now >= self._next_sweep:
            self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Cooldown(self.rate, self.per)
        return bucket.update_rate_limit(now)

    def cooldown(self) -> Cooldown:
        """A bucket describing the limit (for ``app_commands.CommandOnCooldown``)."""
        return Cooldown(self.rate, self.per)

    def _sweep(self, now: float) -> None:
        # A bucket with all its tokens back behaves exactly like a new one: forget it.
        idle = [key for key, bucket in self._buckets.items() if bucket.get_tokens(now) >= self.rate]
        for key in idle:
            del self._buckets[key]
        self._next_sweep = now + self.per
