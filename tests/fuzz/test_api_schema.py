"""Schemathesis against the whole API, in process, once for each role.

For every operation of the OpenAPI schema served at ``/api/schema/``, Hypothesis draws requests
(valid ones and, as often, invalid ones) and sends them to the project's WSGI application through
Schemathesis's in-process transport, with the session cookie (and a CSRF token) of a user of the
role. Each response must not be a server error, its status code and content type must be
documented, and its body must match the documented schema.

Path parameters are drawn from the real objects seeded for the run (firms, offers, projects,
applications, ratings, objections, service types) as often as from random values, so the
operations reach their real code and not only their 404.

``FUZZ_EXAMPLES`` (default 3) is the number of examples per operation and role; ``make fuzz`` runs
200 and random seeds. One subtest per operation reports the first failure of each.
"""

from __future__ import annotations

import os
import re
import secrets
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.catalog.models import ApprovalItem, Department, QualificationType, ServiceType
from marketplace.procurement import services as procurement
from marketplace.procurement.models import Application, Objection, Project, Rating
from marketplace.procurement.services import timeline
from marketplace.providers.models import Intermediary, Offer
from tests.conftest import Personas, login_as
from tests.factories import OfferFactory, ServiceTypeFactory
from tests.procurement.factories import project_input, published_project

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
# The normal suite replays the same examples every run; ``make fuzz`` explores (FUZZ_RANDOM=1).
DETERMINISTIC = os.environ.get("FUZZ_RANDOM", "") != "1"
ROLES = ["anonymous", "intermediary", "owner", "department", "regulator", "operator"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]


# --- the schema, loaded once from the running application --------------------------------------

_SCHEMA: list[Any] = []
# Operation path -> path parameter -> values of real objects; set by the ``world`` fixture.
_KNOWN: dict[str, dict[str, list[Any]]] = {}
# Body field -> values of real objects; set by the ``world`` fixture.
_FIELDS: dict[str, list[Any]] = {}


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": FUZZ_EXAMPLES,
                "database": "none",
                "deterministic": DETERMINISTIC,
            },
            # Statically extracting constants from the application's modules takes longer than
            # the whole normal run; random and schema-derived values are enough here.
            "analysis": {"constants": {"enabled": False}},
        }
    )


def _flatmap_path_parameters(context, path_parameters: dict[str, Any]):
    """Replace a generated path parameter by a seeded object's as often as not."""
    known = _KNOWN.get(context.operation.path, {})
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: (st.sampled_from(known[name]) | st.just(value)) if known.get(name) else st.just(value)
            for name, value in path_parameters.items()
        }
    )


def _flatmap_body(context, body):
    """Replace a reference in a body (a service type code, an application id...) by a real one as
    often as not, so that writes get past "no such object" to their business rules."""
    if not isinstance(body, dict) or not _FIELDS:
        return st.just(body)
    return st.fixed_dictionaries(
        {
            name: (st.sampled_from(_FIELDS[name]) | st.just(value)) if _FIELDS.get(name) else st.just(value)
            for name, value in body.items()
        }
    )


def api_schema():
    if not _SCHEMA:
        from config.wsgi import application

        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=_config())
        schema.hook("flatmap_path_parameters")(_flatmap_path_parameters)
        schema.hook("flatmap_body")(_flatmap_body)
        _SCHEMA.append(schema)
    return _SCHEMA[0]


