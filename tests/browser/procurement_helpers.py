"""Helpers for the procurement journeys: named owners, logging in (staff with their TOTP),
watching a page's errors, the times and files the forms take, and checks every step repeats."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_otp.oath import totp

from marketplace.accounts.models import Role
from marketplace.core.workdays import add_working_days

from ..factories import PDF_BYTES, MembershipFactory, OrganisationFactory
from . import Page, expect, failed_request_recorder

PASSWORD = "Pa55word!2026"  # UserFactory's
LOCAL = "%Y-%m-%dT%H:%M"  # what a datetime-local input takes


def named_owner(name: str):
    """A user of a project owner (业主) called ``name`` (the procurement factories' ``owner_user``
    with a name that reads well in the screenshots)."""
    return MembershipFactory(organisation=OrganisationFactory(kind=Role.OWNER, name=name)).user


def watch(page: Page, errors: list[str]) -> None:
    """Collect what goes wrong in ``page`` into ``errors``, like conftest's ``page`` fixture."""

    def on_console(message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_response(response) -> None:
        document = response.request.resource_type == "document"
        if response.status >= 500 or (response.status >= 400 and not document):
            errors.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", failed_request_recorder(errors))


def login(page: Page, user, next_url: str = "") -> None:
    """Log in through /accounts/login/ (staff go on to set up TOTP: see ``pass_2fa_setup``)."""
    page.goto(f"/accounts/login/?next={next_url}" if next_url else "/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def current_token(secret: str) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def pass_2fa_setup(page: Page) -> None:
    """An operator's first login: read the secret shown next to the QR code, enter its code."""
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/$"))
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label("动态验证码").fill(current_token(secret))
    page.get_by_role("button", name="验证并启用").click()
    expect(page.locator(".zj-messages")).to_contain_text("双因素认证已启用")


def success(page: Page, text: str) -> None:
    expect(page.locator(".zj-messages .alert-success")).to_contain_text(text)


def badge(page: Page):
    """The status badge in the header of the project page (manage page)."""
    return page.locator(".zj-page-lead .badge")


def registration_times(extra_days: int = 1) -> tuple[datetime, datetime]:
    """A deadline the operator can approve today (the minimum registration period plus
    ``extra_days`` working days, 17:00 Beijing time) and a selection time an hour later."""
    day = add_working_days(timezone.localdate(), settings.REGISTRATION_MIN_WORKING_DAYS + extra_days)
    deadline = timezone.make_aware(datetime.combine(day, time(17, 0)))
    return deadline, deadline + timedelta(hours=1)


def local_input(moment: datetime) -> str:
    return timezone.localtime(moment).strftime(LOCAL)


def pdf_writer(directory: Path) -> Callable[[str], Path]:
    def write(name: str) -> Path:
        path = directory / name
        path.write_bytes(PDF_BYTES)
        return path

    return write
