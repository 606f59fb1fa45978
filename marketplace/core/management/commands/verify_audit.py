import sys

from django.core.management.base import BaseCommand

from marketplace.core.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the hash chain of the audit log; report the first broken link."

    def handle(self, *args, **options):
        report = audit_verify()
        if report.ok:
            self.stdout.write(f"OK: {report.checked} audit events, chain intact; last hash {report.head}.")
            return
        self.stdout.write(
            f"BROKEN at event #{report.broken_at}: {report.reason} "
            f"({report.checked} events verified before it)."
        )
        sys.exit(1)
