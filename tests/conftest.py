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


# Wagtail's data migrations (its page tree, site, locale, collections, editor groups and
# workflow) insert rows through historical models that lack columns added later, so they cannot
# be replayed on flushed tables. Their rows (and the portal's, cms migration 0002) are saved once
# when the test database is set up and put back after a flush instead.
_SNAPSHOT: dict[str, str] = {}


def _snapshotted(app_label: str) -> bool:
    return app_label.startswith("wagtail") or app_label in ("cms", "simple_translation", "taggit")


def _snapshot_models():
    from django.apps import apps
    from django.contrib.auth.models import Group
    from django.core import serializers

    app_list = [(config, None) for config in apps.get_app_configs() if _snapshotted(config.label)]
    return [Group, *serializers.sort_dependencies(app_list, allow_cycles=True)]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from itertools import chain

    from django.core import serializers

    with django_db_blocker.unblock():
        rows = chain.from_iterable(model._base_manager.order_by("pk") for model in _snapshot_models())
        _SNAPSHOT["rows"] = serializers.serialize("json", rows, use_natural_foreign_keys=True)
    yield


def _restore_snapshot(connection) -> None:
    from django.core import serializers
    from django.core.management.color import no_style

    if "rows" not in _SNAPSHOT:
        return
    from django.db import transaction

    # One transaction: PostgreSQL checks its (deferred) foreign keys at commit, once every row is in.
    with transaction.atomic(using=connection.alias), connection.constraint_checks_disabled():
        for row in serializers.deserialize("json", _SNAPSHOT["rows"], handle_forward_references=True):
            row.save()
    statements = connection.ops.sequence_reset_sql(no_style(), _snapshot_models())
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


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
            if isinstance(operation, RunPython) and not _snapshotted(migration.app_label):
                with connection.schema_editor(atomic=migration.atomic) as editor:
                    operation.database_forwards(migration.app_label, editor, state, state)
            operation.state_forwards(migration.app_label, state)
    _restore_snapshot(connection)


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Transactional tests (live server, threads) end by flushing every table, the catalogue and
    holiday calendar that the migrations seeded included. Put that data back once every fixture
    has been torn down, so the tests after them in the same process (and the next run with
    --reuse-db) see the database a fresh migrate leaves."""
    yield
    if _is_transactional(item):
        from django.db import connection
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            _rerun_data_migrations(connection)
