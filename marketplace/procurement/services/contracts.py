"""Contract, delivery and acceptance, walk-aways, and two-way ratings."""

from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.core.audit import audit_record
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.money import money
from marketplace.core.validators import clean_upload
from marketplace.core.workdays import add_working_days
from marketplace.providers.models import Intermediary

from ..models import Amendment, Contract, Delivery, Project, Rating, Status, WalkAway
from ..states import transition
from .common import lock_project, notify, notify_regulators, require_owner, require_role

OWNER_CRITERIA = ("quality", "timeliness", "attitude", "fee_compliance", "conduct")
FIRM_CRITERIA = ("payment_timeliness", "non_interference")


def winning_application(project: Project):
    selection = (
        project.selections.filter(annulled=False, winner__isnull=False)
        .select_related("winner__intermediary")
        .order_by("-round")
        .first()
    )
    if selection is None:
        raise DomainError(_("该项目尚无中选机构。"), code="transition")
    return selection.winner


def _side(actor: User, project: Project) -> str:
    """'owner' or 'firm' (the winner), else NotAllowed."""
    if Membership.objects.filter(user=actor, organisation_id=project.owner_id, role=Role.OWNER).exists():
        return "owner"
    winner = winning_application(project)
    if Membership.objects.filter(
        user=actor, organisation_id=winner.intermediary.organisation_id, role=Role.INTERMEDIARY
    ).exists():
        return "firm"
    raise NotAllowed


@transaction.atomic
def contract_upload(
    *, actor: User, project: Project, document: UploadedFile | None, pay_after_acceptance: bool = True
) -> Contract:
    """One side uploads the signed contract; its amount is the winning quote."""
    project = lock_project(project)
    side = _side(actor, project)
    if project.status != Status.CONTRACTING:
        raise DomainError(_("结果公示结束后才能签订合同。"), code="transition")
    if Contract.objects.filter(project=project).exists():
        raise DomainError(_("合同已上传，请等待对方确认。"), code="duplicate")
    clean_upload(document, field="document")
    winner = winning_application(project)
    org_id = project.owner_id if side == "owner" else winner.intermediary.organisation_id
    contract = Contract.objects.create(
        project=project,
        intermediary=winner.intermediary,
        amount=winner.quote_amount,
        document=document,
        uploaded_by_org_id=org_id,
        uploaded_at=timezone.now(),
        pay_after_acceptance=pay_after_acceptance,
    )
    audit_record(
        actor=actor, action="contract.upload", obj=contract, after={"amount": contract.amount, "side": side}
    )
    other = winner.intermediary.organisation_id if side == "owner" else project.owner_id
    notify(other, _("请确认合同：%(p)s") % {"p": project}, project)
    return contract


@transaction.atomic
def contract_confirm(*, actor: User, project: Project) -> Contract:
    """The other side confirms: the service starts and its deadline is set."""
    project = lock_project(project)
    side = _side(actor, project)
    contract = Contract.objects.select_for_update().filter(project=project).first()
    if contract is None:
        raise DomainError(_("尚未上传合同。"), code="transition")
    if contract.confirmed_at:
        return contract
    uploader_side = "owner" if contract.uploaded_by_org_id == project.owner_id else "firm"
    if side == uploader_side:
        raise DomainError(_("合同须由另一方确认。"), code="same_side")
    contract.confirmed_at = timezone.now()
    contract.save(update_fields=["confirmed_at"])
    project.delivery_due = add_working_days(timezone.localdate(), project.service_days)
    project.save(update_fields=["delivery_due"])
    audit_record(actor=actor, action="contract.confirm", obj=contract, after={"confirmed": True})
    transition(project, Status.IN_SERVICE, actor=actor, action="project.start_service")
    return contract


@transaction.atomic
def contract_amend(*, actor: User, project: Project, new_amount: Decimal | str, reason: str) -> Amendment:
    require_owner(actor, project)
    project = lock_project(project)
    contract = Contract.objects.select_for_update().filter(project=project).first()
    if contract is None:
        raise DomainError(_("尚未签订合同。"), code="transition")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("合同变更须说明理由。"), field="reason")
    try:
        amount = money(new_amount)
    except ValueError as exc:
        raise DomainError(_("金额须为数字。"), field="new_amount") from exc
    if amount <= 0:
        raise DomainError(_("合同金额须为正数。"), field="new_amount")
    if amount == contract.amount:
        raise DomainError(_("金额没有变化。"), field="new_amount")
    amendment = Amendment.objects.create(
        contract=contract,
        old_amount=contract.amount,
        new_amount=amount,
        reason=reason,
        created_at=timezone.now(),
        created_by=actor,
    )
    contract.amount = amount
    contract.save(update_fields=["amount"])
    audit_record(
        actor=actor,
        action="contract.amend",
        obj=amendment,
        after={"old": amendment.old_amount, "new": amount, "reason": reason},
    )
    notify(contract.intermediary.organisation_id, _("合同金额已变更：%(p)s") % {"p": project}, project)
    return amendment


