"""POST /api/oversight/filed-reports/: approval systems report the intermediary report filed with
an approval case (FA06 compares it with what was procured on the platform).

Authorisation matrix over the personas (only an account of an approving department may post; a
refused request stores nothing and writes no audit event), idempotence (201, then 200), bad input
with its Chinese message, HTTP Basic authentication for machine clients (throttled like the login
page), CSRF for session clients, the OpenAPI schema, and the whole path from a post to an FA06 flag.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import yaml
from django.conf import settings
from django.test import Client
from django.utils import timezone

from marketplace.core.models import AuditEvent
from marketplace.oversight.models import FiledReport, Flag
from tests.conftest import login_as
from tests.factories import DepartmentFactory, IntermediaryFactory, ServiceTypeFactory, make_uscc

pytestmark = pytest.mark.django_db

URL = "/api/oversight/filed-reports/"
PASSWORD = "Pa55word!2026"  # UserFactory's
PERSONAS = ["anonymous", "intermediary", "other_intermediary", "owner", "department", "regulator", "operator"]


@pytest.fixture
def department(personas):
    """The catalogue department whose account ``personas.department`` is."""
    organisation = personas.department.memberships.get().organisation
    return DepartmentFactory(organisation=organisation, name_zh="枣庄市生态环境局")


@pytest.fixture
def service_type():
    return ServiceTypeFactory()


def payload(service_type, **overrides) -> dict:
    values = {
        "approval_case_number": "ZZSP-2026-000123",
        "service_type_code": service_type.code,
        "intermediary_uscc": make_uscc(),
        "filed_on": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "investment_project_code": "2026-370402-48-01-000001",
    }
    values.update(overrides)
    return values


def post(client, data, **extra):
    return client.post(URL, data, content_type="application/json", **extra)


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def stored() -> tuple[int, int]:
    return FiledReport.objects.count(), AuditEvent.objects.count()


# --- authorisation ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_a_department_account_may_post(client, personas, department, service_type, persona):
    login_as(client, personas.all()[persona])
    before = stored()
    response = post(client, payload(service_type))
    if persona == "department":
        assert response.status_code == 201, response.content
        assert FiledReport.objects.get().department == department
    else:
        assert response.status_code == 403
        assert stored() == before


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "anonymous"])
def test_basic_authentication_follows_the_same_matrix(client, personas, department, service_type, persona):
    user = personas.all()[persona]
    before = stored()
    response = post(client, payload(service_type), **basic(user.username, PASSWORD))
    if persona == "department":
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 403
        assert stored() == before


def test_a_department_account_not_linked_to_a_catalogue_department_is_refused(client, personas, service_type):
    login_as(client, personas.department)
    response = post(client, payload(service_type))
    assert response.status_code == 403
    assert "审批部门" in response.json()["detail"]
    assert stored() == (0, 0)


def test_a_wrong_basic_password_is_refused(client, personas, department, service_type):
    response = post(client, payload(service_type), **basic(personas.department.username, "wrong"))
    assert response.status_code == 403
    assert FiledReport.objects.count() == 0


def test_repeated_basic_failures_are_throttled_like_the_login_page(
    client, personas, department, service_type
):
    user = personas.department
    for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS):
        assert post(client, payload(service_type), **basic(user.username, "wrong")).status_code == 403
    response = post(client, payload(service_type), **basic(user.username, PASSWORD))
    assert response.status_code == 403
    assert "登录失败次数过多" in response.json()["detail"]
    assert FiledReport.objects.count() == 0


def test_session_clients_need_the_csrf_token_and_basic_clients_do_not(personas, department, service_type):
    session = Client(enforce_csrf_checks=True)
    login_as(session, personas.department)
    assert post(session, payload(service_type)).status_code == 403
    machine = Client(enforce_csrf_checks=True)
    assert (
        post(machine, payload(service_type), **basic(personas.department.username, PASSWORD)).status_code
        == 201
    )
    assert FiledReport.objects.count() == 1


# --- behaviour -------------------------------------------------------------------------------


def test_a_new_report_is_created_and_rendered(client, personas, department, service_type):
    login_as(client, personas.department)
    data = payload(service_type)
    response = post(client, data)
    assert response.status_code == 201
    body = response.json()
    report = FiledReport.objects.get()
    assert body["id"] == report.pk and body["department"] == department.code
    for field in (
        "approval_case_number",
        "service_type_code",
        "intermediary_uscc",
        "filed_on",
        "investment_project_code",
    ):
        assert body[field] == data[field]
    assert AuditEvent.objects.filter(action="filed_report.receive").count() == 1


def test_posting_the_same_report_again_returns_200_and_adds_nothing(
    client, personas, department, service_type
):
    login_as(client, personas.department)
    data = payload(service_type)
    first = post(client, data)
    before = stored()
    again = post(client, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert stored() == before


def test_the_investment_project_code_is_optional(client, personas, department, service_type):
    login_as(client, personas.department)
    data = payload(service_type)
    del data["investment_project_code"]
    assert post(client, data).status_code == 201
    assert FiledReport.objects.get().investment_project_code == ""


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"intermediary_uscc": "91370400000000000X"}, "intermediary_uscc", "统一社会信用代码"),
        ({"service_type_code": "no-such-service"}, "service_type_code", "未知的中介服务事项"),
        ({"filed_on": "2999-01-01"}, "filed_on", "备案日期不能晚于今天"),
        ({"approval_case_number": "   "}, "approval_case_number", ""),
        ({"filed_on": "not a date"}, "filed_on", ""),
    ],
)
def test_bad_input_is_refused_with_its_message(
    client, personas, department, service_type, overrides, field, message
):
    login_as(client, personas.department)
    response = post(client, payload(service_type, **overrides))
    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert message in " ".join(errors[field])
    assert stored() == (0, 0)


def test_the_schema_documents_the_endpoint_with_basic_authentication(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    operation = schema["paths"][URL]["post"]
    assert {"201", "200", "400", "403"} <= set(operation["responses"])
    assert {"basicAuth": []} in operation["security"] and {"cookieAuth": []} in operation["security"]


def test_a_posted_report_of_a_firm_that_did_not_win_here_is_flagged_at_once(
    client, personas, department, service_type, django_capture_on_commit_callbacks
):
    """The intake enqueues a scan of the firm on commit: the FA06 flag appears without waiting
    for the nightly scan."""
    firm = IntermediaryFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            payload(service_type, intermediary_uscc=firm.uscc),
            **basic(personas.department.username, PASSWORD),
        )
    assert response.status_code == 201
    flag = Flag.objects.get(rule="FA06")
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == (
        "department",
        department.pk,
        firm.pk,
    )
    assert flag.evidence["case"] == "ZZSP-2026-000123" and flag.evidence["uscc"] == firm.uscc
