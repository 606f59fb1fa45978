"""Browser fixtures: one headless system chromium per test session, a fresh context per test.

Never downloads a browser: Playwright drives the distribution's chromium (/usr/bin/chromium; CI
installs it with apt-get). Without chromium or Playwright the whole directory is skipped, with
the reason in the summary.

Pages are served by pytest-django's ``live_server``, so every test here uses ``transactional_db``:
the tables are flushed after each test (the seeded catalogue too), hence the factories.

On failure the page is saved as a full-page screenshot in test-artifacts/screenshots/<test>.png
(git-ignored; CI keeps the directory as an artifact). ``screenshot`` saves pages on success too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import CHROMIUM, UNAVAILABLE, failed_request_recorder

if not UNAVAILABLE:
    from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Response, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 900}
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without chromium or Playwright, skip every test in this directory and say why.

    (A module-level skip here would abort ``pytest tests/browser``: pytest loads the conftests of
    the paths it is given before collecting, where a skip is not expected.)
    """
    if not UNAVAILABLE:
        return
    skip = pytest.mark.skip(reason=UNAVAILABLE)
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


# Playwright's sync API runs an event loop in the test thread, and Django then refuses ORM calls
# made from that thread (factories, assertions) as async-unsafe. Nothing here awaits anything.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
BROWSER_ERRORS = pytest.StashKey[list[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    """Keep each phase's report on the item, so fixtures can tell in teardown if the test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


def _screenshot_dir(config: pytest.Config) -> Path:
    path = config.rootpath / "test-artifacts" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh context (zh-CN, 1366x900) whose relative URLs go to the live server.

    Reduced motion turns off Bootstrap's smooth scrolling: Playwright waits for an element to stop
    moving before it acts, which costs about a second per field far down a long form."""
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport=VIEWPORT, reduced_motion="reduce"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = request.node.stash.setdefault(BROWSER_ERRORS, [])
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_console(message: ConsoleMessage) -> None:
        # Loads are judged by their response below (a form re-rendered with 400 is expected).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def on_response(response: Response) -> None:
        document = response.request.resource_type == "document"
        if response.status >= 500 or (response.status >= 400 and not document):
            errors.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", failed_request_recorder(errors))
    failure_shot = _screenshot_dir(request.config) / f"{_safe_name(request.node.name)}.png"
    failure_shot.unlink(missing_ok=True)  # left by an earlier run
    yield page
    reports = request.node.stash.get(REPORTS, {})
    if any(report.failed for report in reports.values()):
        path = failure_shot
        try:
            page.screenshot(path=str(path), full_page=True)
        except Error as exc:  # a crashed page must not hide the test's own failure
            print(f"could not save screenshot {path}: {exc}")
        else:
            print(f"screenshot of the failure: {path}")
    context.close()


@pytest.fixture
def browser_errors(page: Page, request: pytest.FixtureRequest) -> list[str]:
    """What went wrong in ``page`` besides the test's own checks: JavaScript errors, console
    errors (CSP violations), failed requests, 5xx responses and 4xx sub-resources (static files)."""
    return request.node.stash[BROWSER_ERRORS]


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``screenshot(page, "directory")`` saves test-artifacts/screenshots/<test>--directory.png."""

    def save(page: Page, label: str) -> Path:
        name = f"{_safe_name(request.node.name)}--{_safe_name(label)}.png"
        path = _screenshot_dir(request.config) / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
