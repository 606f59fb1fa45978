"""Drain the outbox soon after a change commits, without the domain knowing about search.

The domain writes its audit event (the outbox row) anyway; this receiver, registered by the
search app on ``AuditEvent``'s ``post_save``, asks for one drain per transaction, after commit.
The beat schedule runs the same task every minute as a safety net (a lost message, an engine
that was down)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)


def _send_drain() -> None:
    from config.celery import app

    from .tasks import DRAIN_TASK

    try:
        if DRAIN_TASK not in app.tasks:
            app.loader.import_default_modules()
        app.signature(DRAIN_TASK).apply_async()
    except Exception:
        # The change is committed; the index catches up on the next drain.
        log.exception("could not start the search outbox drain")


_send_drain.search_drain = True  # type: ignore[attr-defined]


def audit_event_saved(sender, instance, created: bool, **kwargs) -> None:
    # MONITOR_ON_CHANGE is the switch for follow-up work after each change (seed_demo and the
    # benchmarks turn it off and rebuild once at the end).
    if not created or not settings.MONITOR_ON_CHANGE:
        return
    connection = transaction.get_connection()
    if any(getattr(entry[1], "search_drain", False) for entry in connection.run_on_commit):
        return
    transaction.on_commit(_send_drain)
