from celery import shared_task

from . import services


@shared_task(name="marketplace.oversight.tasks.monitor_project", autoretry_for=(Exception,), max_retries=3)
def monitor_project(project_id: int, status: str | None = None) -> dict:
    """After a change to a project (to ``status``): run the rules that change concerns over it
    and the firms that applied."""
    return services.monitor_run(scope=services.scope_for_project(project_id, status)).summary


@shared_task(
    name="marketplace.oversight.tasks.monitor_intermediary", autoretry_for=(Exception,), max_retries=3
)
def monitor_intermediary(intermediary_id: int) -> dict:
    """After a change to a firm's own records: run the rules that read them."""
    return services.monitor_run(scope=services.scope_for_intermediary(intermediary_id, records=True)).summary


@shared_task(name="marketplace.oversight.tasks.monitor_full")
def monitor_full() -> dict:
    """Nightly full scan (Celery beat)."""
    return services.monitor_run().summary
