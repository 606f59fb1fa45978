"""Scheduled publishing: publish pages whose go-live time has come and unpublish expired ones.

Wagtail's ``publish_scheduled`` command does the work; Celery beat runs this every minute.
Safe to run twice (a page already published is not published again).
"""

from celery import shared_task
from django.core.management import call_command


@shared_task(name="cms.tasks.publish_scheduled")
def publish_scheduled() -> None:
    call_command("publish_scheduled", verbosity=0)
