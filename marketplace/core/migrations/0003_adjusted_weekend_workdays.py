"""0002 left out the weekend days made working days (调休上班): add the missing rows."""

from datetime import date

from django.db import migrations


def add_missing(apps, schema_editor):
    import chinese_calendar

    CalendarDay = apps.get_model("core", "CalendarDay")
    existing = set(CalendarDay.objects.values_list("date", flat=True))
    rows = []
    for year in range(2004, 2100):
        try:
            workdays = chinese_calendar.get_workdays(date(year, 1, 1), date(year, 12, 31), True)
        except NotImplementedError:
            break
        rows += [
            CalendarDay(date=d, kind="workday", name="调休上班")
            for d in workdays
            if d.weekday() >= 5 and d not in existing
        ]
    CalendarDay.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_seed_calendar")]
    operations = [migrations.RunPython(add_missing, migrations.RunPython.noop)]
