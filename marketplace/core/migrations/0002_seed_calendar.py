"""Seed the holiday table from chinese-calendar (2004 up to its last published year)."""

from datetime import date

from django.db import migrations


def seed(apps, schema_editor):
    import chinese_calendar

    CalendarDay = apps.get_model("core", "CalendarDay")
    CalendarYear = apps.get_model("core", "CalendarYear")
    rows = []
    for year in range(2004, 2100):
        try:
            holidays = chinese_calendar.get_holidays(date(year, 1, 1), date(year, 12, 31), False)
            workdays = chinese_calendar.get_workdays(date(year, 1, 1), date(year, 12, 31), True)
        except NotImplementedError:
            break
        rows += [CalendarDay(date=d, kind="holiday", name="法定节假日") for d in holidays if d.weekday() < 5]
        rows += [CalendarDay(date=d, kind="workday", name="调休上班") for d in workdays if d.weekday() >= 5]
        CalendarYear.objects.create(year=year, source="chinese-calendar")
    CalendarDay.objects.bulk_create(rows, batch_size=500)


def unseed(apps, schema_editor):
    apps.get_model("core", "CalendarDay").objects.all().delete()
    apps.get_model("core", "CalendarYear").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
