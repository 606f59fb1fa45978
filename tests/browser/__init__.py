"""End-to-end journeys through a real chromium (Playwright) against pytest-django's live server.

Importable without Playwright or chromium: the conftest then skips every test here, saying why.
"""

from __future__ import annotations

from pathlib import Path

from stdnum.cn import ric

from ..factories import make_id_number

CHROMIUM = Path("/usr/bin/chromium")

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - the dev extra installs it
    Page = expect = None  # type: ignore[assignment,misc]
    UNAVAILABLE = "playwright not importable: install the dev extra (make install)"
else:
    UNAVAILABLE = (
        "" if CHROMIUM.exists() else "chromium not installed: apt-get install chromium (CI installs it)"
    )

__all__ = ["CHROMIUM", "UNAVAILABLE", "Page", "expect", "id_number"]


def id_number() -> str:
    """A valid resident ID number from ``make_id_number()``, its check digit recomputed.

    make_id_number() passes the 17-digit body to stdnum's ``ric.calc_check_digit``, which expects
    all 18 characters and ignores the last, so its numbers fail ``ric.validate`` (and the site
    refuses them). Once the factory is fixed this returns its numbers unchanged.
    """
    number = make_id_number()
    if ric.is_valid(number):
        return number
    body = number[:17]
    return body + ric.calc_check_digit(body + "0")


def failed_request_recorder(errors: list[str]):
    """A ``requestfailed`` handler that records failed requests, except those the browser
    cancels because the page moved on (net::ERR_ABORTED, e.g. a favicon still loading when a
    form is submitted): no fault of the page."""

    def record(request) -> None:
        if "ERR_ABORTED" not in (request.failure or ""):
            errors.append(f"failed: {request.url} {request.failure}")

    return record
