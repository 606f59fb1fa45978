"""The OCDS export: what each stage of a project becomes, what stays sealed, the window of
changes, bad input, constant queries per chunk, and validation with libcoveocds (offline)."""

from __future__ import annotations

import gc
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.core.errors import ValidationFailed
from marketplace.oversight.ocds.export import Window, iter_releases, write_package
from marketplace.procurement.models import Application, Project
from tests.factories import DepartmentFactory

from .helpers import FullMarket, by_ocid, export, needs_kit, validate

pytestmark = pytest.mark.django_db
V = Application.State


@pytest.fixture
def market():
    return FullMarket()


def journey(market: FullMarket):
    """A lowest-price round won by ``a`` (``c`` disqualified, ``d`` withdrew), contracted,
    amended, paid and partly refunded."""
    a, b, c, d = market.firms(4)
    project = market.round(
        [(a, "80000"), (b, "85000"), (c, "70000", V.DISQUALIFIED), (d, None, V.WITHDRAWN)], winner=a
    )
    project.department = DepartmentFactory()
    project.save(update_fields=["department", "updated_at"])
    contract = market.contract(project, a, "80000")
    market.amend(contract, "88000")
    market.pay(contract, "30000", days_ago=2)
    market.pay(contract, "5000", kind="refund", days_ago=1)
    return project, (a, b, c, d)


@override_settings(OCDS_OCID_PREFIX="ocds-test01-")
def test_a_finished_journey_exports_every_stage(market):
    project, (a, b, c, d) = journey(market)
    release = by_ocid(export())[f"ocds-test01-{project.public_number}"]

    assert release["tag"] == ["tender", "award", "contract", "implementation"]
    assert release["buyer"]["name"] == project.owner.name
    tender = release["tender"]
    assert (tender["procurementMethod"], tender["procurementMethodDetails"], tender["awardCriteria"]) == (
        "open",
        "lowestPrice",
        "priceOnly",
    )
    assert tender["status"] == "complete"
    assert tender["numberOfTenderers"] == 3  # the withdrawn firm did not bid
    assert tender["tenderPeriod"]["endDate"].endswith("+08:00")
    assert tender["value"] == {"amount": 1000000.0, "currency": "CNY"}

    bids = {b_["tenderers"][0]["id"]: b_ for b_ in release["bids"]["details"]}
    assert bids[f"CN-USCI-{c.uscc}"]["status"] == "disqualified"
    assert bids[f"CN-USCI-{c.uscc}"]["value"]["amount"] == 70000.0
    assert bids[f"CN-USCI-{d.uscc}"]["status"] == "withdrawn"
    assert "value" not in bids[f"CN-USCI-{d.uscc}"]
    assert bids[f"CN-USCI-{a.uscc}"]["status"] == "valid"

    parties = {p["id"]: p for p in release["parties"]}
    winner = parties[f"CN-USCI-{a.uscc}"]
    assert winner["identifier"] == {"scheme": "CN-USCI", "id": a.uscc, "legalName": a.name}
    assert set(winner["roles"]) == {"tenderer", "supplier", "payee", "payer"}
    assert set(parties[f"CN-USCI-{project.owner.uscc}"]["roles"]) >= {"buyer", "procuringEntity", "payer"}
    assert "interestedParty" in parties[f"zjcs-dept-{project.department.code}"]["roles"]

    (award,) = release["awards"]
    assert award["status"] == "active"
    assert award["suppliers"] == [{"id": f"CN-USCI-{a.uscc}", "name": a.name}]
    assert award["value"]["amount"] == 80000.0

    (contract,) = release["contracts"]
    assert contract["awardID"] == award["id"]
    assert contract["status"] == "active"
    assert contract["value"]["amount"] == 88000.0
    assert contract["amendments"][0]["rationale"] == "增加补充测绘内容"
    charge, refund = contract["implementation"]["transactions"]
    assert charge["value"]["amount"] == 30000.0
    assert charge["payee"]["id"] == f"CN-USCI-{a.uscc}"
    assert refund["payer"]["id"] == f"CN-USCI-{a.uscc}"
    assert refund["payee"]["id"] == f"CN-USCI-{project.owner.uscc}"


def test_applicants_and_quotes_stay_sealed_until_registration_closes(market):
    a, b = market.firms(2)
    project = market.round([(a, "80000"), (b, "85000")])
    Project.objects.filter(pk=project.pk).update(
        status="published", registration_deadline=timezone.now() + timedelta(days=3)
    )
    release = export()["releases"][0]
    assert "bids" not in release
    assert "numberOfTenderers" not in release["tender"]
    assert "tenderers" not in release["tender"]
    assert all("tenderer" not in p["roles"] for p in release["parties"])
    assert a.uscc not in str(release) and b.uscc not in str(release)


