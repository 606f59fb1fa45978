"""``manage.py check --deploy`` is clean with the production settings.

The security settings are chosen in config/settings.py from the environment at import time
(``DJANGO_PRODUCTION`` and the variables it requires), so each check runs in a fresh process with
the environment a deployment has, and calls ``call_command("check", deploy=True,
fail_level="WARNING")`` there: any warning fails it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

CHECK = """
import django
from django.core.management import call_command

django.setup()
call_command("check", deploy=True, fail_level="WARNING")
"""


def production_env(**overrides: str) -> dict[str, str]:
    """The process environment without any DJANGO_* variable of this machine, plus what a
    deployment sets (docs/deploy.md)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "ID_HASH_KEY": secrets.token_hex(32),
            "QUOTE_MASTER_KEY": secrets.token_hex(32),
            "DJANGO_ALLOWED_HOSTS": "zjcs.example.cn",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://zjcs.example.cn",
        }
    )
    env.update(overrides)
    return env


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", CHECK],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_deploy_check_reports_no_issue_with_production_settings():
    result = deploy_check(production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


@pytest.mark.slow
def test_deploy_check_fails_on_a_warning():
    # Switching HSTS off is allowed by the environment but warned about: the check must fail.
    result = deploy_check(production_env(DJANGO_HSTS_SECONDS="0"))

    assert result.returncode != 0
    assert "security.W004" in result.stderr
