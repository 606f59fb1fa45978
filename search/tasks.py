"""Celery tasks for the search index (thin: they call ``services``)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from . import services
from .backends.base import SearchUnavailable

DRAIN_TASK = "search.tasks.outbox_drain"
DRAIN_MAX_RETRIES = 8


@shared_task(
    name=DRAIN_TASK,
    bind=True,
    autoretry_for=(SearchUnavailable,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=DRAIN_MAX_RETRIES,
    retry_jitter=True,
)
def outbox_drain(self) -> dict[str, Any]:
    """Apply pending changes to the index. Safe to run twice; beat runs it as a safety net."""
    return services.outbox_drain()
