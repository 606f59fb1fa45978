"""Behind nginx, the visitor's address comes from X-Real-IP, and only when nginx sent it."""

import pytest
from django.test import override_settings

from marketplace.accounts.services import login_is_throttled

pytestmark = pytest.mark.django_db

PROXY = "127.0.0.1"


def _seen_address(client, **headers) -> str:
    """The address the application records for a request (the audit log's client address)."""
    response = client.get("/healthz", **headers)
    return response.wsgi_request.META["REMOTE_ADDR"]


@override_settings(TRUSTED_PROXY_IPS=[PROXY])
def test_the_trusted_proxys_x_real_ip_becomes_the_client_address(client):
    assert _seen_address(client, REMOTE_ADDR=PROXY, HTTP_X_REAL_IP="203.0.113.7") == "203.0.113.7"
    assert _seen_address(client, REMOTE_ADDR=PROXY, HTTP_X_REAL_IP="2001:db8::1") == "2001:db8::1"


@override_settings(TRUSTED_PROXY_IPS=[PROXY])
def test_a_visitor_cannot_choose_the_address_recorded(client):
    assert _seen_address(client, REMOTE_ADDR="198.51.100.9", HTTP_X_REAL_IP="203.0.113.7") == "198.51.100.9"
    assert _seen_address(client, REMOTE_ADDR=PROXY, HTTP_X_REAL_IP="not-an-address") == PROXY


def test_without_trusted_proxies_the_header_is_ignored(client, settings):
    settings.TRUSTED_PROXY_IPS = []
    assert _seen_address(client, REMOTE_ADDR=PROXY, HTTP_X_REAL_IP="203.0.113.7") == PROXY


@override_settings(TRUSTED_PROXY_IPS=[PROXY], LOGIN_THROTTLE_ATTEMPTS=2)
def test_login_throttling_counts_each_visitor_apart_behind_the_proxy(client):
    for _ in range(2):
        client.post(
            "/accounts/login/",
            {"username": "nobody", "password": "wrong"},
            REMOTE_ADDR=PROXY,
            HTTP_X_REAL_IP="203.0.113.7",
        )
    assert login_is_throttled(username="someone-else", client_ip="203.0.113.7")
    assert not login_is_throttled(username="someone-else", client_ip="203.0.113.8")
    assert not login_is_throttled(username="someone-else", client_ip=PROXY)
