"""The beat job through a real broker and worker (Redis in CI), not the eager shortcut."""

import os
import time

import pytest
from django.conf import settings

from marketplace.procurement.models import Application, Status

BROKER = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    pytest.mark.skipif(
        not BROKER.startswith("redis://"), reason="needs CELERY_BROKER_URL=redis://... (CI sets it)"
    ),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="the worker thread needs a shared database: set DATABASE_URL to PostgreSQL (CI does)",
    ),
]


def test_beat_schedule_names_a_registered_task():
    from config.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


@pytest.mark.django_db(transaction=True)
def test_tick_sent_through_redis_closes_a_due_registration():
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from marketplace.procurement import services
    from marketplace.procurement.tasks import tick
    from tests.procurement.factories import firm_user, pass_deadline, published_project

    project = published_project(method="lowest_price", funding_source="private")
    firm, user = firm_user(project.service_type)
    services.application_submit(actor=user, project=project, quote="60000")
    pass_deadline(project)

    app.conf.update(task_always_eager=False, broker_url=BROKER, result_backend=None)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1):
            tick.apply_async()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                project.refresh_from_db()
                if project.status not in (Status.PUBLISHED, Status.REGISTRATION_CLOSED):
                    break
                time.sleep(0.2)
    finally:
        app.conf.update(task_always_eager=True)
        # A worker started in-process marks the whole process as "inside a task", so any later
        # result.get() in this test process would raise; put the flag back.
        from celery._state import _set_task_join_will_block

        _set_task_join_will_block(False)
    assert project.status == Status.SELECTED
    assert Application.objects.get(project=project).quote_amount == 60000
