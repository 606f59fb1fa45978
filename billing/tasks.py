from celery import shared_task

from .gateway import get_gateway
from .reconcile import reconcile as reconcile_run


@shared_task(name="billing.tasks.reconcile", autoretry_for=(ConnectionError,), max_retries=3)
def reconcile() -> dict:
    """Nightly (Celery beat): compare Stripe with the ledger. Nothing to do without Stripe."""
    gateway = get_gateway()
    if gateway is None:
        return {"skipped": "stripe off"}
    run = reconcile_run(gateway=gateway)
    return {"run": run.pk, "differences": len(run.differences), "error": run.error}
