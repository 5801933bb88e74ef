"""UserCooldowns: discord.py's token buckets per user, idle buckets swept at most once a period."""

from __future__ import annotations

from bot.discord_app.cooldowns import UserCooldowns


def test_rate_per_user_and_retry_after() -> None:
    cd = UserCooldowns(2, 30.0)
    assert cd.update("a", 100.0) is None
    assert cd.update("a", 101.0) is None
    retry = cd.update("a", 102.0)
    assert retry is not None and 27.0 <= retry <= 28.0  # the window opened at 100
    assert cd.update("b", 102.0) is None  # per user
    assert cd.update("a", 131.0) is None  # a new window
    assert cd.cooldown().rate == 2 and cd.cooldown().per == 30.0


def test_idle_buckets_are_swept_once_a_period_not_on_every_use() -> None:
    cd = UserCooldowns(1, 10.0)
    for user in range(1000):
        cd.update(user, 100.0)
    assert len(cd) == 1000
    cd.update("late", 105.0)  # within the period: no sweep, nobody is idle yet anyway
    assert len(cd) == 1001
    cd.update("later", 111.0)  # a period on: the buckets whose tokens are all back are dropped
    assert len(cd) == 2  # "late" (used at 105) and "later"
    # a swept user starts afresh, exactly as if the bucket had been kept
    assert cd.update(7, 111.0) is None
    assert cd.update(7, 112.0) is not None