def test_drafts_and_projects_under_check_are_not_exported(market):
    a = market.firm()
    for status in ("draft", "under_check", "returned"):
        project = market.round([(a, "80000")])
        Project.objects.filter(pk=project.pk).update(status=status, published_at=None)
    assert export()["releases"] == []


def test_each_selection_method_maps_to_the_design_table(market):
    expected = {
        "direct": ("direct", "directSelection", None),
        "random_draw": ("open", "randomDraw", None),
        "lowest_price": ("open", "lowestPrice", "priceOnly"),
        "reference_price": ("open", "referencePrice", "priceOnly"),
        "credit_preference": ("open", "creditPreference", "ratedCriteria"),
        "scored_comparison": ("open", "scoredComparison", "ratedCriteria"),
    }
    a = market.firm()
    numbers = {market.round([(a, "80000")], winner=a, method=m).public_number: m for m in expected}
    for release in export()["releases"]:
        tender = release["tender"]
        method = numbers[tender["id"]]
        got = (tender["procurementMethod"], tender["procurementMethodDetails"], tender.get("awardCriteria"))
        assert got == expected[method]
        assert ("awardCriteriaDetails" in tender) == (method == "random_draw")


def test_a_failed_round_and_its_relaunch_are_linked(market):
    a = market.firm()
    failed = market.round([(a, "80000")])
    Project.objects.filter(pk=failed.pk).update(status="relaunched")
    relaunch = market.round([(a, "80000")], winner=a)
    Project.objects.filter(pk=relaunch.pk).update(relaunch_of=failed)
    releases = {r["tender"]["id"]: r for r in export()["releases"]}
    assert releases[failed.public_number]["tender"]["status"] == "unsuccessful"
    (related,) = releases[relaunch.public_number]["relatedProcesses"]
    assert related["relationship"] == ["unsuccessfulProcess"]
    assert related["identifier"].endswith(failed.public_number)


@needs_kit
def test_the_export_validates_with_zero_errors(market, tmp_path):
    journey(market)
    a, b = market.firms(2)
    for method in ("direct", "random_draw", "reference_price", "credit_preference", "scored_comparison"):
        market.round([(a, "80000"), (b, "80000")], winner=a, method=method)
    cancelled = market.round([(a, "1000")])
    Project.objects.filter(pk=cancelled.pk).update(status="cancelled")
    sealed = market.round([(a, "1000")])
    Project.objects.filter(pk=sealed.pk).update(status="published")
    package = export()
    assert len(package["releases"]) == 8
    output = validate(package, tmp_path)
    assert "releases/records=8" in output


def test_since_selects_projects_changed_in_the_window_including_payments(market):
    a = market.firm()
    old = market.round([(a, "80000")], winner=a)
    paid = market.round([(a, "80000")], winner=a)
    contract = market.contract(paid, a, "80000")
    fresh = market.round([(a, "80000")], winner=a)
    long_ago = timezone.now() - timedelta(days=100)
    Project.objects.filter(pk__in=[old.pk, paid.pk]).update(updated_at=long_ago)
    market.pay(contract, "100", days_ago=1)

    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    numbers = {r["tender"]["id"] for r in export(Window.parse(since))["releases"]}
    assert numbers == {paid.public_number, fresh.public_number}
    until = (timezone.localdate() - timedelta(days=50)).isoformat()
    numbers = {r["tender"]["id"] for r in export(Window.parse(None, until))["releases"]}
    assert numbers == {old.public_number, paid.public_number}  # any change in the window counts


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        ("2025-05-01", "2025-04-01", None),
        ("2025-05-01", "2025-05-01T00:00:00+08:00", None),
        ("2025-13-01", None, "since"),
        ("yesterday", None, "since"),
        (None, "1999-12-31", "until"),
        ("2999-01-01", None, "since"),
    ],
)
def test_an_impossible_or_unreadable_range_is_refused_clearly(since, until, field):
    with pytest.raises(ValidationFailed) as caught:
        Window.parse(since, until)
    assert field in caught.value.errors
    assert all(str(m) for msgs in caught.value.errors.values() for m in msgs)


def test_the_command_refuses_an_impossible_range_and_writes_nothing(tmp_path):
    out = tmp_path / "export.json"
    with pytest.raises(CommandError, match="日期范围不成立"):
        call_command("export_ocds", "--since", "2025-05-01", "--until", "2025-04-01", "--out", str(out))
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_the_command_writes_a_package(market, tmp_path):
    journey(market)
    out = tmp_path / "export.json"
    call_command("export_ocds", "--out", str(out))
    import json

    package = json.loads(out.read_text(encoding="utf-8"))
    assert package["version"] == "1.1"
    assert package["extensions"][0].endswith("ocds_bid_extension/v1.1.5/extension.json")
    assert len(package["releases"]) == 1
    assert not (tmp_path / "export.json.partial").exists()


