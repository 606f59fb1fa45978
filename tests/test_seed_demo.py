"""``manage.py seed_demo``: the demo market is believable, obeys the rules and is reproducible."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from stdnum.cn import uscc

from marketplace.accounts.models import Membership, Organisation, Role, User
from marketplace.catalog.models import AffiliatedEntity, Department, PricingRegime, ServiceType
from marketplace.core.audit import audit_verify
from marketplace.core.models import AuditEvent
from marketplace.providers import demo
from marketplace.providers.models import (
    DeclaredTie,
    FeeSchedule,
    Intermediary,
    Offer,
    Practitioner,
    Qualification,
    Shareholder,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

S = Intermediary.Status
EXPECTED_LOGINS = {
    "operator": Role.OPERATOR,
    "regulator": Role.REGULATOR,
    "dept_eco": Role.DEPARTMENT,
    "owner": Role.OWNER,
    "agency": Role.INTERMEDIARY,
    "agency_new": Role.INTERMEDIARY,
}


def _ensure_catalogue() -> None:
    """Migration 0002 seeds the catalogue; a flushed database (transactional tests) gets it back."""
    if not ServiceType.objects.exists():
        from marketplace.catalog.seed import seed_catalog

        seed_catalog()


@pytest.fixture
def catalogue():
    _ensure_catalogue()


@pytest.fixture(scope="class")
def manifest(django_db_setup, django_db_blocker):
    """The demo market, seeded once for the read-only checks of a class and rolled back after."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            _ensure_catalogue()
            yield demo.seed_demo()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


COUNTED = (User, Organisation, Membership, Intermediary, Offer, FeeSchedule, AuditEvent, TOTPDevice)


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def test_the_command_prints_the_logins_and_running_twice_changes_nothing(catalogue):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    for username in EXPECTED_LOGINS:
        assert re.search(rf"\b{username}\b.*{re.escape(demo.DEMO_PASSWORD)}", text)
    assert "demo_totp regulator" in text and "红顶中介" in text
    before = _counts()

    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "nothing to do" in again.getvalue()
    assert _counts() == before
    assert audit_verify().ok


def test_the_same_market_every_time(catalogue):
    def content():
        firms = list(
            Intermediary.objects.order_by("uscc").values_list("name", "uscc", "legal_representative_id_hash")
        )
        holders = list(
            Shareholder.objects.order_by("intermediary__uscc", "name").values_list("name", "share")
        )
        # the first fee of every offer (later versions: as many raises as fit before "now")
        fees = list(
            FeeSchedule.objects.filter(version=1)
            .order_by("offer__intermediary__uscc", "offer__service_type__code")
            .values_list("basis", "rate", "fee_min", "fee_max")
        )
        return firms, holders, fees

    with transaction.atomic():
        demo.seed_demo(now=timezone.now() - timedelta(days=17))
        first = content()
        transaction.set_rollback(True)
    demo.seed_demo()
    assert content() == first


