"""Fast settings and persona fixtures shared by the whole suite.

Personas: an intermediary (member of a listed firm), an owner, a department officer, a
regulator and an operator (both with a verified TOTP device when logged in through
``login_as``), and the anonymous visitor (the plain ``client``).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from django.conf import settings

from marketplace.accounts.models import Role
from marketplace.core import workdays

from .factories import IntermediaryFactory, MembershipFactory, OrganisationFactory

_MEDIA = tempfile.mkdtemp(prefix="zjcs-media-")


def pytest_configure(config):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = _MEDIA
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def pytest_unconfigure(config):
    shutil.rmtree(_MEDIA, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fresh_caches():
    from django.core.cache import cache

    cache.clear()
    workdays._year_exceptions.cache_clear()
    yield
    workdays._year_exceptions.cache_clear()


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)",
)


class Personas:
    """One user per role, each acting for its own organisation."""

    def __init__(self):
        self.firm = IntermediaryFactory()
        self.intermediary = MembershipFactory(organisation=self.firm.organisation).user
        self.other_firm = IntermediaryFactory()
        self.other_intermediary = MembershipFactory(organisation=self.other_firm.organisation).user
        self.owner = MembershipFactory(organisation=OrganisationFactory(kind=Role.OWNER)).user
        self.department = MembershipFactory(
            organisation=OrganisationFactory(kind=Role.DEPARTMENT, uscc=None)
        ).user
        self.regulator = MembershipFactory(
            organisation=OrganisationFactory(kind=Role.REGULATOR, uscc=None)
        ).user
        self.operator = MembershipFactory(
            organisation=OrganisationFactory(kind=Role.OPERATOR, uscc=None)
        ).user

    def all(self) -> dict[str, object]:
        return {
            "anonymous": None,
            "intermediary": self.intermediary,
            "other_intermediary": self.other_intermediary,
            "owner": self.owner,
            "department": self.department,
            "regulator": self.regulator,
            "operator": self.operator,
        }


@pytest.fixture
def personas(db) -> Personas:
    return Personas()


def login_as(client, user) -> None:
    """Log a user in; staff roles also pass two-factor authentication (a verified TOTP device)."""
    if user is None:
        client.logout()
        return
    client.force_login(user)
    from marketplace.accounts.middleware import NO_DEVICE_SESSION_KEY
    from marketplace.accounts.selectors import user_requires_2fa

    if not user_requires_2fa(user):
        # What the login page records for a user without a second factor (steady state).
        session = client.session
        session[NO_DEVICE_SESSION_KEY] = user.pk
        session.save()
    else:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


@pytest.fixture
def login():
    return login_as


def _rerun_data_migrations(connection) -> None:
    """Flush, then run every migration's RunPython code again: the data a fresh migrate leaves."""
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.operations import RunPython
    from django.db.migrations.state import ProjectState

    call_command("flush", interactive=False, verbosity=0, database=connection.alias)
    executor = MigrationExecutor(connection)
    state = ProjectState(real_apps=executor.loader.unmigrated_apps)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes(), clean_start=True)
    for migration, _backwards in plan:
        for operation in migration.operations:
            if isinstance(operation, RunPython):
                with connection.schema_editor(atomic=migration.atomic) as editor:
                    operation.database_forwards(migration.app_label, editor, state, state)
            operation.state_forwards(migration.app_label, state)


@pytest.fixture(scope="session", autouse=True)
def _restore_seed_data_for_reuse_db(django_db_setup, django_db_blocker, django_db_keepdb: bool):
    """Leave the kept test database with the data its migrations seeded.

    ``live_server`` tests flush every table after each test, the seeded catalogue and holiday
    calendar too. With --reuse-db (the default in pyproject) the migrations do not run again, so
    the next run would start without that data and the tests that read it would fail.
    """
    yield
    from django.db import connection

    if django_db_keepdb and not (connection.vendor == "sqlite" and connection.is_in_memory_db()):
        with django_db_blocker.unblock():
            _rerun_data_migrations(connection)