def record_walkaway(project: Project, reason: str, *, actor) -> WalkAway:
    winner = winning_application(project)
    walkaway = WalkAway.objects.create(
        project=project, intermediary=winner.intermediary, reason=reason, recorded_at=timezone.now()
    )
    audit_record(
        actor=actor,
        action="walkaway.record",
        obj=walkaway,
        after={"firm": winner.intermediary.uscc, "reason": reason},
    )
    project.failure_reason = _("中选机构放弃：%(r)s") % {"r": reason}
    project.save(update_fields=["failure_reason"])
    transition(project, Status.FAILED, actor=actor, action="project.fail", note=project.failure_reason)
    notify(project.owner_id, _("中选机构放弃，项目流标，可重新发布：%(p)s") % {"p": project}, project)
    notify_regulators(_("中选机构放弃签约：%(p)s") % {"p": project}, project)
    return walkaway


@transaction.atomic
def winner_decline(*, actor: User, project: Project, reason: str) -> WalkAway:
    project = lock_project(project)
    if _side(actor, project) != "firm":
        raise NotAllowed
    if project.status not in (Status.SELECTED, Status.CONTRACTING):
        raise DomainError(_("当前状态不能放弃。"), code="transition")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请说明放弃理由。"), field="reason")
    if project.status == Status.SELECTED:
        transition(project, Status.CONTRACTING, actor=actor, action="project.contracting")
    return record_walkaway(project, reason, actor=actor)


@transaction.atomic
def delivery_submit(
    *, actor: User, project: Project, document: UploadedFile | None, note: str = ""
) -> Delivery:
    project = lock_project(project)
    if _side(actor, project) != "firm":
        raise NotAllowed
    if project.status != Status.IN_SERVICE:
        raise DomainError(_("服务开始后才能提交成果。"), code="transition")
    clean_upload(document, field="document")
    delivery = Delivery.objects.create(
        project=project, document=document, note=(note or "").strip(), delivered_at=timezone.now()
    )
    project.acceptance_due = add_working_days(timezone.localdate(), settings.ACCEPTANCE_WORKING_DAYS)
    project.save(update_fields=["acceptance_due"])
    audit_record(actor=actor, action="delivery.submit", obj=delivery, after={"note": delivery.note})
    transition(project, Status.DELIVERED, actor=actor, action="project.deliver")
    notify(project.owner_id, _("中介机构已提交服务成果，请验收：%(p)s") % {"p": project}, project)
    return delivery


@transaction.atomic
def delivery_decide(*, actor: User, project: Project, accept: bool, reason: str = "") -> Delivery:
    require_owner(actor, project)
    project = lock_project(project)
    if project.status != Status.DELIVERED:
        raise DomainError(_("没有待验收的成果。"), code="transition")
    delivery = (
        project.deliveries.select_for_update()
        .filter(decision=Delivery.Decision.PENDING)
        .order_by("-delivered_at")
        .first()
    )
    reason = (reason or "").strip()
    if not accept and not reason:
        raise DomainError(_("退回须说明理由。"), field="reason")
    delivery.decision = Delivery.Decision.ACCEPTED if accept else Delivery.Decision.RETURNED
    delivery.decision_reason = reason
    delivery.decided_at = timezone.now()
    delivery.save()
    audit_record(
        actor=actor,
        action="delivery.decide",
        obj=delivery,
        after={"decision": delivery.decision, "reason": reason},
    )
    winner = winning_application(project)
    if accept:
        transition(project, Status.ACCEPTED, actor=actor, action="project.accept")
        notify(
            winner.intermediary.organisation_id,
            _("服务成果已验收，请评价业主：%(p)s") % {"p": project},
            project,
        )
    else:
        transition(project, Status.IN_SERVICE, actor=actor, action="project.return_delivery", note=reason)
        notify(winner.intermediary.organisation_id, _("服务成果被退回：%(r)s") % {"r": reason}, project)
    return delivery


def _clean_scores(scores: dict, criteria: tuple[str, ...]) -> dict[str, int]:
    cleaned = {}
    for key in criteria:
        raw = scores.get(key)
        try:
            value = int(raw)
            if (
                isinstance(raw, float | Decimal)
                and raw != value
                or isinstance(raw, str)
                and raw.strip() != str(value)
            ):
                raise ValueError(raw)
        except (TypeError, ValueError) as exc:
            raise DomainError(_("请为每一项打分（1至5分的整数）。"), field=key) from exc
        if not 1 <= value <= 5:
            raise DomainError(_("评分须为1至5分。"), field=key)
        cleaned[key] = value
    return cleaned


