"""Dates: EDTF strings (Julian calendar) rendered in the Common Era and the Hijri calendar.

Facts carry `when` as EDTF (Extended Date/Time Format) exactly as the source gives it,
uncertainty included: ``0740``, ``0741-10~``, ``0742-21`` (spring), ``0739/0743``.
Hijri years are computed here with convertdate's arithmetical Islamic calendar, never typed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from convertdate import islamic, julian
from edtf import parse_edtf

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SEASONS = {21: "spring", 22: "summer", 23: "autumn", 24: "winter"}
_SIDE = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2}))?)?(?P<q>[?~%])?$")

YMD = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class DateInfo:
    """A parsed `when`: its bounds in the Julian calendar and its text in CE and AH."""

    edtf: str
    start: YMD
    end: YMD
    ce: str
    ah: str

    @property
    def text(self) -> str:
        """E.g. ``740 CE (122–123 AH)``."""
        return f"{self.ce} ({self.ah})"

    @property
    def short(self) -> str:
        """E.g. ``740 CE · 122–123 AH`` (the embed field)."""
        return short_text(self.ce, self.ah)

    @property
    def sort_key(self) -> tuple[YMD, YMD]:
        return (self.start, self.end)

    @property
    def ah_years(self) -> tuple[int, int]:
        return hijri_year(self.start), hijri_year(self.end)

    def overlaps(self, start: YMD, end: YMD) -> bool:
        """True when this date's span meets the Julian span ``start``..``end``."""
        return self.start <= end and start <= self.end


def short_text(ce: str, ah: str) -> str:
    """The one-line form of a date in both calendars: ``740 CE · 122–123 AH``."""
    return f"{ce} · {ah}"


class DateError(ValueError):
    """A `when` value that is not an EDTF date this project understands."""


def hijri_year(date: YMD) -> int:
    """The Hijri year in which a Julian date falls."""
    return int(islamic.from_jd(julian.to_jd(*date))[0])


def hijri_date(date: YMD) -> YMD:
    y, m, d = islamic.from_jd(julian.to_jd(*date))
    return int(y), int(m), int(d)


def julian_span_of_ah_year(year: int) -> tuple[YMD, YMD]:
    """First and last Julian day of a Hijri year."""
    first = julian.from_jd(islamic.to_jd(year, 1, 1))
    last = julian.from_jd(islamic.to_jd(year + 1, 1, 1) - 1)
    return (tuple(int(x) for x in first), tuple(int(x) for x in last))  # type: ignore[return-value]


def julian_span_of_ce_year(year: int) -> tuple[YMD, YMD]:
    return (year, 1, 1), (year, 12, 31)


def _side_text(side: str) -> tuple[str, str]:
    """Human text of one EDTF side and its qualifier prefix/suffix marker."""
    m = _SIDE.match(side)
    if not m:
        raise DateError(f"'{side}' is not a year, month, day or season")
    year = int(m["year"])
    text = str(year)
    if m["month"]:
        month = int(m["month"])
        if month in SEASONS:
            text = f"{SEASONS[month]} {year}"
        elif 1 <= month <= 12:
            text = f"{MONTHS[month - 1]} {year}"
            if m["day"]:
                text = f"{int(m['day'])} {text}"
        else:
            raise DateError(f"month {month:02d} is neither a month (01-12) nor a season (21-24)")
    return text, m["q"] or ""


def _qualify(text: str, q: str) -> str:
    if q == "~":
        return f"c. {text}"
    if q == "?":
        return f"{text}?"
    if q == "%":
        return f"c. {text}?"
    return text


def _ah_text(start: YMD, end: YMD, q: str) -> str:
    a, b = hijri_year(start), hijri_year(end)
    years = str(a) if a == b else f"{a}–{b}"
    # Uncertainty ("?") is about the event, already shown on the CE side; approximation carries over.
    return _qualify(f"{years} AH", "~" if q == "~" else "")


_SEASON_MONTHS = {21: (3, 5), 22: (6, 8), 23: (9, 11), 24: (12, 12)}  # as the edtf library reads them


def _month_days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 else 28  # Julian leap years
    return 30 if month in (4, 6, 9, 11) else 31


def _fast_bounds(side: str) -> tuple[YMD, YMD] | None:
    """Bounds of the common forms (year, month, day, season, with ?~%) without a full parse."""
    m = _SIDE.match(side)
    if not m:
        return None
    year = int(m["year"])
    if not m["month"]:
        return (year, 1, 1), (year, 12, 31)
    month = int(m["month"])
    if month in _SEASON_MONTHS and not m["day"]:
        first, last = _SEASON_MONTHS[month]
        return (year, first, 1), (year, last, _month_days(year, last))
    if not 1 <= month <= 12:
        return None
    if not m["day"]:
        return (year, month, 1), (year, month, _month_days(year, month))
    day = int(m["day"])
    if not 1 <= day <= _month_days(year, month):
        return None
    return (year, month, day), (year, month, day)


def _bounds(value: str, sides: list[str]) -> tuple[YMD, YMD]:
    fast = [_fast_bounds(s) for s in sides]
    if all(fast):
        return fast[0][0], fast[-1][1]  # type: ignore[index]
    try:  # anything beyond the common forms: the full EDTF grammar (slow, but rare)
        parsed = parse_edtf(value)
        lo, hi = parsed.lower_strict(), parsed.upper_strict()
    except Exception as exc:  # the edtf library raises several exception types
        raise DateError(f"'{value}' is not valid EDTF ({exc.__class__.__name__})") from None
    return (lo.tm_year, lo.tm_mon, lo.tm_mday), (hi.tm_year, hi.tm_mon, hi.tm_mday)


def parse_when(value: str) -> DateInfo:
    """Parse an EDTF date or interval; raise DateError with a reason when it is not valid."""
    if not isinstance(value, str):
        raise DateError(f'must be a quoted EDTF string such as "0740", not {value!r}')
    return _parse_when(value.strip())


@lru_cache(maxsize=4096)
def _parse_when(value: str) -> DateInfo:
    sides = value.split("/")
    if len(sides) > 2 or not all(sides):
        raise DateError(f"'{value}' is not an EDTF date or a closed interval such as 0739/0743")
    start, end = _bounds(value, sides)
    if start > end:
        raise DateError(f"'{value}' ends before it starts")
    texts = [_side_text(s) for s in sides]
    quals = "".join(q for _, q in texts)
    q = "~" if "~" in quals or "%" in quals else ("?" if "?" in quals else "")
    if len(texts) == 1:
        ce = f"{_qualify(texts[0][0], texts[0][1])} CE"
    else:
        (a, qa), (b, qb) = texts
        a_head, _, a_year = a.rpartition(" ")
        if a_head and b.endswith(f" {a_year}"):
            a = a_head  # "October–November 741", not "October 741–November 741"
        ce = f"{_qualify(a, qa)}–{_qualify(b, qb)} CE"
    return DateInfo(edtf=value, start=start, end=end, ce=ce, ah=_ah_text(start, end, q))
