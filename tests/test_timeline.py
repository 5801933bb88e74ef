"""Timeline filtering in either calendar."""

import pytest

from bot.timeline import Timeline, TimelineError, YearBound, parse_year


def test_parse_year() -> None:
    assert parse_year("741") == YearBound(741, "ce")
    assert parse_year("123 AH") == YearBound(123, "ah")
    assert parse_year("123ah") == YearBound(123, "ah")
    assert parse_year("741", "ah") == YearBound(741, "ah")
    with pytest.raises(TimelineError):
        parse_year("abc")


def test_facts_in_order_and_in_range(pack) -> None:
    tl = Timeline(pack)
    facts = tl.facts(YearBound(741, "ce"), YearBound(741, "ce"))
    assert facts
    assert [f.when.sort_key for f in facts] == sorted(f.when.sort_key for f in facts)
    assert all(f.when.overlaps((741, 1, 1), (741, 12, 31)) for f in facts)


def test_hijri_range_matches_julian_span(pack) -> None:
    tl = Timeline(pack)
    ah = {f.id for f in tl.facts(YearBound(125, "ah"), YearBound(125, "ah"))}
    assert ah
    for fid in ah:
        lo, hi = pack.facts[fid].when.ah_years
        assert lo <= 125 <= hi


def test_backwards_range_is_refused(pack) -> None:
    with pytest.raises(TimelineError, match="back to"):
        Timeline(pack).facts(YearBound(743, "ce"), YearBound(740, "ce"))


def test_pages(pack) -> None:
    tl = Timeline(pack)
    first = tl.page(None, None, "both", 0, page_size=5)
    assert first.pages > 1 and len(first.entries) == 5
    last = tl.page(None, None, "both", 10_000, page_size=5)
    assert last.page == first.pages - 1