@transaction.atomic
def rating_submit(*, actor: User, project: Project, scores: dict, comment: str = "") -> Rating:
    project = lock_project(project)
    side = _side(actor, project)
    if project.status not in (Status.ACCEPTED, Status.RATED):
        raise DomainError(_("验收通过后才能评价。"), code="transition")
    direction = Rating.Direction.OWNER_RATES_FIRM if side == "owner" else Rating.Direction.FIRM_RATES_OWNER
    if Rating.objects.filter(project=project, direction=direction).exists():
        raise DomainError(_("已评价，不能重复评价。"), code="duplicate")
    criteria = OWNER_CRITERIA if side == "owner" else FIRM_CRITERIA
    cleaned = _clean_scores(scores, criteria)
    overall = (Decimal(sum(cleaned.values())) / len(cleaned)).quantize(Decimal("0.01"))
    contract = Contract.objects.get(project=project)
    rating = Rating.objects.create(
        project=project,
        direction=direction,
        scores=cleaned,
        overall=overall,
        comment=(comment or "").strip(),
        amount=contract.amount,
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor, action="rating.submit", obj=rating, after={"direction": direction, "scores": cleaned}
    )
    if direction == Rating.Direction.OWNER_RATES_FIRM:
        firm_rating_recompute(contract.intermediary_id)
    if project.ratings.count() == 2 and project.status == Status.ACCEPTED:
        transition(project, Status.RATED, actor=actor, action="project.rated")
    return rating


@transaction.atomic
def rating_dispute(*, actor: User, rating: Rating, reason: str) -> Rating:
    """The rated party disputes a rating once, with a reason, for the regulator to decide."""
    rating = Rating.objects.select_for_update(of=("self",)).select_related("project").get(pk=rating.pk)
    side = _side(actor, rating.project)
    rated_side = "firm" if rating.direction == Rating.Direction.OWNER_RATES_FIRM else "owner"
    if side != rated_side:
        raise NotAllowed
    if rating.disputed_at:
        raise DomainError(_("每条评价只能申诉一次。"), code="duplicate")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请说明申诉理由。"), field="reason")
    rating.dispute_reason = reason
    rating.disputed_at = timezone.now()
    rating.save(update_fields=["dispute_reason", "disputed_at"])
    audit_record(actor=actor, action="rating.dispute", obj=rating, after={"reason": reason})
    notify_regulators(_("评价申诉待处理：%(p)s") % {"p": rating.project}, rating.project)
    return rating


@transaction.atomic
def rating_dispute_decide(*, actor: User, rating: Rating, uphold: bool) -> Rating:
    require_role(actor, Role.REGULATOR)
    rating = (
        Rating.objects.select_for_update(of=("self",)).select_related("project__contract").get(pk=rating.pk)
    )
    if not rating.disputed_at:
        raise DomainError(_("该评价没有申诉。"), code="transition")
    if rating.dispute_outcome:
        return rating
    rating.dispute_outcome = "upheld" if uphold else "rejected"
    rating.save(update_fields=["dispute_outcome"])
    audit_record(
        actor=actor, action="rating.dispute_decide", obj=rating, after={"outcome": rating.dispute_outcome}
    )
    if rating.direction == Rating.Direction.OWNER_RATES_FIRM:
        firm_rating_recompute(rating.project.contract.intermediary_id)
    return rating


RATING_HALF_LIFE_DAYS = 365


def firm_rating_recompute(intermediary_id: int) -> Decimal | None:
    """Public rating: mean of the owners' overall scores, each weighted by recency (halving
    every year) and by the contract amount (logarithmically), leaving out upheld disputes."""
    ratings = (
        Rating.objects.filter(
            direction=Rating.Direction.OWNER_RATES_FIRM, project__contract__intermediary_id=intermediary_id
        )
        .exclude(Q(dispute_outcome="upheld"))
        .values_list("overall", "amount", "created_at")
    )
    now = timezone.now()
    total = weight_sum = 0.0
    for overall, amount, created in ratings:
        age = (now - created).days
        weight = 0.5 ** (age / RATING_HALF_LIFE_DAYS) * math.log10(float(amount) + 10)
        total += float(overall) * weight
        weight_sum += weight
    score = Decimal(str(round(total / weight_sum, 2))) if weight_sum else None
    Intermediary.objects.filter(pk=intermediary_id).update(rating_score=score)
    return score
