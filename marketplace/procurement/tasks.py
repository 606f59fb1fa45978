from celery import shared_task

from .services import timeline


@shared_task(
    name="marketplace.procurement.tasks.tick", autoretry_for=(Exception,), max_retries=3, retry_backoff=True
)
def tick() -> dict:
    """Beat job: move projects on time. Idempotent (see services.timeline)."""
    return timeline.tick()