@pytest.fixture
def in_process():
    """Django's WSGI handler closes the database connection around each request; the test client
    does not, and neither may we: the test's transaction lives on that connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# --- the objects the path parameters point at --------------------------------------------------


class World:
    """The personas, the firm's offer, and the owner's projects in several states: a draft, one
    open for registration (the firm applied), one rated at the end and one with an objection."""

    def __init__(self):
        from tests.procurement.test_public_pages import selected_project, winner_of

        self.personas = p = Personas()
        service_type = ServiceTypeFactory()
        self.offer = OfferFactory(intermediary=p.firm, service_type=service_type)
        OfferFactory(intermediary=p.other_firm, service_type=service_type)
        self.draft = procurement.project_create(actor=p.owner, data=project_input(service_type=service_type))
        self.open = published_project(owner=p.owner, operator=p.operator, service_type=service_type)
        procurement.application_submit(actor=p.intermediary, project=self.open, quote=Decimal("80000"))
        self.selected, firms = selected_project(owner=p.owner, operator=p.operator)
        winner = winner_of(self.selected).intermediary
        loser_user = next(user for firm, user in firms if firm != winner)
        procurement.objection_file(
            actor=loser_user, project=self.selected, text="中选人资质证书已过期，请复核"
        )
        self.rated = self._rated(p)

    @staticmethod
    def _rated(p: Personas) -> Project:
        """A project run to the end with the personas' owner: contract, delivery, both ratings."""
        from tests.procurement.test_public_pages import pdf, selected_project, winner_of

        project, firms = selected_project(owner=p.owner, operator=p.operator)
        winner = winner_of(project).intermediary
        winner_user = next(user for firm, user in firms if firm == winner)
        Project.objects.filter(pk=project.pk).update(
            publicity_ends_on=timezone.localdate() - timedelta(days=1)
        )
        timeline.tick()
        procurement.contract_upload(actor=p.owner, project=project, document=pdf())
        procurement.contract_confirm(actor=winner_user, project=project)
        procurement.delivery_submit(actor=winner_user, project=project, document=pdf(), note="报告书")
        procurement.delivery_decide(actor=p.owner, project=project, accept=True)
        scores = {"quality": 2, "timeliness": 2, "attitude": 3, "fee_compliance": 4, "conduct": 4}
        procurement.rating_submit(actor=p.owner, project=project, scores=scores, comment="报告质量一般")
        scores = {"payment_timeliness": 5, "non_interference": 5}
        procurement.rating_submit(actor=winner_user, project=project, scores=scores)
        return project

    def known(self) -> dict[str, dict[str, list[Any]]]:
        ids = {
            "intermediaries": list(Intermediary.objects.values_list("pk", flat=True)[:20]),
            "offers": list(Offer.objects.values_list("pk", flat=True)[:20]),
            "projects": list(Project.objects.values_list("pk", flat=True)),
            "applications": list(Application.objects.values_list("pk", flat=True)),
            "ratings": list(Rating.objects.values_list("pk", flat=True)),
            "objections": list(Objection.objects.values_list("pk", flat=True)),
            "codes": [self.offer.service_type.code, *ServiceType.objects.values_list("code", flat=True)[:5]],
        }
        rules = [
            (r"^/api/(service-types|fees)/", {"code": ids["codes"]}),
            (r"^/api/intermediaries/", {"id": ids["intermediaries"]}),
            (r"^/api/(me/)?offers/", {"id": ids["offers"]}),
            (r"^/api/projects/", {"id": ids["projects"], "oid": ids["objections"]}),
            (r"^/api/applications/", {"id": ids["applications"]}),
            (r"^/api/ratings/", {"id": ids["ratings"]}),
        ]
        known = {}
        for result in api_schema().get_all_operations():
            path = result.ok().path
            for pattern, values in rules:
                if re.match(pattern, path):
                    known[path] = values
                    break
        return known

    def fields(self) -> dict[str, list[Any]]:
        service_types = [
            self.offer.service_type.code,
            *ServiceType.objects.values_list("code", flat=True)[:5],
        ]
        return {
            "service_type": service_types,
            "service_type_code": service_types,
            "department": list(Department.objects.values_list("code", flat=True)[:5]),
            "qualification_type": list(QualificationType.objects.values_list("code", flat=True)[:5]),
            "approval_item": list(ApprovalItem.objects.values_list("code", flat=True)[:5]),
            "application": list(Application.objects.values_list("pk", flat=True)),
            "intermediary_uscc": list(Intermediary.objects.values_list("uscc", flat=True)[:5]),
        }


@pytest.fixture
def world(db, in_process):
    world = World()
    _KNOWN.update(world.known())
    _FIELDS.update(world.fields())
    yield world
    _KNOWN.clear()
    _FIELDS.clear()


def credentials(user) -> dict[str, dict[str, str]]:
    """Cookies and headers of a logged-in browser session of ``user`` (None: anonymous)."""
    token = secrets.token_hex(16)
    cookies = {settings.CSRF_COOKIE_NAME: token}
    if user is not None:
        client = Client()
        login_as(client, user)
        cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"cookies": cookies, "headers": {"X-CSRFToken": token}}


def fuzz(operation, credentials: dict[str, dict[str, str]], statuses: Counter) -> None:
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @hypothesis_settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=DETERMINISTIC,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        response = case.call_and_validate(checks=CHECKS, **credentials)
        statuses[response.status_code] += 1

    run()


# What each role's session must get before the fuzzing means anything: a page of its own (the
# login and the role work through the WSGI stack) and a write that reaches validation (the CSRF
# token is accepted) or, for a role that may not write there, a refusal.
PROBES = {
    "anonymous": [("GET", "/api/projects/", 200), ("POST", "/api/projects/", 403)],
    "intermediary": [("GET", "/api/me/intermediary/", 200), ("POST", "/api/me/intermediary/ties/", 400)],
    "owner": [("GET", "/api/my/projects/", 200), ("POST", "/api/projects/", 400)],
    "department": [("GET", "/api/notifications/", 200), ("POST", "/api/projects/", 403)],
    "regulator": [("GET", "/api/notifications/", 200), ("POST", "/api/ratings/{id}/decide/", 400)],
    "operator": [("GET", "/api/review-queue/", 200), ("POST", "/api/intermediaries/{id}/review/", 400)],
}


def probe(schema, world: World, login: dict, method: str, path: str) -> int:
    ids = {
        "/api/ratings/{id}/decide/": Rating.objects.filter(project=world.rated).first().pk,
        "/api/intermediaries/{id}/review/": world.personas.firm.pk,
    }
    kwargs: dict[str, Any] = {"body": {}, "media_type": "application/json"} if method == "POST" else {}
    if path in ids:
        kwargs["path_parameters"] = {"id": ids[path]}
    return schema[path][method].Case(**kwargs).call(**login).status_code


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_answers_as_documented(role, world, in_process, subtests):
    schema = api_schema()
    login = credentials(world.personas.all()[role])
    for method, path, expected in PROBES[role]:
        assert probe(schema, world, login, method, path) == expected, f"{role}: {method} {path}"

    statuses: dict[str, Counter] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        statuses[operation.label] = Counter()
        with subtests.test(msg=f"{role} {operation.label}"):
            fuzz(operation, login, statuses[operation.label])
    # With -s, what the examples got: is the fuzzing reaching past validation and permissions?
    for label, counts in statuses.items():
        print(f"{role:12} {label:50} {dict(sorted(counts.items()))}")
