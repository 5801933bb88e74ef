"""EDTF dates in the Julian calendar rendered in CE and AH, with their uncertainty kept."""

import pytest

from bot.dates import DateError, hijri_date, hijri_year, julian_span_of_ah_year, parse_when


def test_first_of_muharram_122_is_7_december_739_julian() -> None:
    assert hijri_date((739, 12, 7)) == (122, 1, 1)
    assert hijri_date((739, 12, 6))[0] == 121
    assert julian_span_of_ah_year(122)[0] == (739, 12, 7)


def test_known_conversions() -> None:
    # 1 Muharram 1 AH = 16 July 622 (Julian), the arithmetical epoch.
    assert hijri_date((622, 7, 16)) == (1, 1, 1)
    # 740 CE straddles 122 and 123 AH; 743 ends in 126 AH.
    assert hijri_year((740, 1, 1)) == 122
    assert hijri_year((740, 12, 31)) == 123
    assert julian_span_of_ah_year(125)[1] == (743, 10, 24)  # 1 Muharram 126 = 25 Oct 743


@pytest.mark.parametrize(
    ("edtf", "text"),
    [
        ("0740", "740 CE (122–123 AH)"),
        ("0741-10", "October 741 CE (123 AH)"),
        ("0741-10~", "c. October 741 CE (c. 123 AH)"),
        ("0742-21", "spring 742 CE (124 AH)"),
        ("0740?", "740? CE (122–123 AH)"),
        ("0739/0743", "739–743 CE (121–126 AH)"),
        ("0741-10-15", "15 October 741 CE (123 AH)"),
        ("0741-10/0741-11", "October–November 741 CE (123–124 AH)"),
        ("0741-12/0742-04", "December 741–April 742 CE (124 AH)"),
    ],
)
def test_text_keeps_precision_and_uncertainty(edtf: str, text: str) -> None:
    assert parse_when(edtf).text == text


def test_short_form_for_embeds() -> None:
    assert parse_when("0740").short == "740 CE · 122–123 AH"


def test_bounds_and_overlap() -> None:
    spring = parse_when("0742-21")
    assert spring.start == (742, 3, 1) and spring.end == (742, 5, 31)
    assert spring.overlaps((742, 1, 1), (742, 12, 31))
    assert not spring.overlaps((741, 1, 1), (741, 12, 31))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("740", "not valid EDTF"),
        ("0741-13", "not valid EDTF"),
        ("0743/0740", "ends before it starts"),
        ("sometime", "not valid EDTF"),
        (740, "quoted EDTF string"),
        ("0740/", "closed interval"),
    ],
)
def test_bad_dates_are_refused_with_a_reason(value: object, reason: str) -> None:
    with pytest.raises(DateError, match=reason):
        parse_when(value)  # type: ignore[arg-type]
