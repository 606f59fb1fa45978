"""Working days in the Chinese public-holiday calendar.

The platform keeps its own table (``CalendarDay``), seeded from ``chinese-calendar`` and kept by
operators each year. For a year with no data (no ``CalendarYear`` row) it counts Monday to
Friday, and ``year_is_known`` lets pages warn staff.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from django.db.models.signals import post_delete, post_save

from .models import CalendarDay, CalendarYear


@lru_cache(maxsize=64)
def _year_exceptions(year: int) -> tuple[frozenset[date], frozenset[date], bool]:
    days = CalendarDay.objects.filter(date__year=year).values_list("date", "kind")
    holidays = frozenset(d for d, k in days if k == CalendarDay.Kind.HOLIDAY)
    workdays = frozenset(d for d, k in days if k == CalendarDay.Kind.WORKDAY)
    known = CalendarYear.objects.filter(year=year).exists()
    return holidays, workdays, known


def _clear_cache(**_kwargs) -> None:
    _year_exceptions.cache_clear()


# Cache invalidation of our own table is a third-party-style hook, not business logic.
post_save.connect(_clear_cache, sender=CalendarDay)
post_delete.connect(_clear_cache, sender=CalendarDay)
post_save.connect(_clear_cache, sender=CalendarYear)
post_delete.connect(_clear_cache, sender=CalendarYear)


def year_is_known(year: int) -> bool:
    return _year_exceptions(year)[2]


def is_working_day(day: date) -> bool:
    holidays, workdays, _known = _year_exceptions(day.year)
    if day in workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count


def seed_from_package(years: range | None = None) -> int:
    """Copy chinese-calendar's data into the table for the years it covers. Idempotent."""
    import chinese_calendar
    from django.db import transaction

    created = 0
    first, last = 2004, 2026
    with transaction.atomic():
        for year in years or range(first, last + 1):
            try:
                holidays = chinese_calendar.get_holidays(date(year, 1, 1), date(year, 12, 31), False)
                workdays = chinese_calendar.get_workdays(date(year, 1, 1), date(year, 12, 31), True)
            except NotImplementedError:
                continue
            rows = [
                CalendarDay(date=d, kind=CalendarDay.Kind.HOLIDAY, name="法定节假日")
                for d in holidays
                if d.weekday() < 5
            ] + [
                CalendarDay(date=d, kind=CalendarDay.Kind.WORKDAY, name="调休上班")
                for d in workdays
                if d.weekday() >= 5
            ]
            existing = set(CalendarDay.objects.filter(date__year=year).values_list("date", flat=True))
            new = [r for r in rows if r.date not in existing]
            CalendarDay.objects.bulk_create(new)
            created += len(new)
            CalendarYear.objects.get_or_create(year=year, defaults={"source": "chinese-calendar"})
    _clear_cache()
    return created
