"""After the result: contract, amendments, walk-aways, delivery and acceptance, two-way ratings."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.models import AuditEvent
from marketplace.procurement import selectors, services
from marketplace.procurement.models import Contract, Delivery, Project, Rating, Status, WalkAway
from marketplace.procurement.services.contracts import firm_rating_recompute
from marketplace.procurement.services.timeline import publicity_end
from tests.factories import PDF_BYTES, MembershipFactory, OrganisationFactory

from .factories import firm_user, pass_deadline, published_project

pytestmark = pytest.mark.django_db


OWNER_SCORES = {"quality": 5, "timeliness": 4, "attitude": 5, "fee_compliance": 5, "conduct": 5}
FIRM_SCORES = {"payment_timeliness": 5, "non_interference": 4}


def pdf(name="contract.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def regulator_user():
    return MembershipFactory(organisation=OrganisationFactory(kind=Role.REGULATOR, uscc=None)).user


class Deal:
    """A private lowest-price project won by one firm, moved along through the services."""

    def __init__(self, quote="71234.56", firm=None, owner=None):
        self.project = published_project(
            owner=owner,
            funding_source="private",
            price_floor=Decimal("5000"),
            price_ceiling=Decimal("2000000"),
        )
        self.owner = self.project.created_by
        self.firm, self.firm_user = firm or firm_user(self.project.service_type)
        self.loser, self.loser_user = firm_user(self.project.service_type)
        services.application_submit(actor=self.firm_user, project=self.project, quote=quote)
        services.application_submit(actor=self.loser_user, project=self.project, quote="1999999")
        pass_deadline(self.project)
        services.registration_close(project=self.project)
        services.selection_run(project=self.project)
        self.refresh()
        assert self.project.status == Status.SELECTED

    def refresh(self) -> Project:
        self.project.refresh_from_db()
        return self.project

    def end_publicity(self):
        Project.objects.filter(pk=self.project.pk).update(
            publicity_ends_on=timezone.localdate() - timedelta(days=1)
        )
        publicity_end(project=self.project)
        assert self.refresh().status == Status.CONTRACTING
        return self

    def sign(self):
        self.end_publicity()
        services.contract_upload(actor=self.owner, project=self.project, document=pdf())
        services.contract_confirm(actor=self.firm_user, project=self.project)
        assert self.refresh().status == Status.IN_SERVICE
        return self

    def deliver(self):
        self.sign()
        services.delivery_submit(actor=self.firm_user, project=self.project, document=pdf("report.pdf"))
        assert self.refresh().status == Status.DELIVERED
        return self

    def accept(self):
        self.deliver()
        services.delivery_decide(actor=self.owner, project=self.project, accept=True)
        assert self.refresh().status == Status.ACCEPTED
        return self

    def rate(self, scores: int | None = None) -> Rating:
        """Accept the work and let the owner rate it (every criterion ``scores``, or OWNER_SCORES)."""
        self.accept()
        values = dict.fromkeys(OWNER_SCORES, scores) if scores else OWNER_SCORES
        return services.rating_submit(actor=self.owner, project=self.project, scores=values)


# ------------------------------------------------------------------------------------ contract


def test_contract_amount_equals_the_winning_quote():
    deal = Deal(quote="71234.56").end_publicity()
    contract = services.contract_upload(actor=deal.firm_user, project=deal.project, document=pdf())
    assert contract.amount == Decimal("71234.56")
    assert contract.intermediary == deal.firm and contract.uploaded_by_org_id == deal.firm.organisation_id
    assert AuditEvent.objects.get(action="contract.upload").after["amount"] == "71234.56"


def test_contract_cannot_be_uploaded_during_publicity():
    deal = Deal()
    with pytest.raises(DomainError, match="结果公示结束后才能签订合同。"):
        services.contract_upload(actor=deal.owner, project=deal.project, document=pdf())
    assert not Contract.objects.exists()


def test_a_losing_applicant_cannot_upload_the_contract():
    deal = Deal().end_publicity()
    with pytest.raises(NotAllowed):
        services.contract_upload(actor=deal.loser_user, project=deal.project, document=pdf())
    assert not Contract.objects.exists()


@pytest.mark.parametrize("uploader", ["owner", "firm"])
def test_the_same_side_cannot_confirm_its_own_upload(uploader):
    deal = Deal().end_publicity()
    up, other = (deal.owner, deal.firm_user) if uploader == "owner" else (deal.firm_user, deal.owner)
    services.contract_upload(actor=up, project=deal.project, document=pdf())
    with pytest.raises(DomainError, match="合同须由另一方确认。"):
        services.contract_confirm(actor=up, project=deal.project)
    assert Contract.objects.get().confirmed_at is None and deal.refresh().status == Status.CONTRACTING
    services.contract_confirm(actor=other, project=deal.project)
    project = deal.refresh()
    assert project.status == Status.IN_SERVICE and project.delivery_due > timezone.localdate()


def test_a_second_upload_is_refused():
    deal = Deal().end_publicity()
    services.contract_upload(actor=deal.owner, project=deal.project, document=pdf())
    with pytest.raises(DomainError, match="合同已上传"):
        services.contract_upload(actor=deal.firm_user, project=deal.project, document=pdf())


def test_amendment_needs_a_reason():
    deal = Deal().sign()
    with pytest.raises(DomainError, match="合同变更须说明理由。"):
        services.contract_amend(actor=deal.owner, project=deal.project, new_amount="80000", reason=" ")
    assert Contract.objects.get().amount == Decimal("71234.56")


def test_amendment_changes_the_amount_with_a_public_record():
    deal = Deal().sign()
    amendment = services.contract_amend(
        actor=deal.owner, project=deal.project, new_amount="80000", reason="增加补充调查内容"
    )
    contract = Contract.objects.get()
    assert contract.amount == Decimal("80000.00")
    assert (amendment.old_amount, amendment.new_amount) == (Decimal("71234.56"), Decimal("80000.00"))
    event = AuditEvent.objects.get(action="contract.amend")
    assert event.after == {"old": "71234.56", "new": "80000.00", "reason": "增加补充调查内容"}
    public = selectors.project_detail(AnonymousUser(), deal.project.pk)
    assert [(a.new_amount, a.reason) for a in public["contract"].amendments.all()] == [
        (Decimal("80000.00"), "增加补充调查内容")
    ]


def test_amendment_by_the_firm_is_refused():
    deal = Deal().sign()
    with pytest.raises(NotAllowed):
        services.contract_amend(actor=deal.firm_user, project=deal.project, new_amount="90000", reason="涨价")


@pytest.mark.parametrize("stage", ["selected", "contracting"])
def test_winner_decline_records_a_walkaway_and_fails_the_project(stage):
    deal = Deal()
    if stage == "contracting":
        deal.end_publicity()
    with pytest.raises(DomainError, match="请说明放弃理由。"):
        services.winner_decline(actor=deal.firm_user, project=deal.project, reason="")
    walkaway = services.winner_decline(actor=deal.firm_user, project=deal.project, reason="人员不足")
    project = deal.refresh()
    assert project.status == Status.FAILED and "人员不足" in project.failure_reason
    assert walkaway.intermediary == deal.firm and WalkAway.objects.count() == 1


def test_only_the_winner_can_decline():
    deal = Deal().end_publicity()
    for actor in (deal.loser_user, deal.owner):
        with pytest.raises(NotAllowed):
            services.winner_decline(actor=actor, project=deal.project, reason="不想做")
    assert not WalkAway.objects.exists() and deal.refresh().status == Status.CONTRACTING


# ---------------------------------------------------------------------------- delivery


def test_delivery_is_submitted_by_the_firm_only():
    deal = Deal().sign()
    with pytest.raises(NotAllowed):
        services.delivery_submit(actor=deal.owner, project=deal.project, document=pdf())
    assert not Delivery.objects.exists()


def test_delivery_return_needs_a_reason_and_goes_back_to_in_service():
    deal = Deal().deliver()
    with pytest.raises(DomainError, match="退回须说明理由。"):
        services.delivery_decide(actor=deal.owner, project=deal.project, accept=False, reason="")
    assert deal.refresh().status == Status.DELIVERED
    delivery = services.delivery_decide(
        actor=deal.owner, project=deal.project, accept=False, reason="缺少附图"
    )
    assert delivery.decision == Delivery.Decision.RETURNED and delivery.decision_reason == "缺少附图"
    assert deal.refresh().status == Status.IN_SERVICE
    services.delivery_submit(actor=deal.firm_user, project=deal.project, document=pdf("v2.pdf"))
    services.delivery_decide(actor=deal.owner, project=deal.project, accept=True)
    assert deal.refresh().status == Status.ACCEPTED
    assert list(Delivery.objects.values_list("decision", flat=True)) == ["returned", "accepted"]


# ------------------------------------------------------------------------------ ratings


def test_rating_before_acceptance_is_refused():
    deal = Deal().deliver()
    with pytest.raises(DomainError, match="验收通过后才能评价。"):
        services.rating_submit(actor=deal.owner, project=deal.project, scores=OWNER_SCORES)


def test_rating_once_per_direction():
    deal = Deal().accept()
    rating = services.rating_submit(actor=deal.owner, project=deal.project, scores=OWNER_SCORES)
    assert rating.direction == Rating.Direction.OWNER_RATES_FIRM and rating.overall == Decimal("4.80")
    assert rating.amount == Decimal("71234.56")
    with pytest.raises(DomainError, match="已评价，不能重复评价。"):
        services.rating_submit(actor=deal.owner, project=deal.project, scores=OWNER_SCORES)
    assert Rating.objects.count() == 1


@pytest.mark.parametrize(
    "bad", [{"quality": 0}, {"quality": 6}, {"quality": -1}, {"quality": "abc"}, {"quality": None}]
)
def test_rating_scores_1_to_5_only(bad):
    deal = Deal().accept()
    with pytest.raises(DomainError):
        services.rating_submit(actor=deal.owner, project=deal.project, scores={**OWNER_SCORES, **bad})
    assert not Rating.objects.exists()


def test_rating_needs_every_criterion():
    deal = Deal().accept()
    scores = dict(OWNER_SCORES)
    del scores["conduct"]
    with pytest.raises(DomainError, match="请为每一项打分"):
        services.rating_submit(actor=deal.owner, project=deal.project, scores=scores)


def test_a_fractional_rating_score_is_refused_not_truncated():
    deal = Deal().accept()
    with pytest.raises(DomainError):
        services.rating_submit(
            actor=deal.owner, project=deal.project, scores={**OWNER_SCORES, "quality": 4.5}
        )


def test_both_ratings_make_the_project_rated():
    deal = Deal().accept()
    services.rating_submit(actor=deal.firm_user, project=deal.project, scores=FIRM_SCORES)
    assert deal.refresh().status == Status.ACCEPTED
    services.rating_submit(actor=deal.owner, project=deal.project, scores=OWNER_SCORES)
    assert deal.refresh().status == Status.RATED


def test_a_third_party_cannot_rate():
    deal = Deal().accept()
    with pytest.raises(NotAllowed):
        services.rating_submit(actor=deal.loser_user, project=deal.project, scores=FIRM_SCORES)


def test_firm_rating_score_is_the_recency_and_amount_weighted_mean():
    first = Deal(quote="10000")
    firm = (first.firm, first.firm_user)
    old = first.rate(scores=5)  # overall 5.00 on 10,000 yuan
    second = Deal(quote="1000000", firm=firm)
    second.rate(scores=2)  # overall 2.00 on 1,000,000 yuan
    Rating.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=365))
    score = firm_rating_recompute(first.firm.pk)
    # weights: a year old halves; amounts count logarithmically (log10(amount + 10))
    w_old = 0.5 * math.log10(10000 + 10)
    w_new = 1.0 * math.log10(1000000 + 10)
    expected = Decimal(str(round((5 * w_old + 2 * w_new) / (w_old + w_new), 2)))
    assert expected == Decimal("2.75")
    assert score == expected
    first.firm.refresh_from_db()
    assert first.firm.rating_score == expected


def test_firm_rates_owner_does_not_touch_the_firm_score():
    deal = Deal().accept()
    services.rating_submit(actor=deal.firm_user, project=deal.project, scores=FIRM_SCORES)
    deal.firm.refresh_from_db()
    assert deal.firm.rating_score is None


def test_a_dispute_only_by_the_rated_party_and_only_once():
    deal = Deal()
    rating = deal.rate()
    with pytest.raises(NotAllowed):
        services.rating_dispute(actor=deal.owner, rating=rating, reason="我自己打错了")
    with pytest.raises(NotAllowed):
        services.rating_dispute(actor=deal.loser_user, rating=rating, reason="路过")
    with pytest.raises(DomainError, match="请说明申诉理由。"):
        services.rating_dispute(actor=deal.firm_user, rating=rating, reason=" ")
    services.rating_dispute(actor=deal.firm_user, rating=rating, reason="评价与事实不符")
    with pytest.raises(DomainError, match="每条评价只能申诉一次。"):
        services.rating_dispute(actor=deal.firm_user, rating=rating, reason="再申诉")
    rating.refresh_from_db()
    assert rating.dispute_reason == "评价与事实不符"


def test_the_owner_may_dispute_the_firms_rating_of_it():
    deal = Deal().accept()
    rating = services.rating_submit(actor=deal.firm_user, project=deal.project, scores=FIRM_SCORES)
    with pytest.raises(NotAllowed):
        services.rating_dispute(actor=deal.firm_user, rating=rating, reason="自己申诉自己")
    services.rating_dispute(actor=deal.owner, rating=rating, reason="已按时付款")
    assert Rating.objects.get(pk=rating.pk).disputed_at


def test_regulator_upholding_a_dispute_removes_it_from_the_score():
    kept = Deal(quote="50000")
    kept.rate(scores=5)
    disputed = Deal(quote="50000", firm=(kept.firm, kept.firm_user))
    rating = disputed.rate(scores=1)
    kept.firm.refresh_from_db()
    assert kept.firm.rating_score == Decimal("3.00")  # same age and amount: plain mean
    services.rating_dispute(actor=kept.firm_user, rating=rating, reason="恶意差评")
    with pytest.raises(NotAllowed):
        services.rating_dispute_decide(actor=kept.owner, rating=rating, uphold=True)
    services.rating_dispute_decide(actor=regulator_user(), rating=rating, uphold=True)
    kept.firm.refresh_from_db()
    assert kept.firm.rating_score == Decimal("5.00")
    assert Rating.objects.get(pk=rating.pk).dispute_outcome == "upheld"


def test_regulator_rejecting_a_dispute_keeps_the_score():
    deal = Deal()
    rating = deal.rate(scores=2)
    services.rating_dispute(actor=deal.firm_user, rating=rating, reason="不服")
    services.rating_dispute_decide(actor=regulator_user(), rating=rating, uphold=False)
    deal.firm.refresh_from_db()
    assert deal.firm.rating_score == Decimal("2.00")


def test_regulator_cannot_decide_an_undisputed_rating():
    deal = Deal()
    rating = deal.rate()
    with pytest.raises(DomainError, match="该评价没有申诉。"):
        services.rating_dispute_decide(actor=regulator_user(), rating=rating, uphold=True)
