"""``manage.py billing_reconcile``: compare Stripe's PaymentIntents and refunds with the ledger."""

from django.core.management.base import BaseCommand, CommandError

from billing.gateway import get_gateway
from billing.reconcile import reconcile


class Command(BaseCommand):
    help = "Compare Stripe's PaymentIntents and refunds with the billing ledger and report differences."

    def handle(self, *args, **options):
        gateway = get_gateway()
        if gateway is None:
            raise CommandError("Stripe is off (STRIPE_SECRET_KEY is not set): nothing to reconcile.")
        run = reconcile(gateway=gateway)
        if run.error:
            raise CommandError(f"Stripe could not be read: {run.error}")
        self.stdout.write(
            f"Checked {run.checked_intents} payment intents, {run.checked_refunds} refunds, "
            f"{run.checked_entries} ledger entries."
        )
        if run.ok:
            self.stdout.write(self.style.SUCCESS("No difference."))
            return
        for d in run.differences:
            extra = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("kind", "reference"))
            self.stdout.write(f"  {d['kind']}: {d['reference']} {extra}")
        raise CommandError(f"{len(run.differences)} difference(s) found (run {run.pk}).")
