"""``manage.py demo_totp USERNAME``: the current TOTP code of a demo staff account."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from marketplace.providers.demo import DEMO_TOTP_DEVICE, totp_secret_base32


class Command(BaseCommand):
    help = (
        "Print the current 6-digit code and the base32 secret of the demo TOTP device that "
        "seed_demo gave a staff account (operator, regulator). Other devices are never shown."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        device = (
            TOTPDevice.objects.filter(user__username=username, name=DEMO_TOTP_DEVICE, confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise CommandError(
                f"“{username}” has no demo TOTP device. Run `manage.py seed_demo` first; only the "
                "demo staff accounts (operator, regulator) have one."
            )
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        remaining = device.step - int(time.time() - device.t0) % device.step
        self.stdout.write(
            f"{username}: {totp.token():0{device.digits}d}  (valid for {remaining} more seconds)"
        )
        self.stdout.write(f"secret (base32, for an authenticator app): {totp_secret_base32(device.key)}")
        self.stdout.write(f"otpauth URI: {device.config_url}")
