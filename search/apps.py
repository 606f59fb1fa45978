from django.apps import AppConfig


class Config(AppConfig):
    default = True
    name = "search"
    label = "search"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from marketplace.core.models import AuditEvent

        from .hooks import audit_event_saved

        post_save.connect(audit_event_saved, sender=AuditEvent, dispatch_uid="search-outbox")
