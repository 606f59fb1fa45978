"""Seed the service catalogue and the demo city's departments (data in catalog/data/)."""

from django.db import migrations


def seed(apps, schema_editor):
    from marketplace.catalog.seed import seed_catalog

    seed_catalog(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
