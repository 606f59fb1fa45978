"""/healthz: what a load balancer or a monitor sees when each dependency is up or down."""

import os
import socket
from unittest import mock

import pytest
from django.db import OperationalError, connection

from search.backends.base import SearchUnavailable
from search.backends.database import DatabaseBackend

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-pw"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_integrations(settings):
    """The embedded setup: no broker outside the process, the database search backend."""
    settings.CELERY_BROKER_URL = "memory://"
    settings.ELASTICSEARCH_URL = ""
    return settings


def test_all_checks_pass_answers_200_with_each_check_and_its_time(client, no_integrations):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "search"}  # no broker configured: not checked
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["search"] == {
        "ok": True,
        "ms": body["checks"]["search"]["ms"],
        "backend": "database",
    }
    for check in body["checks"].values():
        assert isinstance(check["ms"], float) and check["ms"] >= 0


def test_the_answer_is_never_cached(client, no_integrations):
    response = client.get("/healthz")

    assert "no-store" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_database_down_answers_503_without_the_servers_message(client, no_integrations):
    refused = OperationalError(f'connection to server at "db.internal" failed: password={SECRET}')
    with mock.patch.object(connection, "cursor", side_effect=refused):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"] == "OperationalError"
    # The database search backend reads the same database, so it is down too.
    assert body["checks"]["search"]["ok"] is False
    assert SECRET not in response.content.decode()
    assert "db.internal" not in response.content.decode()


def test_unreachable_broker_answers_503_and_names_only_the_error(client, no_integrations):
    no_integrations.CELERY_BROKER_URL = f"redis://:{SECRET}@127.0.0.1:{closed_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["error"] == "ConnectionError"
    assert body["checks"]["broker"]["ms"] < 5000  # bounded by the short timeout
    assert body["checks"]["database"]["ok"] is True
    assert SECRET not in response.content.decode()


@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
    reason="needs a Redis broker in CELERY_BROKER_URL (CI sets it)",
)
def test_reachable_broker_passes(client, no_integrations):
    no_integrations.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"]["broker"]["ok"] is True


def test_failing_search_backend_answers_503(client, no_integrations):
    with mock.patch.object(DatabaseBackend, "ping", side_effect=SearchUnavailable("index table missing")):
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["search"] == {
        "ok": False,
        "ms": body["checks"]["search"]["ms"],
        "error": "SearchUnavailable",
        "backend": "database",
    }
    assert body["checks"]["database"]["ok"] is True


def test_unreachable_elasticsearch_answers_503_without_its_address(client, no_integrations):
    no_integrations.ELASTICSEARCH_URL = f"http://elastic:{SECRET}@127.0.0.1:{closed_port()}"

    response = client.get("/healthz")

    assert response.status_code == 503
    search = response.json()["checks"]["search"]
    assert search["backend"] == "elasticsearch"
    assert search["ok"] is False
    assert search["error"] == "ConnectionError"
    assert SECRET not in response.content.decode()


def test_only_reads_are_allowed(client, no_integrations):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200
