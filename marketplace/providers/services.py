"""Writes for intermediaries: registration, onboarding, review, offers and fee versions.

Every function here runs in one transaction, checks the actor's right to act, validates its
input (raising ``DomainError`` with a user-facing message and writing nothing) and appends an
audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.accounts.services import user_signup
from marketplace.catalog.models import (
    AffiliatedEntity,
    Department,
    PricingRegime,
    QualificationLevel,
    QualificationType,
    ServiceType,
)
from marketplace.core.audit import audit_record, snapshot
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.money import money
from marketplace.core.tasks import enqueue_on_commit
from marketplace.core.validators import (
    clean_resident_id,
    clean_upload,
    clean_uscc,
    id_hash,
    reject_regional_restriction,
)
from marketplace.core.workdays import add_working_days

from .models import (
    COMMITMENT_VERSION,
    DeclaredTie,
    FeeSchedule,
    Intermediary,
    Offer,
    Practitioner,
    Qualification,
    Shareholder,
)

S = Intermediary.Status
PROFILE_FIELDS = [
    "name",
    "is_sole_proprietor",
    "legal_representative",
    "address",
    "contact_name",
    "phone",
    "email",
    "website",
    "description",
]
SOCIAL_INSURANCE_MONTHS = 3
MONITOR_FIRM = "marketplace.oversight.tasks.monitor_intermediary"
MAX_RATE = Decimal("9999999999.9999")  # what FeeSchedule.rate can hold


# --- permissions ------------------------------------------------------------------------------


def _is_operator(actor: User) -> bool:
    return actor.is_authenticated and actor.memberships.filter(role=Role.OPERATOR).exists()


def require_intermediary_member(actor: User, intermediary: Intermediary) -> None:
    """Only people acting for the firm itself may change it."""
    if (
        not actor.is_authenticated
        or not Membership.objects.filter(
            user=actor, organisation_id=intermediary.organisation_id, role=Role.INTERMEDIARY
        ).exists()
    ):
        raise NotAllowed(_("您不是该中介机构的成员，无权修改其信息。"))


def _require_operator(actor: User) -> None:
    if not _is_operator(actor):
        raise NotAllowed(_("只有平台运营人员可以审核入驻。"))


def _lock(intermediary: Intermediary) -> Intermediary:
    return Intermediary.objects.select_for_update().get(pk=intermediary.pk)


def _require_editable(intermediary: Intermediary) -> None:
    if intermediary.status == S.DELISTED:
        raise DomainError(_("该机构已被清退，不能修改信息或发布服务。"), code="delisted")


# --- registration and profile -----------------------------------------------------------------


@transaction.atomic
def intermediary_register(
    *,
    username: str,
    email: str,
    password: str,
    full_name: str,
    phone: str,
    organisation_name: str,
    uscc: str,
    is_sole_proprietor: bool = False,
) -> Intermediary:
    """Sign-up of a firm: its first user, its organisation and an onboarding draft."""
    membership = user_signup(
        username=username,
        email=email,
        password=password,
        full_name=full_name,
        phone=phone,
        role=Role.INTERMEDIARY,
        organisation_name=organisation_name,
        uscc=uscc,
    )
    org = membership.organisation
    firm = Intermediary.objects.create(
        organisation=org,
        name=org.name,
        uscc=org.uscc,
        is_sole_proprietor=is_sole_proprietor,
        contact_name=full_name,
        phone=phone,
        email=email,
    )
    audit_record(actor=membership.user, action="intermediary.create", obj=firm, after=snapshot(firm))
    return firm


@transaction.atomic
def intermediary_update_profile(
    *,
    actor: User,
    intermediary: Intermediary,
    name: str,
    legal_representative: str,
    legal_representative_id_number: str = "",
    address: str,
    contact_name: str,
    phone: str,
    email: str = "",
    website: str = "",
    description: str = "",
    is_sole_proprietor: bool = False,
) -> Intermediary:
    require_intermediary_member(actor, intermediary)
    firm = _lock(intermediary)
    _require_editable(firm)
    required = {
        "name": (name, _("请填写机构名称。")),
        "legal_representative": (legal_representative, _("请填写法定代表人或经营者姓名。")),
        "address": (address, _("请填写住所。")),
        "contact_name": (contact_name, _("请填写联系人。")),
        "phone": (phone, _("请填写联系电话。")),
    }
    for field, (value, message) in required.items():
        if not (value or "").strip():
            raise DomainError(message, field=field)
    reject_regional_restriction(description, field="description")
    before = snapshot(firm, PROFILE_FIELDS)
    if legal_representative_id_number:
        firm.legal_representative_id_hash = id_hash(
            clean_resident_id(legal_representative_id_number, field="legal_representative_id_number")
        )
    firm.name = name.strip()
    firm.legal_representative = legal_representative.strip()
    firm.address = address.strip()
    firm.contact_name = contact_name.strip()
    firm.phone = phone.strip()
    firm.email = (email or "").strip()
    firm.website = (website or "").strip()
    firm.description = (description or "").strip()
    firm.is_sole_proprietor = is_sole_proprietor
    firm.save()
    audit_record(
        actor=actor,
        action="intermediary.update",
        obj=firm,
        before=before,
        after=snapshot(firm, PROFILE_FIELDS),
    )
    enqueue_on_commit(MONITOR_FIRM, firm.pk)
    return firm


# --- qualifications ---------------------------------------------------------------------------


@transaction.atomic
def qualification_add(
    *,
    actor: User,
    intermediary: Intermediary,
    qualification_type: QualificationType,
    level: QualificationLevel | None,
    number: str,
    authority: str,
    valid_from: date,
    valid_until: date,
    certificate: UploadedFile | None,
) -> Qualification:
    require_intermediary_member(actor, intermediary)
    firm = _lock(intermediary)
    _require_editable(firm)
    number = (number or "").strip()
    if not number:
        raise DomainError(_("请填写证书编号。"), field="number")
    if not (authority or "").strip():
        raise DomainError(_("请填写发证机关。"), field="authority")
    if level is not None and level.qualification_type_id != qualification_type.pk:
        raise DomainError(_("所选等级不属于该资质类型。"), field="level")
    if level is None and qualification_type.levels.exists():
        raise DomainError(_("请选择资质等级。"), field="level")
    if valid_until < valid_from:
        raise DomainError(_("有效期至不能早于有效期起。"), field="valid_until")
    if valid_until < timezone.localdate():
        raise DomainError(
            _("资质证书已于 %(date)s 过期，不能登记过期资质。") % {"date": valid_until.isoformat()},
            field="valid_until",
            code="expired",
        )
    if Qualification.objects.filter(qualification_type=qualification_type, number=number).exists():
        raise DomainError(_("证书编号 %(number)s 已被登记。") % {"number": number}, field="number")
    clean_upload(certificate, field="certificate")
    qualification = Qualification.objects.create(
        intermediary=firm,
        qualification_type=qualification_type,
        level=level,
        number=number,
        authority=authority.strip(),
        valid_from=valid_from,
        valid_until=valid_until,
        certificate=certificate,
    )
    audit_record(actor=actor, action="qualification.add", obj=qualification, after=snapshot(qualification))
    return qualification


@transaction.atomic
def qualification_remove(*, actor: User, qualification: Qualification) -> None:
    require_intermediary_member(actor, qualification.intermediary)
    _require_editable(_lock(qualification.intermediary))
    before = snapshot(qualification)
    pk = qualification.pk
    qualification.delete()
    audit_record(
        actor=actor,
        action="qualification.remove",
        object_type="providers.qualification",
        object_id=pk,
        before=before,
    )


# --- practitioners, shareholders, ties --------------------------------------------------------


def _months_ago(today: date, months: int) -> date:
    year, month = today.year, today.month - months
    while month <= 0:
        month += 12
        year -= 1
    return date(year, month, 1)


@transaction.atomic
def practitioner_add(
    *,
    actor: User,
    intermediary: Intermediary,
    name: str,
    id_number: str,
    title: str,
    certificate_number: str,
    certificate: UploadedFile | None,
    insured_since: date,
    social_insurance_proof: UploadedFile | None,
) -> Practitioner:
    require_intermediary_member(actor, intermediary)
    firm = _lock(intermediary)
    _require_editable(firm)
    if not (name or "").strip():
        raise DomainError(_("请填写姓名。"), field="name")
    normalised = clean_resident_id(id_number)
    hashed = id_hash(normalised)
    if not (title or "").strip():
        raise DomainError(_("请填写职称或执业资格。"), field="title")
    if not (certificate_number or "").strip():
        raise DomainError(_("请填写证书编号。"), field="certificate_number")
    latest_start = _months_ago(timezone.localdate(), SOCIAL_INSURANCE_MONTHS)
    if insured_since > latest_start:
        raise DomainError(
            _("须在本单位连续缴纳社会保险满3个月（起始月不晚于 %(month)s）。")
            % {"month": latest_start.strftime("%Y-%m")},
            field="insured_since",
        )
    if Practitioner.objects.filter(intermediary=firm, id_hash=hashed).exists():
        raise DomainError(_("该人员已登记。"), field="id_number")
    clean_upload(certificate, field="certificate")
    clean_upload(social_insurance_proof, field="social_insurance_proof")
    practitioner = Practitioner.objects.create(
        intermediary=firm,
        name=name.strip(),
        id_hash=hashed,
        id_last4=normalised[-4:],
        title=title.strip(),
        certificate_number=certificate_number.strip(),
        certificate=certificate,
        insured_since=insured_since,
        social_insurance_proof=social_insurance_proof,
    )
    audit_record(actor=actor, action="practitioner.add", obj=practitioner, after=snapshot(practitioner))
    enqueue_on_commit(MONITOR_FIRM, firm.pk)
    return practitioner


def _share(value: Decimal | str) -> Decimal:
    try:
        share = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("持股比例须为数字。"), field="share") from exc
    if share <= 0 or share > 100:
        raise DomainError(_("持股比例须大于0且不超过100。"), field="share")
    return share.quantize(Decimal("0.001"))


@transaction.atomic
def shareholder_add(
    *,
    actor: User,
    intermediary: Intermediary,
    kind: str,
    name: str,
    share: Decimal | str,
    id_number: str = "",
    uscc: str = "",
) -> Shareholder:
    require_intermediary_member(actor, intermediary)
    firm = _lock(intermediary)
    _require_editable(firm)
    if kind not in Shareholder.Kind.values:
        raise DomainError(_("请选择股东类型。"), field="kind")
    if not (name or "").strip():
        raise DomainError(_("请填写股东名称或姓名。"), field="name")
    amount = _share(share)
    total = firm.shareholders.aggregate(total=Sum("share"))["total"] or Decimal(0)
    if total + amount > 100:
        raise DomainError(
            _("持股比例合计不能超过100%%（已登记 %(total)s%%）。") % {"total": total.normalize()},
            field="share",
        )
    row = Shareholder(intermediary=firm, kind=kind, name=name.strip(), share=amount)
    if kind == Shareholder.Kind.PERSON:
        row.id_hash = id_hash(clean_resident_id(id_number))
    else:
        row.uscc = clean_uscc(uscc)
    row.save()
    audit_record(actor=actor, action="shareholder.add", obj=row, after=snapshot(row))
    enqueue_on_commit(MONITOR_FIRM, firm.pk)
    return row


@transaction.atomic
def tie_declare(
    *,
    actor: User,
    intermediary: Intermediary,
    department: Department,
    kind: str,
    description: str,
    affiliate: AffiliatedEntity | None = None,
    person_name: str = "",
    ended_on: date | None = None,
) -> DeclaredTie:
    require_intermediary_member(actor, intermediary)
    firm = _lock(intermediary)
    _require_editable(firm)
    if kind not in DeclaredTie.Kind.values:
        raise DomainError(_("请选择关联类型。"), field="kind")
    if affiliate is not None and affiliate.department_id != department.pk:
        raise DomainError(_("所选单位不属于该部门。"), field="affiliate")
    if not (description or "").strip():
        raise DomainError(_("请说明关联关系的具体情况。"), field="description")
    if kind in (DeclaredTie.Kind.FORMER_STAFF, DeclaredTie.Kind.CURRENT_STAFF, DeclaredTie.Kind.RELATIVE):
        if not (person_name or "").strip():
            raise DomainError(_("请填写相关人员姓名。"), field="person_name")
    tie = DeclaredTie.objects.create(
        intermediary=firm,
        department=department,
        affiliate=affiliate,
        kind=kind,
        person_name=(person_name or "").strip(),
        ended_on=ended_on,
        description=description.strip(),
    )
    audit_record(actor=actor, action="tie.declare", obj=tie, after=snapshot(tie))
    enqueue_on_commit(MONITOR_FIRM, firm.pk)
    return tie


# --- commitment and review --------------------------------------------------------------------


@dataclass(frozen=True)
class OnboardingChecklist:
    profile: bool
    qualifications: bool
    practitioners: bool
    shareholders: bool

    @property
    def missing(self) -> list[str]:
        names = {
            "profile": _("基本信息（法定代表人、住所、联系电话）"),
            "practitioners": _("至少一名从业人员"),
            "shareholders": _("股东信息（个体工商户除外）"),
        }
        return [label for key, label in names.items() if not getattr(self, key)]

    @property
    def complete(self) -> bool:
        return not self.missing


def onboarding_checklist(intermediary: Intermediary) -> OnboardingChecklist:
    return OnboardingChecklist(
        profile=bool(intermediary.legal_representative and intermediary.address and intermediary.phone),
        qualifications=intermediary.qualifications.exists(),
        practitioners=intermediary.practitioners.exists(),
        shareholders=intermediary.is_sole_proprietor or intermediary.shareholders.exists(),
    )


@transaction.atomic
def commitment_sign(
    *, actor: User, intermediary: Intermediary, signer_name: str, accept: bool
) -> Intermediary:
    """The legal representative signs the integrity commitment (承诺书); the firm is listed at
    once, under review (告知承诺制), with the formal check due within the configured working days."""
    from django.conf import settings

    require_intermediary_member(actor, intermediary)
    firm = _lock(intermediary)
    if firm.status not in (S.DRAFT, S.CHANGES_REQUESTED):
        raise DomainError(_("当前状态（%(status)s）不能提交承诺书。") % {"status": firm.get_status_display()})
    if not accept:
        raise DomainError(_("请阅读并同意承诺书内容。"), field="accept")
    signer = (signer_name or "").strip()
    if not signer:
        raise DomainError(_("请填写签署人姓名。"), field="signer_name")
    if firm.legal_representative and signer != firm.legal_representative:
        raise DomainError(
            _("承诺书须由法定代表人（%(name)s）本人签署。") % {"name": firm.legal_representative},
            field="signer_name",
        )
    checklist = onboarding_checklist(firm)
    if not checklist.complete:
        raise DomainError(_("请先完善：%(items)s。") % {"items": "、".join(checklist.missing)})
    before = snapshot(firm, ["status"])
    now = timezone.now()
    firm.status = S.LISTED_UNDER_REVIEW
    firm.commitment_signed_at = now
    firm.commitment_signed_by = signer
    firm.commitment_version = COMMITMENT_VERSION
    firm.listed_at = firm.listed_at or now
    firm.review_due = add_working_days(timezone.localdate(), settings.ONBOARDING_FORMAL_CHECK_WORKING_DAYS)
    firm.review_note = ""
    firm.save()
    audit_record(
        actor=actor,
        action="intermediary.commit",
        obj=firm,
        before=before,
        after=snapshot(firm, ["status", "commitment_signed_by", "commitment_version", "review_due"]),
    )
    return firm


class ReviewDecision:
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    DELIST = "delist"
    ALL = (APPROVE, REQUEST_CHANGES, DELIST)


# The one table of allowed review transitions: (from, decision) -> to.
REVIEW_TRANSITIONS: dict[tuple[str, str], str] = {
    (S.LISTED_UNDER_REVIEW, ReviewDecision.APPROVE): S.LISTED,
    (S.LISTED_UNDER_REVIEW, ReviewDecision.REQUEST_CHANGES): S.CHANGES_REQUESTED,
    (S.LISTED_UNDER_REVIEW, ReviewDecision.DELIST): S.DELISTED,
    (S.LISTED, ReviewDecision.REQUEST_CHANGES): S.CHANGES_REQUESTED,
    (S.LISTED, ReviewDecision.DELIST): S.DELISTED,
    (S.CHANGES_REQUESTED, ReviewDecision.DELIST): S.DELISTED,
}


@transaction.atomic
def intermediary_review(
    *, actor: User, intermediary: Intermediary, decision: str, note: str = ""
) -> Intermediary:
    _require_operator(actor)
    firm = _lock(intermediary)
    if decision not in ReviewDecision.ALL:
        raise DomainError(_("未知的审核决定。"), field="decision")
    target = REVIEW_TRANSITIONS.get((firm.status, decision))
    if firm.status == target:
        return firm
    if target is None:
        raise DomainError(
            _("状态为“%(status)s”的机构不能执行此审核操作。") % {"status": firm.get_status_display()},
            code="transition",
        )
    note = (note or "").strip()
    if decision != ReviewDecision.APPROVE and not note:
        raise DomainError(_("请填写审核意见（要求补正或清退必须说明理由）。"), field="note")
    before = snapshot(firm, ["status", "review_note"])
    firm.status = target
    firm.review_note = note
    firm.reviewed_at = timezone.now()
    firm.save()
    audit_record(
        actor=actor,
        action=f"intermediary.review.{decision}",
        obj=firm,
        before=before,
        after=snapshot(firm, ["status", "review_note"]),
    )
    return firm


# --- offers and fee schedules -----------------------------------------------------------------


@dataclass(frozen=True)
class FeeInput:
    basis: str
    rate: Decimal | str
    fee_min: Decimal | str
    fee_max: Decimal | str
    unit: str = ""
    note: str = ""


def _clean_fee(fee: FeeInput, service_type: ServiceType) -> dict:
    if fee.basis not in FeeSchedule.Basis.values:
        raise DomainError(_("请选择计费方式。"), field="basis")
    try:
        rate = Decimal(str(fee.rate))
        if not rate.is_finite():
            raise ValueError("rate")
        rate = rate.quantize(Decimal("0.0001"))
        fee_min = money(fee.fee_min)
        fee_max = money(fee.fee_max)
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("费率和收费金额须为数字。"), field="rate") from exc
    if rate > MAX_RATE:
        raise DomainError(_("费率/单价过大。"), field="rate")
    if rate < 0:
        raise DomainError(_("费率/单价不能为负数。"), field="rate")
    if fee_min < 0 or fee_max < 0:
        raise DomainError(_("收费金额不能为负数。"), field="fee_min")
    if fee_max < fee_min:
        raise DomainError(_("最高收费不能低于最低收费。"), field="fee_max")
    if fee.basis == FeeSchedule.Basis.PERCENT and rate > 100:
        raise DomainError(_("按投资额比例收费时，费率不能超过100%。"), field="rate")
    if fee.basis == FeeSchedule.Basis.PER_UNIT and not (fee.unit or "").strip():
        raise DomainError(_("按计费单位收费时须填写计费单位。"), field="unit")
    if fee_max > Decimal("999999999999.99"):
        raise DomainError(_("收费金额过大。"), field="fee_max")
    if service_type.pricing_regime != PricingRegime.MARKET:
        bands = list(service_type.price_bands.all())
        if bands:
            low = min(b.fee_min for b in bands)
            high = max(b.fee_max for b in bands)
            if fee_min < low or fee_max > high:
                raise DomainError(
                    _("该服务实行%(regime)s，收费须在 %(low)s 至 %(high)s 元之间。")
                    % {"regime": service_type.get_pricing_regime_display(), "low": low, "high": high},
                    field="fee_max",
                    code="band",
                )
    return {
        "basis": fee.basis,
        "rate": rate,
        "unit": (fee.unit or "").strip(),
        "fee_min": fee_min,
        "fee_max": fee_max,
        "note": (fee.note or "").strip()[:200],
    }


def _check_offer_links(
    firm: Intermediary,
    service_type: ServiceType,
    practitioners: list[Practitioner],
    qualifications: list[Qualification],
) -> None:
    if any(p.intermediary_id != firm.pk for p in practitioners):
        raise DomainError(_("只能选择本机构的从业人员。"), field="practitioners")
    allowed = set(service_type.allowed_qualifications.values_list("qualification_type_id", flat=True))
    today = timezone.localdate()
    for q in qualifications:
        if q.intermediary_id != firm.pk:
            raise DomainError(_("只能选择本机构的资质。"), field="qualifications")
        if q.qualification_type_id not in allowed:
            raise DomainError(
                _("资质“%(q)s”不是“%(service)s”可要求的资质类型。")
                % {"q": q.qualification_type.name, "service": service_type.name},
                field="qualifications",
                code="qualification_not_allowed",
            )
        if q.valid_until < today:
            raise DomainError(
                _("资质“%(q)s”已过期，不能用于发布服务。") % {"q": q.qualification_type.name},
                field="qualifications",
                code="expired",
            )
    if service_type.qualification_required and not qualifications:
        raise DomainError(
            _("提供“%(service)s”须具备相应资质，请选择有效的资质证书。") % {"service": service_type.name},
            field="qualifications",
        )


def _create_fee_version(offer: Offer, cleaned: dict, actor: User) -> FeeSchedule:
    last = offer.fee_versions.aggregate(v=Max("version"))["v"] or 0
    schedule = FeeSchedule.objects.create(
        offer=offer, version=last + 1, effective_from=timezone.now(), created_by=actor, **cleaned
    )
    offer.current_fee = schedule
    offer.save(update_fields=["current_fee", "updated_at"])
    return schedule


@transaction.atomic
def offer_create(
    *,
    actor: User,
    intermediary: Intermediary,
    service_type: ServiceType,
    description: str,
    included: str,
    service_days: int,
    fee: FeeInput,
    practitioners: list[Practitioner] | None = None,
    qualifications: list[Qualification] | None = None,
) -> Offer:
    require_intermediary_member(actor, intermediary)
    firm = _lock(intermediary)
    _require_editable(firm)
    if not service_type.is_active:
        raise DomainError(_("该服务事项已停用。"), field="service_type")
    if Offer.objects.filter(intermediary=firm, service_type=service_type).exists():
        raise DomainError(_("已发布过该服务事项，请修改原服务。"), field="service_type")
    if not (description or "").strip():
        raise DomainError(_("请填写服务说明。"), field="description")
    if not (included or "").strip():
        raise DomainError(_("请填写服务包含的内容。"), field="included")
    if not service_days or service_days <= 0 or service_days > 720:
        raise DomainError(_("服务时限须为1至720个工作日。"), field="service_days")
    reject_regional_restriction(description, field="description")
    reject_regional_restriction(included, field="included")
    practitioners = practitioners or []
    qualifications = qualifications or []
    _check_offer_links(firm, service_type, practitioners, qualifications)
    cleaned = _clean_fee(fee, service_type)
    offer = Offer.objects.create(
        intermediary=firm,
        service_type=service_type,
        description=description.strip(),
        included=included.strip(),
        service_days=service_days,
    )
    offer.practitioners.set(practitioners)
    offer.qualifications.set(qualifications)
    schedule = _create_fee_version(offer, cleaned, actor)
    audit_record(actor=actor, action="offer.create", obj=offer, after=snapshot(offer))
    audit_record(actor=actor, action="fee.version", obj=schedule, after=snapshot(schedule))
    return offer


@transaction.atomic
def offer_update(
    *,
    actor: User,
    offer: Offer,
    description: str,
    included: str,
    service_days: int,
    is_active: bool,
    practitioners: list[Practitioner] | None = None,
    qualifications: list[Qualification] | None = None,
) -> Offer:
    require_intermediary_member(actor, offer.intermediary)
    offer = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("intermediary", "service_type")
        .get(pk=offer.pk)
    )
    _require_editable(offer.intermediary)
    if not (description or "").strip() or not (included or "").strip():
        raise DomainError(_("请填写服务说明和服务包含的内容。"), field="description")
    if not service_days or service_days <= 0 or service_days > 720:
        raise DomainError(_("服务时限须为1至720个工作日。"), field="service_days")
    reject_regional_restriction(description, field="description")
    reject_regional_restriction(included, field="included")
    practitioners = practitioners or []
    qualifications = qualifications or []
    _check_offer_links(offer.intermediary, offer.service_type, practitioners, qualifications)
    before = snapshot(offer)
    offer.description = description.strip()
    offer.included = included.strip()
    offer.service_days = service_days
    offer.is_active = is_active
    offer.save()
    offer.practitioners.set(practitioners)
    offer.qualifications.set(qualifications)
    audit_record(actor=actor, action="offer.update", obj=offer, before=before, after=snapshot(offer))
    return offer


@transaction.atomic
def fee_schedule_change(*, actor: User, offer: Offer, fee: FeeInput) -> FeeSchedule:
    """A new fee version; earlier versions stay as the public history."""
    require_intermediary_member(actor, offer.intermediary)
    offer = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("intermediary", "service_type")
        .get(pk=offer.pk)
    )
    _require_editable(offer.intermediary)
    cleaned = _clean_fee(fee, offer.service_type)
    current = offer.current_fee
    if current and all(getattr(current, k) == v for k, v in cleaned.items() if k != "note"):
        raise DomainError(_("收费标准没有变化。"), code="unchanged")
    schedule = _create_fee_version(offer, cleaned, actor)
    audit_record(
        actor=actor,
        action="fee.version",
        obj=schedule,
        before=snapshot(current) if current else None,
        after=snapshot(schedule),
    )
    enqueue_on_commit(MONITOR_FIRM, offer.intermediary_id)
    return schedule