def test_queries_per_chunk_do_not_grow_with_the_projects(market):
    def queries(n: int) -> int:
        a, b = market.firms(2)
        for _ in range(n):
            project = market.round([(a, "80000"), (b, "90000")], winner=a)
            contract = market.contract(project, a, "80000")
            market.amend(contract, "81000")
            market.pay(contract, "1000")
        with CaptureQueriesContext(connection) as context:
            list(iter_releases(chunk_size=50))
        return len(context.captured_queries)

    small = queries(3)
    assert small <= 7
    assert queries(12) == small


def test_each_batch_costs_six_queries_whatever_the_projects_hold(market):
    """N and then 3N whole journeys, exported in batches of four: the queries grow by six for
    each added batch (its projects, then their applications, selections, contracts, amendments
    and payments), never with the projects or their rows."""
    a, b = market.firms(2)

    def queries(total: int) -> int:
        while Project.objects.count() < total:
            project = market.round([(a, "80000"), (b, "90000")], winner=a)
            contract = market.contract(project, a, "80000")
            market.amend(contract, "81000")
            market.pay(contract, "1000")
            market.pay(contract, "500", kind="refund")
        with CaptureQueriesContext(connection) as context:
            assert len(list(iter_releases(chunk_size=4))) == total
        return len(context.captured_queries)

    n = queries(4)  # one full batch, then the query that finds no more projects
    assert n == 6 + 1
    assert queries(12) == n + 6 * 2


def test_rows_of_a_sealed_project_between_open_ones_stay_out(market):
    """Open projects next to each other are read as one range of ids: the applicants of a
    project still in registration, inside that range, must not leak into any release."""
    a, b, c = market.firms(3)
    first = market.round([(a, "80000")], winner=a)
    sealed = market.round([(b, "70000"), (c, "75000")])
    Project.objects.filter(pk=sealed.pk).update(
        status="published", registration_deadline=timezone.now() + timedelta(days=3)
    )
    last = market.round([(a, "85000")], winner=a)
    releases = {r["tender"]["id"]: r for r in export()["releases"]}

    assert "bids" not in releases[sealed.public_number]
    for project in (first, last):
        release = releases[project.public_number]
        assert [bid["tenderers"][0]["id"] for bid in release["bids"]["details"]] == [f"CN-USCI-{a.uscc}"]
        assert {p["id"] for p in release["parties"]} >= {f"CN-USCI-{a.uscc}"}
        assert not {f"CN-USCI-{b.uscc}", f"CN-USCI-{c.uscc}"} & {p["id"] for p in release["parties"]}


def test_projects_far_apart_in_a_window_keep_their_own_bids_and_payments(market):
    """A window can pick projects whose ids lie far apart (read by id list, not as a range):
    each release still carries exactly its own bids, contract and payments."""
    a, b = market.firms(2)
    projects = [market.round([(a, "80000"), (b, "90000")], winner=a) for _ in range(6)]
    contracts = {p.pk: market.contract(p, a, "80000") for p in (projects[0], projects[-1])}
    for contract in contracts.values():
        market.pay(contract, "1000")
    long_ago = timezone.now() - timedelta(days=100)
    Project.objects.filter(pk__in=[p.pk for p in projects[1:-1]]).update(updated_at=long_ago)

    since = (timezone.localdate() - timedelta(days=10)).isoformat()
    releases = {r["tender"]["id"]: r for r in export(Window.parse(since))["releases"]}

    assert set(releases) == {projects[0].public_number, projects[-1].public_number}
    for project in (projects[0], projects[-1]):
        release = releases[project.public_number]
        assert len(release["bids"]["details"]) == 2
        (contract,) = release["contracts"]
        assert contract["id"] == str(contracts[project.pk].pk)
        (payment,) = contract["implementation"]["transactions"]
        assert payment["value"]["amount"] == 1000.0
        assert release["tag"] == ["tender", "award", "contract", "implementation"]


def test_writing_a_package_pauses_the_garbage_collector_and_always_restores_it(market):
    """The cyclic collector is off while a package is written (it found nothing to free and
    cost a quarter of the time) and back on afterwards, even when the export fails midway."""
    a = market.firm()
    market.round([(a, "80000")], winner=a)
    seen = []

    def watched():
        for release in iter_releases():
            seen.append(gc.isenabled())
            yield release

    assert gc.isenabled()
    assert write_package(io.StringIO(), watched(), uri="urn:test") == 1
    assert seen == [False]
    assert gc.isenabled()

    def failing():
        yield from iter_releases()
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        write_package(io.StringIO(), failing(), uri="urn:test")
    assert gc.isenabled()
