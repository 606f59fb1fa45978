"""Enqueueing work for later layers without importing them (dependencies run one way)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, *args) -> None:
    """Run the Celery task ``task_name`` after the current transaction commits (by name, so a
    lower layer can trigger a higher one, e.g. procurement asking oversight to rescan). With
    eager Celery the task runs in-process; otherwise it goes to the broker."""
    if not settings.MONITOR_ON_CHANGE:
        return

    def send() -> None:
        from config.celery import app

        try:
            if task_name not in app.tasks:  # a web process registers tasks on first use
                app.loader.import_default_modules()
            app.signature(task_name, args=args).apply_async()
        except Exception:
            # The change is committed; a failing follow-up (run in-process when Celery is
            # eager) must not turn the user's request into an error. The nightly scan catches up.
            log.exception("follow-up task %s%r failed", task_name, args)

    transaction.on_commit(send)
