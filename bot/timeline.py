"""The timeline: dated facts in order, filtered by years given in either calendar."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.dates import YMD, julian_span_of_ah_year, julian_span_of_ce_year
from bot.knowledge.models import Fact, KnowledgePack

CALENDARS = ("ce", "ah", "both")
PAGE_SIZE = 8
_YEAR = re.compile(r"^\s*(\d{1,4})\s*(ah|h|ce|ad)?\s*$", re.IGNORECASE)


class TimelineError(ValueError):
    """A timeline request that cannot be served; the message is for the user."""


@dataclass(frozen=True, slots=True)
class YearBound:
    year: int
    calendar: str  # "ce" or "ah"

    def span(self) -> tuple[YMD, YMD]:
        if self.calendar == "ah":
            return julian_span_of_ah_year(self.year)
        return julian_span_of_ce_year(self.year)

    def __str__(self) -> str:
        return f"{self.year} {'AH' if self.calendar == 'ah' else 'CE'}"


def parse_year(text: str, default_calendar: str = "ce") -> YearBound:
    """'741', '741 CE', '123 AH', '123ah' -> a YearBound; anything else is a TimelineError."""
    m = _YEAR.match(text or "")
    if not m:
        raise TimelineError(f"“{text}” is not a year: use e.g. 741, 741 CE or 123 AH.")
    mark = (m[2] or "").lower()
    calendar = "ah" if mark in ("ah", "h") else "ce" if mark in ("ce", "ad") else default_calendar
    year = int(m[1])
    if not 1 <= year <= 2100:
        raise TimelineError(f"{year} is out of range.")
    return YearBound(year, "ah" if calendar == "ah" else "ce")


@dataclass(frozen=True, slots=True)
class TimelinePage:
    entries: list[Fact]
    page: int  # 0-based
    pages: int
    total: int
    label: str
    calendar: str


class Timeline:
    def __init__(self, pack: KnowledgePack) -> None:
        self.pack = pack

    def facts(self, start: YearBound | None = None, end: YearBound | None = None) -> list[Fact]:
        lo: YMD = start.span()[0] if start else (-9999, 1, 1)
        hi: YMD = end.span()[1] if end else (9999, 12, 31)
        if lo > hi:
            raise TimelineError(f"The timeline can't run from {start} back to {end}.")
        return [f for f in self.pack.dated_facts() if f.when is not None and f.when.overlaps(lo, hi)]

    def page(
        self,
        start: YearBound | None = None,
        end: YearBound | None = None,
        calendar: str = "both",
        page: int = 0,
        page_size: int = PAGE_SIZE,
    ) -> TimelinePage:
        if calendar not in CALENDARS:
            raise TimelineError(f"calendar must be one of {', '.join(CALENDARS)}")
        facts = self.facts(start, end)
        pages = max(1, -(-len(facts) // page_size))
        page = min(max(page, 0), pages - 1)
        label = "All dated events"
        if start or end:
            label = f"From {start or 'the beginning'} to {end or 'the end'}"
        return TimelinePage(
            facts[page * page_size : (page + 1) * page_size], page, pages, len(facts), label, calendar
        )

    @staticmethod
    def date_text(fact: Fact, calendar: str) -> str:
        when = fact.when
        if when is None:
            return ""
        if calendar == "ce":
            return when.ce
        if calendar == "ah":
            return when.ah
        return when.short

    def parse_args(self, arg: str) -> tuple[YearBound | None, YearBound | None, str]:
        """Console syntax: '[FROM] [TO] [ce|ah|both]'."""
        parts = arg.split()
        calendar = "both"
        # A last word "ce"/"ah"/"both" picks the calendar shown, unless it marks the year before
        # it ("741 ce", "123 ah").
        if parts and parts[-1].lower() in CALENDARS and (len(parts) == 1 or not parts[-2].isdigit()):
            calendar = parts.pop().lower()
        merged: list[str] = []
        for p in parts:  # "123 ah" -> "123ah"
            if merged and p.lower() in ("ah", "h", "ce", "ad"):
                merged[-1] += p
            else:
                merged.append(p)
        if len(merged) > 2:
            raise TimelineError("Usage: /timeline [FROM] [TO] [ce|ah|both]")
        default = "ah" if calendar == "ah" else "ce"
        bounds = [parse_year(p, default) for p in merged]
        start = bounds[0] if bounds else None
        end = bounds[1] if len(bounds) > 1 else start
        return start, end, calendar

    def render_text(self, start: YearBound | None, end: YearBound | None, calendar: str = "both") -> str:
        facts = self.facts(start, end)
        if not facts:
            return "No dated events in that range."
        lines = []
        for f in facts:
            lines.append(f"{self.date_text(f, calendar):<32} {f.title}")
        return "\n".join(lines)
