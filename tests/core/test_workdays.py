import pytest


@pytest.mark.django_db
def test_weekend_days_made_working_days_count_as_working_days():
    from datetime import date

    from marketplace.core.workdays import add_working_days, is_working_day

    assert is_working_day(date(2025, 9, 28))  # Sunday before National Day, 调休上班
    assert not is_working_day(date(2025, 10, 1))
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)
