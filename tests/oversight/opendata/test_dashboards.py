"""The regulator dashboards: who may see them, what each table shows on a known market, the
filters (and clear errors for bad ones), the CSV and Excel exports, and query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from marketplace.oversight.dashboards import selectors
from marketplace.oversight.models import Flag
from marketplace.procurement.models import Application, Project
from tests.factories import DepartmentFactory, PriceBandFactory, ServiceTypeFactory

from .helpers import FullMarket

pytestmark = pytest.mark.django_db
V = Application.State
URL = "/regulator/dashboards/"
PERSONAS = ["anonymous", "intermediary", "owner", "department", "regulator", "operator"]


@pytest.fixture
def market():
    return FullMarket()


def flag(project, rule, status):
    now = timezone.now()
    return Flag.objects.create(
        rule=rule,
        category="competition",
        subject_type="project",
        subject_id=project.pk,
        fingerprint=f"{rule}-{project.pk}-{status}",
        weight=5,
        status=status,
        project=project,
        department=project.department,
        first_seen=now,
        last_seen=now,
    )


@pytest.fixture
def city(market):
    """Two departments. In the first, firm a won 3 of 4 rounds and b one; in the second, four
    firms one round each. One failed round, one contract overdue, quotes against a band."""
    land, health = DepartmentFactory(code="zz-land"), DepartmentFactory(code="zz-health")
    survey = market.service_type
    a, b, c, d = market.firms(4)
    rounds = []
    for winner in (a, a, a, b):
        p = market.round([(a, "80000"), (b, "90000")], winner=winner)
        rounds.append(p)
    for winner in (a, b, c, d):
        p = market.round([(winner, "50000")], winner=winner)
        rounds.append(p)
    Project.objects.filter(pk__in=[p.pk for p in rounds[:4]]).update(department=land)
    Project.objects.filter(pk__in=[p.pk for p in rounds[4:]]).update(department=health)
    failed = market.round([(c, "1000", V.DISQUALIFIED)])
    Project.objects.filter(pk=failed.pk).update(status="failed", department=land)
    Project.objects.filter(pk=rounds[0].pk).update(
        status="contracting", contract_due=timezone.localdate() - timedelta(days=3)
    )
    PriceBandFactory(
        service_type=survey,
        scale_from=Decimal("0"),
        scale_to=None,
        fee_min=Decimal("60000"),
        fee_max=Decimal("85000"),
    )
    rounds = [Project.objects.get(pk=p.pk) for p in rounds]
    flag(rounds[1], "CO01", "confirmed")
    flag(rounds[2], "CO01", "dismissed")
    flag(rounds[3], "CO01", "open")
    return {"land": land, "health": health, "rounds": rounds, "firms": (a, b, c, d), "survey": survey}


@pytest.mark.parametrize("persona", PERSONAS)
def test_dashboards_and_exports_are_for_regulators_only(client, login, personas, persona):
    login(client, personas.all()[persona])
    for url in (URL, reverse("oversight:dashboard-export", args=["flags", "csv"])):
        response = client.get(url)
        if persona == "anonymous":
            assert response.status_code == 302
        else:
            assert response.status_code == (200 if persona == "regulator" else 403)


def test_winner_shares_and_hhi_per_department(city):
    rows = {r["department"]: r for r in selectors.concentration(selectors.Filters())}
    land = rows[city["land"].name_zh]
    assert (land["awarded"], land["winners"], land["top_share"], land["hhi"]) == (4, 2, Decimal("75.0"), 6250)
    assert land["top_winner"] == city["firms"][0].name
    health = rows[city["health"].name_zh]
    assert (health["winners"], health["hhi"]) == (4, 2500)


def test_quotes_against_the_band_and_fill_rate(city):
    (prices,) = selectors.prices(selectors.Filters())
    # 8 quotes at 80000/90000 in land (4 above the 85000 ceiling), 4 at 50000 (below 60000) and
    # one disqualified quote of 1000 (below).
    assert (prices["quotes"], prices["banded"], prices["below_band"], prices["above_band"]) == (13, 13, 5, 4)
    (fill,) = selectors.fill_rate(selectors.Filters())
    assert (fill["closed"], fill["awarded"], fill["failed"]) == (9, 8, 1)
    assert fill["fill_rate"] == Decimal("88.9")


def test_overdue_contracts_and_the_share_confirmed_per_rule(city):
    (summary,) = selectors.overdue_summary(selectors.Filters())
    assert (summary["department"], summary["contract"], summary["total"]) == (city["land"].name_zh, 1, 1)
    (row,) = selectors.overdue_rows(selectors.Filters())
    assert row["public_number"] == city["rounds"][0].public_number
    assert row["days_overdue"] == 3
    (co01,) = selectors.flags_by_rule(selectors.Filters())
    assert (co01["open"], co01["confirmed"], co01["dismissed"], co01["confirmed_share"]) == (
        1,
        1,
        1,
        Decimal("50.0"),
    )


def test_filters_by_department_service_type_and_period(client, login, personas, city):
    login(client, personas.regulator)
    response = client.get(URL, {"department": "zz-health"})
    assert response.status_code == 200
    text = response.content.decode()
    assert city["health"].name_zh in text and "6250" not in text
    other = ServiceTypeFactory()
    empty = selectors.concentration(selectors.Filters(service_type_id=other.pk))
    assert empty == []
    past = timezone.localdate() - timedelta(days=400)
    assert selectors.fill_rate(selectors.Filters(date_to=past)) == []
    response = client.get(URL, {"service_type": other.code, "date_from": past.isoformat()})
    assert response.status_code == 200
    assert "没有符合条件的数据" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"department": "nowhere"}, "没有编码为“nowhere”的部门"),
        ({"service_type": "nothing"}, "没有编码为“nothing”的服务事项"),
        ({"date_from": "2025-05-01", "date_to": "2025-04-01"}, "起始日期不能晚于截止日期"),
        ({"date_from": "May"}, "date_from"),
    ],
)
def test_unknown_filter_values_get_a_clear_error(client, login, personas, city, query, message):
    login(client, personas.regulator)
    response = client.get(URL, query)
    assert response.status_code == 400
    text = response.content.decode()
    assert "筛选条件无效" in text
    if message != "date_from":
        assert message in text
    exported = client.get(reverse("oversight:dashboard-export", args=["concentration", "csv"]), query)
    assert exported.status_code == 400
    assert "筛选条件无效" in exported.content.decode()


def test_every_table_exports_to_csv_and_excel(client, login, personas, city):
    login(client, personas.regulator)
    for table in ("concentration", "prices", "fill", "overdue_summary", "overdue", "flags"):
        response = client.get(
            reverse("oversight:dashboard-export", args=[table, "csv"]), {"department": "zz-land"}
        )
        assert response.status_code == 200
        assert response.streaming
        content = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(content)))
        assert len(rows) >= 2, table
        response = client.get(
            reverse("oversight:dashboard-export", args=[table, "xlsx"]), {"department": "zz-land"}
        )
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert [c.value for c in sheet[1]] == rows[0]
        assert sheet.max_row == len(rows)
    assert client.get(reverse("oversight:dashboard-export", args=["secrets", "csv"])).status_code == 404


def test_concentration_export_has_the_hhi(client, login, personas, city):
    login(client, personas.regulator)
    response = client.get(reverse("oversight:dashboard-export", args=["concentration", "csv"]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert {r["HHI 指数"] for r in rows} == {"6250", "2500"}


def test_the_page_passes_chart_data_without_inline_script(client, login, personas, city):
    login(client, personas.regulator)
    response = client.get(URL)
    text = response.content.decode()
    assert '<script id="dashboard-charts" type="application/json">' in text
    assert "vendor/echarts/echarts.min.js" in text
    assert 'href="/api/ocds/releases/"' in text
    assert "script-src 'self'" in response["Content-Security-Policy"]
    for script in text.split("<script")[1:]:
        head, _, body = script.partition(">")
        assert "src=" in head or 'type="application/json"' in head or not body.split("</script>")[0].strip()


def test_the_page_costs_the_same_queries_whatever_the_market(
    client, login, personas, market, city, django_assert_max_num_queries
):
    login(client, personas.regulator)
    with django_assert_max_num_queries(25) as first:
        assert client.get(URL).status_code == 200
    a, b = market.firms(2)
    for _ in range(15):
        project = market.round([(a, "80000"), (b, "85000")], winner=b, service_type=ServiceTypeFactory())
        flag(project, "CO02", "open")
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get(URL).status_code == 200
