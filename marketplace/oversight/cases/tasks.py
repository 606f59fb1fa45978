"""Beat job for cases, credit and the blacklist. Idempotent: every step skips what is done."""

from celery import shared_task

from . import credit, services


@shared_task(
    name="marketplace.oversight.cases.tasks.tick",
    autoretry_for=(Exception,),
    max_retries=3,
    retry_backoff=True,
)
def tick() -> dict:
    """Escalate overdue answers and remedies, lift ended blacklistings, recompute credit (ratings,
    walk-aways and late deliveries are written by procurement, which never calls oversight)."""
    escalated = services.escalate_overdue()
    lifted = credit.blacklist_lift_expired()
    changed = credit.credit_recompute()
    return {**escalated, "lifted": lifted, "credit_changed": changed}