class TestTheSeededMarket:
    """Read-only checks, sharing one seeded market."""

    def test_the_market_is_large_valid_and_audited(self, manifest):
        firms = Intermediary.objects.all()
        assert firms.count() >= 55
        for code in firms.values_list("uscc", flat=True):
            assert uscc.is_valid(code), code
        for code in Organisation.objects.exclude(uscc=None).values_list("uscc", flat=True):
            assert uscc.is_valid(code), code
        for code in Shareholder.objects.exclude(uscc="").values_list("uscc", flat=True):
            assert uscc.is_valid(code), code
        sole = firms.filter(is_sole_proprietor=True)
        assert sole.exists() and all(f.uscc.startswith("92") for f in sole)
        out_of_town = firms.exclude(uscc__regex=r"^9[12]3704")
        assert 0.2 <= out_of_town.count() / firms.count() <= 0.45

        report = audit_verify()
        assert report.ok, report.reason
        assert report.checked == AuditEvent.objects.count() > 1000
        assert manifest["counts"]["intermediaries"] == firms.count()

    def test_statuses_and_review_queue(self, manifest):
        by_status = dict(Intermediary.objects.values_list("status").annotate(n=Count("pk")))
        assert by_status[S.LISTED] >= 45
        assert by_status[S.LISTED_UNDER_REVIEW] == 6
        assert by_status[S.CHANGES_REQUESTED] == 3
        assert by_status[S.DELISTED] == 1
        assert by_status[S.DRAFT] == 2
        today = timezone.localdate()
        under_review = Intermediary.objects.filter(status=S.LISTED_UNDER_REVIEW)
        overdue = under_review.filter(review_due__lt=today)
        assert overdue.count() == 3
        assert set(overdue.values_list("pk", flat=True)) == set(manifest["review_overdue_ids"])
        assert under_review.filter(review_due__gte=today).count() == 3
        for firm in Intermediary.objects.filter(status__in=[S.CHANGES_REQUESTED, S.DELISTED]):
            assert firm.review_note
        for firm in Intermediary.objects.exclude(status=S.DRAFT):
            assert firm.commitment_signed_by == firm.legal_representative
            assert firm.listed_at < timezone.now()

    def test_firms_are_complete_and_follow_the_rules(self, manifest):
        today = timezone.localdate()
        companies = Intermediary.objects.exclude(status=S.DRAFT).filter(is_sole_proprietor=False)
        for firm in companies.annotate(people=Count("practitioners")):
            assert 2 <= firm.people <= 6, firm.name
            assert firm.shareholders.aggregate(total=Sum("share"))["total"] == Decimal(100), firm.name
            assert 1 <= firm.offers.count() <= 4, firm.name
        for person in Practitioner.objects.all():
            assert person.insured_since <= today - timedelta(days=90)
        # a service that needs a qualification is offered with one of the allowed types
        for offer in Offer.objects.filter(service_type__qualification_required=True):
            allowed = set(
                offer.service_type.allowed_qualifications.values_list("qualification_type_id", flat=True)
            )
            assert set(offer.qualifications.values_list("qualification_type_id", flat=True)) & allowed, offer
        # fees: every version within the band of a government-priced service; raises only
        for offer in Offer.objects.exclude(service_type__pricing_regime=PricingRegime.MARKET):
            bands = list(offer.service_type.price_bands.all())
            low, high = min(b.fee_min for b in bands), max(b.fee_max for b in bands)
            for version in offer.fee_versions.all():
                assert low <= version.fee_min <= version.fee_max <= high, offer
        for offer in Offer.objects.annotate(n=Count("fee_versions")).filter(n__gt=1):
            versions = list(offer.fee_versions.order_by("version"))
            assert offer.current_fee_id == versions[-1].pk
            for earlier, later in zip(versions, versions[1:], strict=False):
                assert later.effective_from > earlier.effective_from
                assert later.fee_max >= earlier.fee_max
        assert Offer.objects.annotate(n=Count("fee_versions")).filter(n__gte=3).exists()
        eia = FeeSchedule.objects.filter(offer__service_type__code="eia_report")
        assert all(30_000 <= f.fee_min and f.fee_max <= 250_000 for f in eia)

    def test_planted_cases(self, manifest):
        today = timezone.localdate()
        affiliates = {a.uscc: a for a in AffiliatedEntity.objects.exclude(uscc="")}

        undeclared = manifest["red_hat_undeclared"]
        assert len(undeclared) == 2
        for row in undeclared:
            firm = Intermediary.objects.get(pk=row["intermediary_id"])
            holder = firm.shareholders.get(uscc=row["shareholder_uscc"])
            affiliate = affiliates[holder.uscc]
            assert holder.kind == Shareholder.Kind.FIRM
            assert not firm.declared_ties.filter(department=affiliate.department).exists()
            assert firm.status == S.LISTED

        (declared,) = manifest["red_hat_declared"]
        firm = Intermediary.objects.get(pk=declared["intermediary_id"])
        affiliate = affiliates[declared["shareholder_uscc"]]
        assert firm.declared_ties.filter(
            department=affiliate.department, affiliate=affiliate, kind=DeclaredTie.Kind.AFFILIATED
        ).exists()

        (phone,) = manifest["shared_phone"]
        firm = Intermediary.objects.get(pk=phone["intermediary_id"])
        department = Department.objects.get(code=phone["department"])
        assert firm.phone == department.phone == phone["phone"]
        assert firm.contact_name == firm.legal_representative == phone["legal_representative"]
        # no other firm shares a department's number
        assert Intermediary.objects.filter(phone__in=Department.objects.values("phone")).count() == 1

        (raise_,) = manifest["recent_fee_raise"]
        offer = Offer.objects.get(pk=raise_["offer_id"])
        latest, previous = offer.fee_versions.order_by("-version")[:2]
        assert timezone.now() - timedelta(days=30) < latest.effective_from < timezone.now()
        assert latest.fee_max > previous.fee_max
        recent = FeeSchedule.objects.filter(
            version__gt=1, effective_from__gte=timezone.now() - timedelta(days=30)
        )
        assert list(recent) == [latest]

        expired = manifest["expired_qualifications"]
        assert len(expired) == 3
        for row in expired:
            qualification = Qualification.objects.get(number=row["number"])
            assert qualification.valid_until < today
            assert qualification.intermediary_id == row["intermediary_id"]
            assert row["offers"]
        assert Qualification.objects.filter(valid_until__lt=today).count() == 3

    def test_one_login_per_role_with_totp_for_staff(self, manifest):
        for username, role in EXPECTED_LOGINS.items():
            user = User.objects.get(username=username)
            assert user.check_password(demo.DEMO_PASSWORD)
            (membership,) = Membership.objects.filter(user=user)
            assert membership.role == role
            assert membership.organisation.kind == role
        assert {row["username"] for row in manifest["logins"]} == set(EXPECTED_LOGINS)
        department = Department.objects.get(code="ecology_environment")
        assert department.organisation.memberships.get().user.username == "dept_eco"
        assert Intermediary.objects.get(organisation__memberships__user__username="agency").status == S.LISTED
        assert (
            Intermediary.objects.get(organisation__memberships__user__username="agency_new").status == S.DRAFT
        )

        for username in ("operator", "regulator"):
            device = TOTPDevice.objects.get(user__username=username, confirmed=True)
            assert device.key == demo.demo_totp_key(username)
            out = StringIO()
            call_command("demo_totp", username, stdout=out)
            token = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
            assert f"{token:06d}" in out.getvalue()
            assert demo.totp_secret_base32(device.key) in out.getvalue()
