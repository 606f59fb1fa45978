"""Helpers shared by the API tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from stdnum.cn import ric

from marketplace.core.validators import id_hash
from tests.factories import PractitionerFactory, make_id_number

JSON = "application/json"


def call(client, method: str, url: str, data=None, *, multipart: bool = False):
    """Send ``data`` as JSON (or as multipart form data) with ``method``."""
    send = getattr(client, method.lower())
    if method.upper() == "GET":
        return send(url, data or {})
    if multipart:
        return send(url, data or {})
    return send(url, data or {}, content_type=JSON)


def messages(response) -> str:
    """All error messages of a 400 response, joined, for ``"..." in messages(r)`` checks."""
    body = response.json()
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key != "code":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            found.append(str(value))

    walk(body)
    return " | ".join(found)


def all_results(client, url: str) -> list[dict]:
    """Every item of a paginated list (the catalogue is seeded by a migration)."""
    items: list[dict] = []
    while url:
        body = client.get(url).json()
        items += body["results"]
        url = body["next"]
    return items


def by_code(items: list[dict], code: str) -> dict:
    return next(item for item in items if item["code"] == code)


def fee(**overrides) -> dict:
    values = {"basis": "fixed", "rate": "20000", "unit": "", "fee_min": "15000.00", "fee_max": "30000.00"}
    values.update(overrides)
    return values


def offer_payload(service_type_code: str, **overrides) -> dict:
    values = {
        "service_type": service_type_code,
        "description": "编制环境影响报告表",
        "included": "现场踏勘、报告编制、配合专家评审",
        "service_days": 20,
        "fee": fee(),
    }
    values.update(overrides)
    return values


def day(offset: int) -> str:
    """An ISO date ``offset`` days from today (negative: in the past)."""
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def resident_id() -> str:
    """A valid resident ID number. ``make_id_number()`` gives stdnum's ``calc_check_digit`` the
    17-character body although it expects all 18 and drops the last, so its check digit is
    usually wrong (and ``PractitionerFactory``'s default ``id_hash`` then raises)."""
    body = make_id_number()[:17]
    return body + ric.calc_check_digit(body + "0")


def practitioner(firm, **kwargs):
    return PractitionerFactory(intermediary=firm, id_hash=id_hash(resident_id()), **kwargs)
