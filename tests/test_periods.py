from datetime import date

import pytest

from data.periods import PeriodError, period_bounds, period_kind


@pytest.mark.parametrize("period, start, end", [
    ("2023", date(2023, 1, 1), date(2023, 12, 31)),
    ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
    ("2023-06-30", date(2023, 6, 30), date(2023, 6, 30)),
    ("2023-01/2023-08", date(2023, 1, 1), date(2023, 8, 31)),
    ("2022-07/2023-06", date(2022, 7, 1), date(2023, 6, 30)),  # fiscal year 2022/23
    ("../2022-12", None, date(2022, 12, 31)),
])
def test_bounds(period, start, end):
    assert period_bounds(period) == (start, end)


@pytest.mark.parametrize("period", ["", "2023-13", "23", "2023/2022", "2022/23", "May 2023"])
def test_bad_periods_are_refused(period):
    with pytest.raises(PeriodError):
        period_bounds(period)


def test_kind():
    assert [period_kind(p) for p in ("2023", "2023-05", "2023-05-01", "2023-01/2023-08")] == \
        ["year", "month", "day", "interval"]
