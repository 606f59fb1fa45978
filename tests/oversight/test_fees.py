"""The irregular-fee rules FE01-FE10 and the billing ledger they read.

Rows are built with the ORM: the services refuse most of the planted violations (a contract
amount other than the quote, a charge with no contract line), and the peer rules need dozens of
closed rounds."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.ledger import contract_net_paid
from billing.models import LedgerEntry
from marketplace.accounts.models import Role
from marketplace.catalog.models import PricingRegime
from marketplace.oversight import services
from marketplace.oversight.models import Flag, PeerStatistic
from marketplace.oversight.rules.base import Scope, get_rule
from marketplace.oversight.rules.fees import fences
from marketplace.oversight.rules.stats import quantile_r8
from marketplace.procurement.models import Amendment, Application, Contract, Delivery, Project, Selection
from marketplace.providers.models import FeeSchedule
from tests.factories import (
    IntermediaryFactory,
    OfferFactory,
    OrganisationFactory,
    PriceBandFactory,
    ServiceTypeFactory,
    UserFactory,
)
from tests.procurement.factories import operator_user

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)
D = Decimal


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


class Market:
    """A small market built row by row."""

    def __init__(self):
        self.user = UserFactory()
        self.owner = OrganisationFactory(kind=Role.OWNER)
        self.guided = ServiceTypeFactory(pricing_regime=PricingRegime.GOVERNMENT_GUIDED)
        PriceBandFactory(
            service_type=self.guided,
            scale_from=D("0"),
            scale_to=D("500"),
            fee_min=D("5000"),
            fee_max=D("20000"),
        )
        PriceBandFactory(
            service_type=self.guided,
            scale_from=D("500"),
            scale_to=None,
            fee_min=D("20000"),
            fee_max=D("100000"),
        )
        self.service = ServiceTypeFactory()  # market-priced, no bands

    def firm(self, service_type=None, **fee):
        firm = IntermediaryFactory()
        offer = OfferFactory(intermediary=firm, service_type=service_type or self.service, fee=fee or None)
        FeeSchedule.objects.filter(offer=offer).update(effective_from=days_ago(400))
        return firm

    def project(
        self, service_type=None, *, scale="1000", method="lowest_price", source="fiscal", owner=None, **kw
    ):
        n = next(_numbers)
        values = {
            "public_number": f"TFE{n:06d}",
            "owner": owner or self.owner,
            "created_by": self.user,
            "title": f"测试项目{n}",
            "service_type": service_type or self.service,
            "funding_source": source,
            "scale": D(scale),
            "price_floor": D("1000"),
            "price_ceiling": D("49999") if method == "direct" else D("200000"),
            "service_content": "编制报告",
            "service_days": 30,
            "method": method,
            "method_reason": "专业性强" if method == "direct" else "",
            "registration_deadline": days_ago(20),
            "selection_time": days_ago(20),
            "published_at": days_ago(30),
            "status": "in_service",
        }
        values.update(kw)
        return Project.objects.create(**values)

    def apply(self, project, firm, quote, *, state="valid", submitted_at=None):
        return Application.objects.create(
            project=project,
            intermediary=firm,
            submitted_by=self.user,
            submitted_at=submitted_at or days_ago(22),
            sealed_quote="sealed",
            quote_amount=D(quote),
            state=state,
        )

    def win(self, project, firm, quote, *, at=None):
        application = self.apply(project, firm, quote)
        Selection.objects.create(
            project=project, method=project.method, performed_at=at or days_ago(19), winner=application
        )
        return application

    def contract(self, application, amount=None, *, pay_after_acceptance=True):
        return Contract.objects.create(
            project=application.project,
            intermediary=application.intermediary,
            amount=D(amount) if amount else application.quote_amount,
            document="contracts/test.pdf",
            uploaded_by_org=application.project.owner,
            uploaded_at=days_ago(15),
            confirmed_at=days_ago(15),
            pay_after_acceptance=pay_after_acceptance,
        )

    def amend(self, contract, new_amount):
        Amendment.objects.create(
            contract=contract,
            old_amount=contract.amount,
            new_amount=D(new_amount),
            reason="增加服务内容",
            created_at=timezone.now(),
            created_by=self.user,
        )
        contract.amount = D(new_amount)
        Contract.objects.filter(pk=contract.pk).update(amount=contract.amount)

    def accept(self, project, at):
        Delivery.objects.create(
            project=project,
            document="deliveries/x.pdf",
            delivered_at=at - timedelta(days=1),
            decision="accepted",
            decided_at=at,
        )

    def pay(self, contract, amount, *, kind="charge", milestone="验收款", at=None, **parties):
        return LedgerEntry.objects.create(
            contract=contract,
            kind=kind,
            amount=D(amount),
            milestone=milestone,
            occurred_at=at or days_ago(1),
            reference=f"RCPT-{next(_numbers)}",
            **parties,
        )


def open_flags(code):
    return Flag.objects.filter(rule=code, status=Flag.Status.OPEN)


def run(code, scope=None):
    services.monitor_run(scope=scope, codes=[code])
    return list(open_flags(code).order_by("pk"))


# --- planted violations, one per rule (each returns the project to scope a run on) --------------


def plant_fe01(m):
    project = m.project(m.guided, scale="1000")
    m.apply(project, m.firm(m.guided), "15000")
    return project


def plant_fe02(m):
    project = m.project()
    m.apply(project, m.firm(fee_max=D("30000")), "40000")
    return project


def plant_fe03(m):
    firm = m.firm(fee_min=D("15000"), fee_max=D("30000"))
    offer = firm.offers.get()
    FeeSchedule.objects.create(
        offer=offer,
        version=2,
        basis="fixed",
        rate=D("30000"),
        fee_min=D("15000"),
        fee_max=D("40000"),
        effective_from=days_ago(32),
    )
    project = m.project()
    m.apply(project, firm, "28000", submitted_at=days_ago(22))
    return project


def plant_fe04(m):
    unamended = m.project()
    m.contract(m.win(unamended, m.firm(), "50000"), "60000")
    amended = m.project()
    m.amend(m.contract(m.win(amended, m.firm(), "50000")), "60000")
    return unamended


def plant_fe05(m):
    project = m.project()
    contract = m.contract(m.win(project, m.firm(), "50000"))
    m.pay(contract, "30000", milestone="首付款")
    m.pay(contract, "30000", kind="offline_payment", milestone="尾款")
    m.pay(contract, "5000", kind="refund", milestone="尾款")
    return project


def plant_fe06(m):
    project = m.project()
    contract = m.contract(m.win(project, m.firm(), "50000"))
    m.pay(contract, "20000", at=days_ago(5))
    m.accept(project, at=days_ago(2))
    return project


def plant_fe07(m):
    firms = [m.firm() for _ in range(3)]
    for i in range(10):
        m.apply(m.project(scale="1000"), firms[i % 3], 50000 + 1000 * i)
    project = m.project(scale="1000")
    m.apply(project, m.firm(), "10000")
    return project


def plant_fe08(m):
    firms = [m.firm() for _ in range(3)]
    for i in range(10):
        m.win(m.project(scale="1000"), firms[i % 3], 50000 + 1000 * i)
    project = m.project(scale="1000")
    m.win(project, m.firm(), "150000")
    return project


def plant_fe09(m):
    firm = m.firm()
    m.pay(None, "8000", milestone="", intermediary=firm, owner=m.owner)
    project = m.project()
    contract = m.contract(m.win(project, firm, "50000"))
    m.pay(contract, "3000", milestone="")
    return project


def near_threshold(fraction):
    return (D(settings.DIRECT_SELECTION_THRESHOLDS["fiscal"]) * D(fraction)).quantize(D("0.01"))


def plant_fe10(m):
    firm = m.firm()
    m.win(m.project(method="direct"), firm, near_threshold("0.92"), at=days_ago(120))
    latest = m.project(method="direct")
    m.win(latest, firm, near_threshold("0.96"), at=days_ago(20))
    return latest


PLANTS = {
    "FE01": plant_fe01,
    "FE02": plant_fe02,
    "FE03": plant_fe03,
    "FE04": plant_fe04,
    "FE05": plant_fe05,
    "FE06": plant_fe06,
    "FE07": plant_fe07,
    "FE08": plant_fe08,
    "FE09": plant_fe09,
    "FE10": plant_fe10,
}


# --- the ledger ---------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["0", "-100"])
def test_the_ledger_refuses_non_positive_amounts(amount):
    m = Market()
    contract = m.contract(m.win(m.project(), m.firm(), "50000"))
    with pytest.raises(IntegrityError), transaction.atomic():
        m.pay(contract, amount)
    assert not LedgerEntry.objects.exists()


def test_ledger_entries_are_append_only():
    m = Market()
    entry = m.pay(m.contract(m.win(m.project(), m.firm(), "50000")), "100")
    entry.amount = D("1")
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("1"))
    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.get().amount == D("100.00")


def test_net_paid_counts_refunds_against_payments():
    m = Market()
    plant_fe05(m)
    assert contract_net_paid(Contract.objects.get().pk) == D("55000.00")


def test_quartiles_are_the_r8_estimator_cardinal_uses():
    values = [Fraction(v) for v in range(1, 11)]
    assert quantile_r8(values, Fraction(1, 4)) == Fraction(35, 12)
    assert quantile_r8(values, Fraction(3, 4)) == Fraction(97, 12)
    fence = fences([D(v) for v in range(1, 11)], D("1.5"))
    # Q1 - 1.5 IQR = 35/12 - 1.5 * 62/12 = -58/12
    assert fence["lower"].quantize(D("0.0001")) == D("-4.8333")


# --- FE01 ---------------------------------------------------------------------------------------


def test_fe01_flags_a_quote_below_the_guided_band_for_the_projects_scale():
    m = Market()
    project = plant_fe01(m)
    (flag,) = run("FE01")
    application = project.applications.get()
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == (
        "project",
        project.pk,
        application.intermediary_id,
    )
    keys = ("quote", "fee_min", "fee_max", "scale_from", "scale_to", "direction", "regime")
    assert {k: flag.evidence[k] for k in keys} == {
        "quote": "15000.00",
        "fee_min": "20000.00",
        "fee_max": "100000.00",
        "scale_from": "500.00",
        "scale_to": None,
        "direction": "below",
        "regime": "government_guided",
    }


def test_fe01_leaves_a_quote_inside_its_own_scale_band_and_market_priced_services_alone():
    m = Market()
    m.apply(m.project(m.guided, scale="100"), m.firm(m.guided), "15000")  # small band: 5,000-20,000
    m.apply(m.project(m.service, scale="1000"), m.firm(), "150")  # market-priced: no band
    m.apply(m.project(m.guided, scale="1000"), m.firm(m.guided), "900", state="disqualified")
    assert run("FE01") == []


def test_fe01_per_change_run_judges_winners_not_marked_valid_as_the_full_scan_does():
    """A per-change run asks whether a quote outside its band won only for the rows it found
    (``_valid_or_won``): a winner still marked submitted is flagged, a quote that was never
    valid or whose round was annulled is not, exactly as in the full scan."""
    m = Market()
    firm = m.firm(m.guided)
    project = m.project(m.guided, scale="1000")
    won = m.apply(project, firm, "15000", state="submitted")
    Selection.objects.create(project=project, method=project.method, performed_at=days_ago(19), winner=won)
    m.apply(m.project(m.guided, scale="1000"), firm, "900", state="disqualified")
    annulled = m.project(m.guided, scale="1000")
    lost = m.apply(annulled, firm, "800", state="withdrawn")
    Selection.objects.create(
        project=annulled, method=annulled.method, performed_at=days_ago(19), winner=lost, annulled=True
    )
    elsewhere = m.apply(m.project(m.guided, scale="1000"), firm, "700")
    full = run("FE01")
    assert {f.subject_id for f in full} == {project.pk, elsewhere.project_id}
    Flag.objects.all().delete()
    assert _snapshot(run("FE01", services.scope_for_project(project.pk))) == _snapshot(full)


# --- FE02 ---------------------------------------------------------------------------------------


def test_fe02_flags_a_quote_above_the_firms_published_maximum():
    m = Market()
    project = plant_fe02(m)
    (flag,) = run("FE02")
    assert (flag.subject_type, flag.subject_id) == ("project", project.pk)
    assert flag.intermediary_id == project.applications.get().intermediary_id
    assert (flag.evidence["quote"], flag.evidence["schedule_max"], flag.evidence["schedule_version"]) == (
        "40000.00",
        "30000.00",
        1,
    )


def test_fe02_judges_a_quote_by_the_schedule_in_force_when_the_firm_applied():
    m = Market()
    raised_before, raised_after = m.firm(fee_max=D("30000")), m.firm(fee_max=D("30000"))
    for firm, effective in ((raised_before, days_ago(60)), (raised_after, days_ago(5))):
        FeeSchedule.objects.create(
            offer=firm.offers.get(),
            version=2,
            basis="fixed",
            rate=D("1"),
            fee_min=D("15000"),
            fee_max=D("50000"),
            effective_from=effective,
        )
    m.apply(m.project(), raised_before, "40000")
    late = m.project()
    m.apply(late, raised_after, "40000")
    (flag,) = run("FE02")
    assert flag.project_id == late.pk and flag.evidence["schedule_version"] == 1


# --- FE03 ---------------------------------------------------------------------------------------


def test_fe03_flags_a_schedule_raised_ten_days_before_a_bid():
    m = Market()
    project = plant_fe03(m)
    (flag,) = run("FE03")
    firm_id = project.applications.get().intermediary_id
    assert (flag.subject_type, flag.subject_id, flag.project_id) == ("intermediary", firm_id, project.pk)
    e = flag.evidence
    assert (e["old_max"], e["new_max"], e["version"], e["previous_version"], e["days_before"]) == (
        "30000.00",
        "40000.00",
        2,
        1,
        10,
    )


def test_fe03_ignores_an_old_raise_and_a_fee_cut_before_a_bid():
    m = Market()
    old_raise, cut = m.firm(fee_max=D("30000")), m.firm(fee_max=D("30000"))
    FeeSchedule.objects.create(
        offer=old_raise.offers.get(),
        version=2,
        basis="fixed",
        rate=D("1"),
        fee_min=D("15000"),
        fee_max=D("40000"),
        effective_from=days_ago(70),
    )
    FeeSchedule.objects.create(
        offer=cut.offers.get(),
        version=2,
        basis="fixed",
        rate=D("1"),
        fee_min=D("10000"),
        fee_max=D("25000"),
        effective_from=days_ago(25),
    )
    m.apply(m.project(), old_raise, "28000", submitted_at=days_ago(22))
    m.apply(m.project(), cut, "20000", submitted_at=days_ago(22))
    assert run("FE03") == []


# --- FE04 ---------------------------------------------------------------------------------------


def test_fe04_flags_an_unamended_raise_and_amendments_over_ten_percent():
    m = Market()
    unamended = plant_fe04(m)
    flags = {f.project_id: f for f in run("FE04")}
    assert flags[unamended.pk].evidence["reasons"] == ["unamended"]
    assert flags[unamended.pk].evidence["amount"] == "60000.00"
    (amended,) = [f for pk, f in flags.items() if pk != unamended.pk]
    assert amended.evidence["reasons"] == ["amended"] and amended.evidence["increase_percent"] == "20.0"
    assert amended.subject_type == "project"


def test_fe04_accepts_a_small_amendment_and_a_contract_at_the_quote():
    m = Market()
    m.amend(m.contract(m.win(m.project(), m.firm(), "50000")), "53000")
    m.contract(m.win(m.project(), m.firm(), "50000"))
    assert run("FE04") == []


# --- FE05 ---------------------------------------------------------------------------------------


def test_fe05_flags_payments_above_the_contract_amount():
    m = Market()
    project = plant_fe05(m)
    (flag,) = run("FE05")
    assert (flag.subject_type, flag.subject_id) == ("project", project.pk)
    assert (flag.evidence["amount"], flag.evidence["paid"], flag.evidence["excess"]) == (
        "50000.00",
        "55000.00",
        "5000.00",
    )


def test_fe05_counts_a_refund_that_brings_payments_back_to_the_contract_amount():
    m = Market()
    contract = m.contract(m.win(m.project(), m.firm(), "50000"))
    m.pay(contract, "30000", milestone="首付款")
    m.pay(contract, "30000", kind="offline_payment", milestone="尾款")
    m.pay(contract, "10000", kind="refund", milestone="尾款")
    assert run("FE05") == []


def test_fe05_adds_cents_exactly():
    m = Market()
    contract = m.contract(m.win(m.project(), m.firm(), "100.30"))
    m.pay(contract, "100.10", milestone="首付款")
    m.pay(contract, "0.20", milestone="尾款")
    assert run("FE05") == []


# --- FE06 ---------------------------------------------------------------------------------------


def test_fe06_flags_a_payment_before_acceptance_and_one_with_no_acceptance():
    m = Market()
    accepted_later = plant_fe06(m)
    unaccepted = m.project()
    m.pay(m.contract(m.win(unaccepted, m.firm(), "50000")), "10000", kind="offline_payment")
    flags = {f.project_id: f for f in run("FE06")}
    assert set(flags) == {accepted_later.pk, unaccepted.pk}
    assert flags[accepted_later.pk].evidence["total"] == "20000.00"
    assert flags[accepted_later.pk].evidence["accepted_at"]
    assert flags[unaccepted.pk].evidence["accepted_at"] is None


def test_fe06_allows_early_payment_where_the_contract_does_and_payment_after_acceptance():
    m = Market()
    advance = m.project()
    m.pay(m.contract(m.win(advance, m.firm(), "50000"), pay_after_acceptance=False), "20000", at=days_ago(5))
    after = m.project()
    m.pay(m.contract(m.win(after, m.firm(), "50000")), "50000", at=days_ago(1))
    m.accept(after, at=days_ago(2))
    assert run("FE06") == []


# --- FE07 ---------------------------------------------------------------------------------------


def test_fe07_flags_a_quote_far_below_its_peers():
    m = Market()
    project = plant_fe07(m)
    (flag,) = run("FE07")
    assert (flag.subject_type, flag.subject_id) == ("project", project.pk)
    assert flag.intermediary_id == project.applications.get().intermediary_id
    e = flag.evidence
    assert (e["quote"], e["peers"], e["q1"], e["q3"], e["fence"]) == (
        "10000.00",
        11,
        "51166.67",
        "56833.33",
        "42666.67",
    )
    assert (e["scale_from"], e["scale_to"]) == ("1000.00", "10000.00")


def test_fe07_compares_a_small_projects_quote_only_with_small_projects():
    m = Market()
    firms = [m.firm(m.guided) for _ in range(4)]
    for i in range(8):
        m.apply(m.project(m.guided, scale="2000"), firms[i % 4], 50000 + 1000 * i)
        m.apply(m.project(m.guided, scale="100"), firms[i % 4], 6000 + 500 * i)
    assert run("FE07") == []


def test_fe07_needs_enough_peers():
    m = Market()
    for i in range(5):
        m.apply(m.project(scale="1000"), m.firm(), 50000 + 1000 * i)
    m.apply(m.project(scale="1000"), m.firm(), "1000")
    assert run("FE07") == []


# --- FE08 ---------------------------------------------------------------------------------------


def test_fe08_flags_a_winning_quote_far_above_its_peers():
    m = Market()
    project = plant_fe08(m)
    (flag,) = run("FE08")
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id) == ("project", project.pk, None)
    assert (flag.evidence["quote"], flag.evidence["fence"], flag.evidence["peers"]) == (
        "150000.00",
        "66333.33",
        11,
    )


def test_fe08_compares_a_large_projects_winning_quote_only_with_large_projects():
    m = Market()
    firm = m.firm()
    for i in range(10):
        m.win(m.project(scale="1000"), firm, 50000 + 1000 * i)
    m.win(m.project(scale="50000"), firm, "150000")
    assert run("FE08") == []


# --- FE09 ---------------------------------------------------------------------------------------


def test_fe09_flags_charges_tied_to_no_contract_or_to_no_contract_line():
    m = Market()
    project = plant_fe09(m)
    firm = Contract.objects.get(project=project).intermediary
    flags = run("FE09")
    assert {(f.subject_type, f.subject_id) for f in flags} == {("intermediary", firm.pk)}
    assert {(f.evidence["reason"], f.project_id) for f in flags} == {
        ("no_contract", None),
        ("no_milestone", project.pk),
    }


def test_fe09_names_the_owner_when_no_firm_is_recorded():
    m = Market()
    m.pay(None, "500", milestone="", owner=m.owner)
    (flag,) = run("FE09")
    assert (flag.subject_type, flag.subject_id, flag.owner_id) == ("owner", m.owner.pk, m.owner.pk)


def test_fe09_leaves_contract_line_charges_and_refunds_alone():
    m = Market()
    contract = m.contract(m.win(m.project(), m.firm(), "50000"))
    m.pay(contract, "20000", milestone="首付款")
    m.pay(contract, "1000", kind="refund", milestone="")
    assert run("FE09") == []


# --- FE10 ---------------------------------------------------------------------------------------


def test_fe10_flags_repeated_direct_awards_just_under_the_threshold():
    m = Market()
    latest = plant_fe10(m)
    (flag,) = run("FE10")
    firm_id = latest.applications.get().intermediary_id
    assert (flag.subject_type, flag.subject_id, flag.intermediary_id, flag.project_id) == (
        "owner",
        m.owner.pk,
        firm_id,
        latest.pk,
    )
    assert [a["amount"] for a in flag.evidence["awards"]] == [
        str(near_threshold("0.92")),
        str(near_threshold("0.96")),
    ]


def test_fe10_leaves_awards_far_apart_well_under_to_other_firms_or_competitive_alone():
    m = Market()
    firm = m.firm()
    m.win(m.project(method="direct"), firm, near_threshold("0.95"), at=days_ago(420))
    m.win(m.project(method="direct"), firm, near_threshold("0.95"), at=days_ago(20))
    m.win(m.project(method="direct"), firm, near_threshold("0.60"), at=days_ago(30))
    m.win(m.project(method="direct"), m.firm(), near_threshold("0.95"), at=days_ago(40))
    m.win(m.project(method="lowest_price"), firm, near_threshold("0.95"), at=days_ago(50))
    assert run("FE10") == []


# --- every rule: thresholds, scoped runs, explanations, query counts -----------------------------


@pytest.mark.parametrize(
    ("code", "thresholds"),
    [
        ("FE01", {"tolerance_percent": "30"}),
        ("FE02", {"tolerance_percent": "50"}),
        ("FE03", {"days": 5}),
        ("FE04", {"amended_increase_percent": "25"}),
        ("FE05", {"tolerance": "5000"}),
        ("FE06", {"grace_days": 5}),
        ("FE07", {"iqr_multiplier": "10"}),
        ("FE08", {"min_peers": 20}),
        ("FE09", {"min_amount": "10000"}),
        ("FE10", {"min_awards": 3}),
    ],
)
def test_a_threshold_change_changes_the_outcome(code, thresholds):
    PLANTS[code](Market())
    before = len(run(code))
    assert before > 0
    services.rule_settings_update(actor=operator_user(), code=code, weight=5, thresholds=thresholds)
    assert len(run(code)) < before


def test_fe03_a_longer_window_catches_an_older_raise():
    m = Market()
    firm = m.firm(fee_max=D("30000"))
    FeeSchedule.objects.create(
        offer=firm.offers.get(),
        version=2,
        basis="fixed",
        rate=D("1"),
        fee_min=D("15000"),
        fee_max=D("40000"),
        effective_from=days_ago(70),
    )
    m.apply(m.project(), firm, "28000", submitted_at=days_ago(22))
    assert run("FE03") == []
    services.rule_settings_update(actor=operator_user(), code="FE03", weight=5, thresholds={"days": 60})
    assert len(run("FE03")) == 1


def test_fe10_a_narrower_band_under_the_threshold_drops_an_award():
    PLANTS["FE10"](Market())
    assert len(run("FE10")) == 1
    services.rule_settings_update(
        actor=operator_user(), code="FE10", weight=5, thresholds={"within_percent": "5"}
    )
    assert run("FE10") == []


def _snapshot(flags):
    return {(f.subject_type, f.subject_id, f.fingerprint): f.evidence for f in flags}


@pytest.mark.parametrize("code", sorted(PLANTS))
def test_a_scoped_run_gives_the_same_flags_as_the_full_scan(code):
    m = Market()
    project = PLANTS[code](m)
    PLANTS[code](m)  # the same pattern elsewhere in the market
    scope = services.scope_for_project(project.pk)
    full = [
        f
        for f in run(code)
        if f.project_id in scope.project_ids or f.intermediary_id in scope.intermediary_ids
    ]
    assert full
    Flag.objects.all().delete()
    assert _snapshot(run(code, scope)) == _snapshot(full)


EXPLAINED = {
    "FE01": ("project", "quote", "fee_min", "fee_max"),
    "FE02": ("project", "quote", "schedule_max"),
    "FE03": ("project", "firm", "old_max", "new_max"),
    "FE04": ("project", "quote", "amount"),
    "FE05": ("project", "amount", "paid", "excess"),
    "FE06": ("project", "total"),
    "FE07": ("project", "firm", "quote", "fence", "q1", "q3"),
    "FE08": ("project", "firm", "quote", "fence"),
    "FE09": ("amount", "reference", "firm"),
    "FE10": ("owner", "firm", "total"),
}


@pytest.mark.parametrize("code", sorted(PLANTS))
def test_explanations_name_the_key_facts_in_both_languages(code):
    PLANTS[code](Market())
    flag = run(code)[0]
    rule = get_rule(code)
    chinese, english = rule.explain(flag.evidence), rule.explain(flag.evidence, "en")
    for key in EXPLAINED[code]:
        assert str(flag.evidence[key]) in chinese and str(flag.evidence[key]) in english
    assert "元" in chinese and "yuan" in english


# FE07 and FE08 also store their peer statistics (delete and insert in a transaction).
QUERIES = {code: 1 for code in PLANTS} | {"FE03": 2, "FE07": 5, "FE08": 5}


@pytest.mark.parametrize("code", sorted(PLANTS))
def test_a_full_scan_takes_the_same_number_of_queries_for_a_larger_market(code, django_assert_num_queries):
    rule = get_rule(code)
    params = rule.params({})
    m = Market()
    PLANTS[code](m)
    with django_assert_num_queries(QUERIES[code]):
        small = list(rule.find(Scope(), params))
    for _ in range(4):
        PLANTS[code](m)
    with django_assert_num_queries(QUERIES[code]):
        large = list(rule.find(Scope(), params))
    assert 0 < len(small) < len(large)


# --- stored peer statistics (FE07, FE08) --------------------------------------------------------


def test_a_full_scan_stores_each_peer_groups_statistics():
    m = Market()
    plant_fe07(m)
    run("FE07")
    (stat,) = PeerStatistic.objects.filter(rule="FE07")
    assert stat.data == {
        "peers": 11,
        "q1": "51166.66666666666666666666667",
        "q3": "56833.33333333333333333333333",
        "lower": "42666.66666666666666666666667",
        "upper": "65333.33333333333333333333333",
    }


def test_a_per_change_run_judges_the_changed_quote_against_the_stored_statistics(
    django_assert_max_num_queries,
):
    m = Market()
    plant_fe07(m)
    run("FE07")
    Flag.objects.all().delete()
    project = m.project(scale="1000")
    m.apply(project, m.firm(), "9000")
    with django_assert_max_num_queries(12):
        (flag,) = run("FE07", services.scope_for_project(project.pk))
    assert flag.project_id == project.pk
    assert (flag.evidence["peers"], flag.evidence["fence"]) == (11, "42666.67")  # as of the full scan


def test_a_per_change_run_computes_and_stores_a_group_without_statistics():
    m = Market()
    project = plant_fe07(m)
    assert not PeerStatistic.objects.exists()
    (flag,) = run("FE07", services.scope_for_project(project.pk))
    assert (flag.project_id, flag.evidence["peers"]) == (project.pk, 11)
    assert PeerStatistic.objects.get(rule="FE07").data["peers"] == 11


def test_changed_thresholds_make_the_stored_statistics_stale():
    m = Market()
    project = plant_fe07(m)
    run("FE07")
    services.rule_settings_update(actor=operator_user(), code="FE07", weight=4, thresholds={"min_peers": 12})
    assert run("FE07", services.scope_for_project(project.pk)) == []  # 11 peers are too few now
    assert PeerStatistic.objects.get(rule="FE07").data == {"peers": 11}
