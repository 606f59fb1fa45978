"""Irregular-fee red flags (FE01-FE10): quotes against government bands, the firm's own
published schedule and its peers; contract amounts, payments and charges against the contract;
and awards split to stay under the direct-selection threshold.

Quartiles are the R-8 (median-unbiased) estimator, the one Cardinal uses (statrs'
``lower_quartile``/``upper_quartile``), computed in Python over values fetched in one query,
so SQLite and PostgreSQL agree to the cent."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from billing.ledger import PAYMENT_KINDS, net_paid_subquery
from billing.models import LedgerEntry
from marketplace.catalog.models import PriceBand, PricingRegime
from marketplace.core.money import money
from marketplace.procurement.models import (
    Amendment,
    Application,
    Contract,
    Delivery,
    Method,
    Project,
    Selection,
)
from marketplace.providers.models import FeeSchedule

from ..models import Category
from .base import AWARD, COMPETITION, CONTRACT, DELIVERY, PAYMENT, Match, Rule, Scope, Threshold, register
from .stats import Fences, peer_statistics

VALID = Application.State.VALID
HUNDRED = Decimal(100)
REGIME_ZH = {"government_set": "政府定价", "government_guided": "政府指导价"}
REGIME_EN = {"government_set": "government-set", "government_guided": "government-guided"}
KIND_ZH = {"charge": "收费", "refund": "退款", "offline_payment": "线下支付"}
KIND_EN = {"charge": "charge", "refund": "refund", "offline_payment": "offline payment"}


# --- shared pieces ------------------------------------------------------------------------------


def _english(language: str) -> bool:
    return language.startswith("en")


def _amount(value: Any) -> str:
    return str(money(value))


def _scale(value: Any) -> str:
    """A scale in 万元, two places whatever the database returns."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def _local(value) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


def _in_scope(scope: Scope, project_id: int | None, firm_id: int | None) -> bool:
    """Whether a match is one a run over ``scope`` is responsible for (the engine loads the
    existing flags of the scope's projects and firms, and nothing else)."""
    if scope.full:
        return True
    return (scope.project_ids is not None and project_id in scope.project_ids) or (
        scope.intermediary_ids is not None and firm_id in scope.intermediary_ids
    )


def _winner() -> Exists:
    """The application at ``OuterRef("pk")`` won a round that stands."""
    return Exists(Selection.objects.filter(winner_id=OuterRef("pk"), annulled=False))


def _band() -> QuerySet:
    """The government price band that applies to the outer application's project scale."""
    scale = OuterRef("project__scale")
    return (
        PriceBand.objects.filter(service_type_id=OuterRef("project__service_type_id"), scale_from__lte=scale)
        .filter(Q(scale_to__isnull=True) | Q(scale_to__gt=scale))
        .order_by("-scale_from")
    )


def _with_band(queryset: QuerySet) -> QuerySet:
    band = _band()
    return queryset.annotate(
        band_id=Subquery(band.values("pk")[:1]),
        band_from=Subquery(band.values("scale_from")[:1]),
        band_to=Subquery(band.values("scale_to")[:1]),
        band_min=Subquery(band.values("fee_min")[:1]),
        band_max=Subquery(band.values("fee_max")[:1]),
    )


def _project_fields(row: dict, prefix: str = "project__") -> dict[str, Any]:
    return {"owner_id": row[f"{prefix}owner_id"], "department_id": row[f"{prefix}department_id"]}


def fences(values: list[Decimal], multiplier: Decimal) -> dict[str, Decimal]:
    """Q1, Q3 and the Tukey fences Q1 - k·IQR and Q3 + k·IQR (see ``stats``)."""
    return Fences.of(values, multiplier).as_dict()


def _peer_group(row: dict) -> tuple:
    """Peers: the same service type and the same government scale band, or where the service
    type has no bands, the same order of magnitude of scale (10^k to 10^(k+1) 万元)."""
    if row["band_id"] is not None:
        return (row["project__service_type_id"], "band", row["band_id"])
    scale = row["project__scale"]
    return (row["project__service_type_id"], "order", scale.adjusted() if scale > 0 else None)


def _group_key(row: dict) -> str:
    """The peer group as stored with its statistics (``PeerStatistic.group``)."""
    return "|".join(str(part) for part in _peer_group(row))


def _group_evidence(row: dict) -> dict[str, Any]:
    if row["band_id"] is not None:
        upper = row["band_to"]
        return {
            "scale_from": _scale(row["band_from"]),
            "scale_to": _scale(upper) if upper is not None else None,
        }
    scale = row["project__scale"]
    if scale <= 0:
        return {"scale_from": _scale(0), "scale_to": _scale(0)}
    order = scale.adjusted()
    return {"scale_from": _scale(Decimal(10) ** order), "scale_to": _scale(Decimal(10) ** (order + 1))}


def _scale_range(evidence: dict, english: bool) -> str:
    upper = evidence["scale_to"]
    if english:
        return (
            f"{evidence['scale_from']} to {upper} (10,000 yuan)"
            if upper
            else f"{evidence['scale_from']} and up (10,000 yuan)"
        )
    return f"{evidence['scale_from']}～{upper} 万元" if upper else f"{evidence['scale_from']} 万元以上"


QUOTE_FIELDS = (
    "pk",
    "project_id",
    "intermediary_id",
    "quote_amount",
    "project__public_number",
    "project__scale",
    "project__service_type_id",
    "project__owner_id",
    "project__department_id",
    "intermediary__name",
    "intermediary__uscc",
)


# --- FE01-FE03: quotes against bands and schedules ----------------------------------------------


@register
class QuoteOutsideGovernmentBand(Rule):
    """FE01: a valid or winning quote outside the government-set or government-guided band for
    the project's scale (OCP R016). Basis: 《价格法》 and the pricing catalogue: where the price
    of an intermediary service is set or guided by government, charging outside the band for
    the project's size is an irregular fee. Evidence: the project, the firm, its quote, the band
    that applies (scale bracket and fee range) and the regime."""

    code = "FE01"
    phases = frozenset({COMPETITION, AWARD})
    category = Category.FEES
    title_zh = "报价超出政府定价或指导价区间"
    title_en = "Quote outside the government price band"
    basis_zh = (
        "实行政府定价或政府指导价的中介服务，报价不得超出对应项目规模档次的收费区间（《价格法》；OCP R016）。"
    )
    basis_en = (
        "Where a service is government-set or government-guided, a quote must lie inside the band "
        "for the project's scale (Price Law; OCP R016)."
    )
    default_weight = 8
    thresholds = {
        "tolerance_percent": Threshold(
            Decimal("0"),
            Decimal,
            Decimal("0"),
            Decimal("50"),
            "允许偏离区间（%）",
            "Tolerance outside the band (%)",
        )
    }
    ocp = ("R016",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        applications = (
            Application.objects.filter(quote_amount__isnull=False)
            .filter(Q(state=VALID) | _winner())
            .exclude(project__service_type__pricing_regime=PricingRegime.MARKET)
        )
        rows = (
            _with_band(scope.projects_or_firms(applications, "project_id", "intermediary_id"))
            .filter(band_id__isnull=False)
            .filter(Q(quote_amount__lt=F("band_min")) | Q(quote_amount__gt=F("band_max")))
            .values(
                *QUOTE_FIELDS,
                "project__service_type__pricing_regime",
                "band_id",
                "band_from",
                "band_to",
                "band_min",
                "band_max",
            )
        )
        slack = params["tolerance_percent"] / HUNDRED
        matches = []
        for row in rows:
            quote, low, high = row["quote_amount"], row["band_min"], row["band_max"]
            if low * (1 - slack) <= quote <= high * (1 + slack):
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    intermediary_id=row["intermediary_id"],
                    **_project_fields(row),
                    evidence={
                        "project": row["project__public_number"],
                        "firm": row["intermediary__name"],
                        "uscc": row["intermediary__uscc"],
                        "quote": _amount(quote),
                        "scale": _scale(row["project__scale"]),
                        "regime": row["project__service_type__pricing_regime"],
                        "fee_min": _amount(low),
                        "fee_max": _amount(high),
                        **_group_evidence(row),
                        "direction": "below" if quote < low else "above",
                    },
                    key={"project": row["project_id"], "intermediary": row["intermediary_id"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            side = "below" if e["direction"] == "below" else "above"
            return (
                f"In project {e['project']} (scale {e['scale']} ten-thousand yuan), {e['firm']} quoted "
                f"{e['quote']} yuan, {side} the {REGIME_EN[e['regime']]} band of {e['fee_min']}-{e['fee_max']} yuan "
                f"for projects of {_scale_range(e, True)}."
            )
        side = "低于" if e["direction"] == "below" else "高于"
        return (
            f"项目 {e['project']}（规模 {e['scale']} 万元）中，{e['firm']} 报价 {e['quote']} 元，{side}"
            f"{_scale_range(e, False)}档的{REGIME_ZH[e['regime']]}区间 {e['fee_min']}～{e['fee_max']} 元。"
        )


def _schedule_in_force() -> QuerySet:
    """The outer application's firm's fee schedule for the project's service type, latest
    version in force when the application was submitted."""
    return FeeSchedule.objects.filter(
        offer__intermediary_id=OuterRef("intermediary_id"),
        offer__service_type_id=OuterRef("project__service_type_id"),
        effective_from__lte=OuterRef("submitted_at"),
    ).order_by("-version")


@register
class QuoteAboveOwnSchedule(Rule):
    """FE02: a quote above the firm's own published fee schedule in force when it applied (OCP
    R017). Basis: 明码标价 — a firm may not charge more than the fees it publishes (《价格法》
    第十三条, 《明码标价和禁止价格欺诈规定》). Evidence: the project, the firm, its quote, and the
    schedule version in force with its maximum."""

    code = "FE02"
    phases = frozenset({COMPETITION})
    firm_records = True
    category = Category.FEES
    title_zh = "报价高于本机构公示收费标准"
    title_en = "Quote above the firm's published fee schedule"
    basis_zh = "中介机构应明码标价，报价不得高于报名时已公示的本机构收费标准上限（《明码标价和禁止价格欺诈规定》；OCP R017）。"
    basis_en = (
        "A firm must charge as it publishes: a quote may not exceed the maximum of its fee schedule "
        "in force when it applied (price-marking rules; OCP R017)."
    )
    default_weight = 6
    thresholds = {
        "tolerance_percent": Threshold(
            Decimal("0"),
            Decimal,
            Decimal("0"),
            Decimal("50"),
            "允许超出（%）",
            "Tolerance above the schedule (%)",
        )
    }
    ocp = ("R017",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        schedule = _schedule_in_force()
        applications = Application.objects.filter(quote_amount__isnull=False).filter(
            Q(state=VALID) | _winner()
        )
        rows = (
            scope.projects_or_firms(applications, "project_id", "intermediary_id")
            .annotate(
                schedule_max=Subquery(schedule.values("fee_max")[:1]),
                schedule_version=Subquery(schedule.values("version")[:1]),
                schedule_from=Subquery(schedule.values("effective_from")[:1]),
            )
            .filter(quote_amount__gt=F("schedule_max"))
            .values(*QUOTE_FIELDS, "schedule_max", "schedule_version", "schedule_from", "submitted_at")
        )
        slack = 1 + params["tolerance_percent"] / HUNDRED
        matches = []
        for row in rows:
            if row["quote_amount"] <= row["schedule_max"] * slack:
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    intermediary_id=row["intermediary_id"],
                    **_project_fields(row),
                    evidence={
                        "project": row["project__public_number"],
                        "firm": row["intermediary__name"],
                        "uscc": row["intermediary__uscc"],
                        "quote": _amount(row["quote_amount"]),
                        "schedule_version": row["schedule_version"],
                        "schedule_max": _amount(row["schedule_max"]),
                        "schedule_from": _local(row["schedule_from"]),
                        "submitted_at": _local(row["submitted_at"]),
                    },
                    key={"project": row["project_id"], "intermediary": row["intermediary_id"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"In project {e['project']}, {e['firm']} quoted {e['quote']} yuan, above the maximum of "
                f"{e['schedule_max']} yuan in its own fee schedule (version {e['schedule_version']}) in force "
                f"when it applied on {e['submitted_at'][:10]}."
            )
        return (
            f"项目 {e['project']} 中，{e['firm']} 报价 {e['quote']} 元，高于其报名时（{e['submitted_at'][:10]}）"
            f"公示的收费标准（第 {e['schedule_version']} 版）上限 {e['schedule_max']} 元。"
        )


def _raised_versions() -> QuerySet:
    """Fee schedule versions that raised the minimum or the maximum over the previous version."""
    previous = FeeSchedule.objects.filter(
        offer_id=OuterRef("offer_id"), version__lt=OuterRef("version")
    ).order_by("-version")
    return (
        FeeSchedule.objects.annotate(
            prev_version=Subquery(previous.values("version")[:1]),
            prev_min=Subquery(previous.values("fee_min")[:1]),
            prev_max=Subquery(previous.values("fee_max")[:1]),
        )
        .filter(prev_version__isnull=False)
        .filter(Q(fee_min__gt=F("prev_min")) | Q(fee_max__gt=F("prev_max")))
    )


@register
class ScheduleRaisedBeforeBid(Rule):
    """FE03: a firm raised its published fee schedule for a service type shortly before it bid
    for a project of that type. Basis: a published schedule must not be tuned to a known
    opportunity (it legitimises a high quote, cf. FE02); 《明码标价和禁止价格欺诈规定》. Evidence:
    the firm, the project, the raising version with the old and new minimum and maximum, when it
    took effect and when the firm applied."""

    code = "FE03"
    phases = frozenset({COMPETITION})
    firm_records = True
    category = Category.FEES
    title_zh = "投标前短期内上调收费标准"
    title_en = "Fee schedule raised shortly before a bid"
    basis_zh = "中介机构在报名前短期内上调同类服务的公示收费标准，可能针对特定项目抬高价格。"
    basis_en = (
        "A firm raised its published fees for a service type shortly before bidding for such a project."
    )
    default_weight = 5
    thresholds = {"days": Threshold(30, int, 1, 365, "报名前天数", "Days before the application")}
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        window = timedelta(days=params["days"])
        raised = _raised_versions()
        in_window = raised.filter(
            offer__intermediary_id=OuterRef("intermediary_id"),
            offer__service_type_id=OuterRef("project__service_type_id"),
            effective_from__lte=OuterRef("submitted_at"),
            effective_from__gte=OuterRef("window_start"),
        ).order_by("-effective_from", "-version")
        applications = scope.projects_or_firms(
            Application.objects.exclude(state=Application.State.WITHDRAWN), "project_id", "intermediary_id"
        )
        rows = list(
            applications.annotate(window_start=F("submitted_at") - window)
            .annotate(raise_id=Subquery(in_window.values("pk")[:1]))
            .filter(raise_id__isnull=False)
            .values(*QUOTE_FIELDS, "submitted_at", "raise_id")
        )
        versions = {}
        if rows:
            details = raised.filter(pk__in={row["raise_id"] for row in rows}).values(
                "pk",
                "version",
                "prev_version",
                "fee_min",
                "fee_max",
                "prev_min",
                "prev_max",
                "effective_from",
            )
            versions = {v["pk"]: v for v in details}
        matches = []
        for row in rows:
            version = versions[row["raise_id"]]
            gap = row["submitted_at"] - version["effective_from"]
            matches.append(
                Match(
                    subject_type="intermediary",
                    subject_id=row["intermediary_id"],
                    project_id=row["project_id"],
                    intermediary_id=row["intermediary_id"],
                    **_project_fields(row),
                    evidence={
                        "firm": row["intermediary__name"],
                        "uscc": row["intermediary__uscc"],
                        "project": row["project__public_number"],
                        "version": version["version"],
                        "previous_version": version["prev_version"],
                        "old_min": _amount(version["prev_min"]),
                        "old_max": _amount(version["prev_max"]),
                        "new_min": _amount(version["fee_min"]),
                        "new_max": _amount(version["fee_max"]),
                        "effective_from": _local(version["effective_from"]),
                        "submitted_at": _local(row["submitted_at"]),
                        "days_before": gap.days,
                    },
                    key={"intermediary": row["intermediary_id"], "project": row["project_id"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"{e['firm']} raised its fee schedule from {e['old_min']}-{e['old_max']} yuan to "
                f"{e['new_min']}-{e['new_max']} yuan (version {e['version']}, effective {e['effective_from'][:10]}), "
                f"{e['days_before']} day(s) before applying to project {e['project']}."
            )
        return (
            f"{e['firm']} 于 {e['effective_from'][:10]} 将收费标准由 {e['old_min']}～{e['old_max']} 元上调为 "
            f"{e['new_min']}～{e['new_max']} 元（第 {e['version']} 版），{e['days_before']} 天后报名项目 {e['project']}。"
        )


# --- FE04-FE06: contract and payments -----------------------------------------------------------


@register
class ContractAboveWinningQuote(Rule):
    """FE04: the contract amount is above the winning quote without an amendment, or amendments
    raised it by more than the threshold in total (OCP R059, R064). Basis: the contract amount
    equals the winning quote unless a recorded amendment with a reason says otherwise (DESIGN
    §3.7); large raises after award defeat the competition. Evidence: the project, the winning
    quote, the contract amount, the number of amendments and the amount they set."""

    code = "FE04"
    phases = frozenset({AWARD, CONTRACT})
    category = Category.FEES
    title_zh = "合同金额高于中选报价或变更大幅加价"
    title_en = "Contract above the winning quote, or raised by amendments"
    basis_zh = "合同金额应等于中选报价，变更须有记录和理由；未经变更加价或变更累计加价过多属违规收费（OCP R059、R064）。"
    basis_en = (
        "The contract amount equals the winning quote unless a recorded amendment says otherwise; a "
        "raise without one, or amendments raising it too much, is an irregular fee (OCP R059, R064)."
    )
    default_weight = 8
    thresholds = {
        "amended_increase_percent": Threshold(
            Decimal("10"),
            Decimal,
            Decimal("0"),
            Decimal("100"),
            "变更累计加价上限（%）",
            "Total raise by amendments (%)",
        )
    }
    ocp = ("R059", "R064")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        quote = Application.objects.filter(
            project_id=OuterRef("project_id"), intermediary_id=OuterRef("intermediary_id")
        ).values("quote_amount")[:1]
        last = Amendment.objects.filter(contract_id=OuterRef("pk")).order_by("-created_at", "-pk")
        rows = (
            scope.projects(Contract.objects.all(), "project_id")
            .annotate(
                quote=Subquery(quote),
                amendment_count=Count("amendments"),
                amended_to=Subquery(last.values("new_amount")[:1]),
            )
            .filter(quote__isnull=False)
            .filter(Q(amount__gt=F("quote")) | Q(amendment_count__gt=0))
            .values(
                "project_id",
                "amount",
                "quote",
                "amendment_count",
                "amended_to",
                "project__public_number",
                "project__owner_id",
                "project__department_id",
                "intermediary__name",
            )
        )
        limit = params["amended_increase_percent"]
        matches = []
        for row in rows:
            amount, quote = row["amount"], row["quote"]
            documented = row["amended_to"] if row["amendment_count"] else quote
            reasons = []
            if amount > documented:
                reasons.append("unamended")
            increase = (documented - quote) / quote * HUNDRED if quote else Decimal(0)
            if row["amendment_count"] and increase > limit:
                reasons.append("amended")
            if not reasons:
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    **_project_fields(row),
                    evidence={
                        "project": row["project__public_number"],
                        "firm": row["intermediary__name"],
                        "quote": _amount(quote),
                        "amount": _amount(amount),
                        "amendments": row["amendment_count"],
                        "amended_to": _amount(row["amended_to"]) if row["amendment_count"] else None,
                        "increase_percent": str(increase.quantize(Decimal("0.1"))),
                        "reasons": reasons,
                    },
                    key={"project": row["project_id"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        parts = []
        if _english(language):
            if "unamended" in e["reasons"]:
                basis = (
                    f"the amended amount of {e['amended_to']} yuan"
                    if e["amendments"]
                    else "the winning quote"
                )
                parts.append(
                    f"the contract amount {e['amount']} yuan is above {basis} with no amendment recording it"
                )
            if "amended" in e["reasons"]:
                parts.append(
                    f"{e['amendments']} amendment(s) raised it to {e['amended_to']} yuan, {e['increase_percent']}% "
                    "above the winning quote"
                )
            return f"Project {e['project']} (winning quote {e['quote']} yuan): " + "; ".join(parts) + "."
        if "unamended" in e["reasons"]:
            basis = f"变更后金额 {e['amended_to']} 元" if e["amendments"] else "中选报价"
            parts.append(f"合同金额 {e['amount']} 元高于{basis}，且无变更记录")
        if "amended" in e["reasons"]:
            parts.append(
                f"经 {e['amendments']} 次变更加价至 {e['amended_to']} 元，比中选报价高 {e['increase_percent']}%"
            )
        return f"项目 {e['project']}（中选报价 {e['quote']} 元）：" + "；".join(parts) + "。"


@register
class PaymentsAboveContract(Rule):
    """FE05: more has been paid on a contract (charges and offline payments less refunds) than
    its amount (OCP R068). Basis: every charge is tied to the contract and may not exceed it
    (DESIGN §3.9). Evidence: the project, the contract amount, the net amount paid and the excess."""

    code = "FE05"
    phases = frozenset({CONTRACT, DELIVERY, PAYMENT})
    category = Category.FEES
    title_zh = "付款超过合同金额"
    title_en = "Payments above the contract amount"
    basis_zh = "合同项下实收金额（收费及线下支付减退款）不得超过合同金额（OCP R068）。"
    basis_en = (
        "The net amount paid on a contract (charges and offline payments less refunds) exceeds it (OCP R068)."
    )
    default_weight = 10
    thresholds = {
        "tolerance": Threshold(
            Decimal("0"), Decimal, Decimal("0"), Decimal("100000"), "允许超付（元）", "Tolerance (yuan)"
        )
    }
    ocp = ("R068",)

    def find(self, scope: Scope, params: dict) -> list[Match]:
        rows = (
            scope.projects(Contract.objects.all(), "project_id")
            .annotate(paid=net_paid_subquery("pk"))
            .filter(paid__gt=F("amount"))
            .values(
                "project_id",
                "amount",
                "paid",
                "project__public_number",
                "project__owner_id",
                "project__department_id",
                "intermediary__name",
            )
        )
        matches = []
        for row in rows:
            paid = money(row["paid"])
            excess = paid - row["amount"]
            if excess <= params["tolerance"]:
                continue
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=row["project_id"],
                    project_id=row["project_id"],
                    **_project_fields(row),
                    evidence={
                        "project": row["project__public_number"],
                        "firm": row["intermediary__name"],
                        "amount": _amount(row["amount"]),
                        "paid": _amount(paid),
                        "excess": _amount(excess),
                    },
                    key={"project": row["project_id"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"On project {e['project']}, {e['paid']} yuan has been paid to {e['firm']} against a contract of "
                f"{e['amount']} yuan: {e['excess']} yuan too much."
            )
        return f"项目 {e['project']} 合同金额 {e['amount']} 元，已向 {e['firm']} 支付 {e['paid']} 元，超出 {e['excess']} 元。"


@register
class PaymentBeforeAcceptance(Rule):
    """FE06: money paid before acceptance on a contract that says payment follows acceptance.
    Basis: the contract's own terms (验收后付款); paying early removes the owner's leverage and
    often hides a side deal. Evidence: the project, the payments made before acceptance (or with
    no acceptance yet) and the acceptance time."""

    code = "FE06"
    phases = frozenset({CONTRACT, DELIVERY, PAYMENT})
    category = Category.FEES
    title_zh = "验收前付款"
    title_en = "Payment before acceptance"
    basis_zh = "合同约定验收后付款，却在验收通过前收费或线下支付。"
    basis_en = (
        "The contract says payment follows acceptance, yet money was paid before the result was accepted."
    )
    default_weight = 6
    thresholds = {"grace_days": Threshold(0, int, 0, 30, "宽限天数", "Grace days before acceptance")}

    def find(self, scope: Scope, params: dict) -> list[Match]:
        accepted = (
            Delivery.objects.filter(
                project_id=OuterRef("contract__project_id"), decision=Delivery.Decision.ACCEPTED
            )
            .order_by("decided_at")
            .values("decided_at")[:1]
        )
        entries = LedgerEntry.objects.filter(contract__pay_after_acceptance=True, kind__in=PAYMENT_KINDS)
        rows = (
            scope.projects(entries, "contract__project_id")
            .annotate(accepted_at=Subquery(accepted))
            .filter(Q(accepted_at__isnull=True) | Q(occurred_at__lt=F("accepted_at")))
            .order_by("occurred_at", "pk")
            .values(
                "pk",
                "kind",
                "amount",
                "milestone",
                "reference",
                "occurred_at",
                "accepted_at",
                "contract__project_id",
                "contract__project__public_number",
                "contract__project__owner_id",
                "contract__project__department_id",
            )
        )
        grace = timedelta(days=params["grace_days"])
        by_project: dict[int, list[dict]] = defaultdict(list)
        for row in rows:
            if row["accepted_at"] is None or row["occurred_at"] < row["accepted_at"] - grace:
                by_project[row["contract__project_id"]].append(row)
        matches = []
        for project_id, items in by_project.items():
            first = items[0]
            matches.append(
                Match(
                    subject_type="project",
                    subject_id=project_id,
                    project_id=project_id,
                    **_project_fields(first, "contract__project__"),
                    evidence={
                        "project": first["contract__project__public_number"],
                        "accepted_at": _local(first["accepted_at"]) or None,
                        "total": _amount(sum(r["amount"] for r in items)),
                        "payments": [
                            {
                                "kind": r["kind"],
                                "amount": _amount(r["amount"]),
                                "reference": r["reference"],
                                "milestone": r["milestone"],
                                "occurred_at": _local(r["occurred_at"]),
                            }
                            for r in items
                        ],
                    },
                    key={"project": project_id},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        english = _english(language)
        kinds = KIND_EN if english else KIND_ZH
        listed = ("; " if english else "；").join(
            f"{kinds[p['kind']]} {p['amount']} {'yuan' if english else '元'} ({p['reference']}, {p['occurred_at'][:10]})"
            for p in e["payments"]
        )
        if english:
            when = (
                f"before its acceptance on {e['accepted_at'][:10]}"
                if e["accepted_at"]
                else "before any acceptance"
            )
            return (
                f"Project {e['project']}'s contract says payment follows acceptance, but {e['total']} yuan was paid "
                f"{when}: {listed}."
            )
        when = f"在 {e['accepted_at'][:10]} 验收通过前" if e["accepted_at"] else "在尚未验收时"
        return f"项目 {e['project']} 合同约定验收后付款，但{when}已支付 {e['total']} 元：{listed}。"


# --- FE07-FE08: quotes against peers ------------------------------------------------------------


class _PeerOutlier(Rule):
    """Shared by FE07 and FE08: quotes grouped by service type and scale band, Tukey fences."""

    thresholds = {
        "min_peers": Threshold(8, int, 4, 1000, "最少同类报价数", "Minimum peer quotes"),
        "iqr_multiplier": Threshold(
            Decimal("1.5"), Decimal, Decimal("0.5"), Decimal("10"), "四分位距倍数", "IQR multiplier"
        ),
    }

    def quotes(self) -> QuerySet:
        raise NotImplementedError

    def outlier(self, quote: Decimal, fence: dict[str, Decimal]) -> bool:
        raise NotImplementedError

    def match(self, row: dict, fence: dict[str, Decimal], peers: int) -> Match:
        raise NotImplementedError

    def scoped(self, scope: Scope, quotes: QuerySet) -> QuerySet:
        """The quotes a per-change run judges: those of the scope's projects and firms."""
        return scope.projects_or_firms(quotes, "project_id", "intermediary_id")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        fields = (*QUOTE_FIELDS, "band_id", "band_from", "band_to", "project__service_type__code")
        if scope.full:
            rows = list(_with_band(self.quotes()).values(*fields))
            stats = peer_statistics(
                self.code, True, params, (), lambda _groups: self.statistics(rows, None, params)
            )
        else:
            rows = list(_with_band(self.scoped(scope, self.quotes())).values(*fields))
            stats = peer_statistics(
                self.code, False, params, {_group_key(row) for row in rows}, lambda g: self.compute(g, params)
            )
        matches = []
        for row in rows:
            if not self.touches(scope, row):
                continue
            stat = stats.get(_group_key(row)) or {}
            if stat.get("peers", 0) < params["min_peers"]:
                continue
            fence = {name: Decimal(stat[name]) for name in ("q1", "q3", "lower", "upper")}
            if not self.outlier(row["quote_amount"], fence):
                continue
            matches.append(self.match(row, fence, stat["peers"]))
        return matches

    def statistics(self, rows: list[dict], wanted: set[str] | None, params: dict) -> dict[str, dict]:
        """Each peer group's number of quotes and, where there are enough, its fences."""
        groups: dict[str, list[Decimal]] = defaultdict(list)
        for row in rows:
            key = _group_key(row)
            if wanted is None or key in wanted:
                groups[key].append(row["quote_amount"])
        result: dict[str, dict] = {}
        for key, values in groups.items():
            result[key] = {"peers": len(values)}
            if len(values) >= params["min_peers"]:
                result[key].update(fences(values, params["iqr_multiplier"]))
        return result

    def compute(self, wanted: set[str], params: dict) -> dict[str, dict]:
        """The statistics of some peer groups, from all the quotes of their service types."""
        types = {int(key.split("|", 1)[0]) for key in wanted}
        rows = _with_band(self.quotes().filter(project__service_type_id__in=types)).values(
            "quote_amount", "band_id", "project__scale", "project__service_type_id"
        )
        return self.statistics(list(rows), wanted, params)

    def touches(self, scope: Scope, row: dict) -> bool:
        return _in_scope(scope, row["project_id"], row["intermediary_id"])

    def evidence(self, row: dict, fence: dict[str, Decimal], peers: int) -> dict[str, Any]:
        return {
            "project": row["project__public_number"],
            "firm": row["intermediary__name"],
            "uscc": row["intermediary__uscc"],
            "service_type": row["project__service_type__code"],
            "scale": _scale(row["project__scale"]),
            **_group_evidence(row),
            "quote": _amount(row["quote_amount"]),
            "peers": peers,
            "q1": _amount(fence["q1"]),
            "q3": _amount(fence["q3"]),
            "fence": _amount(fence["lower"] if self.code == "FE07" else fence["upper"]),
        }


@register
class AbnormallyLowQuote(_PeerOutlier):
    """FE07: a quote far below its peers — the valid quotes for the same service type in the
    same scale band — below Q1 - k·IQR (OCP R058, abnormally low bid). Basis: an abnormally low
    quote points at work not done properly or at costs recovered later (extra fees, FE04/FE09);
    《政府采购货物和服务招标投标管理办法》第六十条. Peers share the scale band, so a small
    project's quote is never compared with a large one's. Random draws are left out: the price
    there is the owner's. Evidence: the project, the firm, its quote, Q1, Q3, the fence and the
    number of peers."""

    code = "FE07"
    phases = frozenset({COMPETITION})
    category = Category.FEES
    title_zh = "报价异常低于同类项目"
    title_en = "Abnormally low quote against peers"
    basis_zh = "报价低于同类服务、同规模档有效报价的 Q1 − 1.5×四分位距，可能低价中标后另行收费（OCP R058）。"
    basis_en = (
        "A quote below Q1 - 1.5 IQR of the valid quotes for the same service type and scale band may "
        "be recovered later through extra fees (OCP R058)."
    )
    default_weight = 4
    thresholds = _PeerOutlier.thresholds
    ocp = ("R058",)
    scopes = ("project", "intermediary")

    def quotes(self) -> QuerySet:
        return Application.objects.filter(state=VALID, quote_amount__isnull=False).exclude(
            project__method=Method.RANDOM_DRAW
        )

    def outlier(self, quote: Decimal, fence: dict[str, Decimal]) -> bool:
        return quote < fence["lower"]

    def match(self, row: dict, fence: dict[str, Decimal], peers: int) -> Match:
        return Match(
            subject_type="project",
            subject_id=row["project_id"],
            project_id=row["project_id"],
            intermediary_id=row["intermediary_id"],
            **_project_fields(row),
            evidence=self.evidence(row, fence, peers),
            key={"project": row["project_id"], "intermediary": row["intermediary_id"]},
        )

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"In project {e['project']}, {e['firm']} quoted {e['quote']} yuan, below the lower fence of "
                f"{e['fence']} yuan (Q1 {e['q1']}, Q3 {e['q3']}) of {e['peers']} valid quotes for {e['service_type']} "
                f"projects of {_scale_range(e, True)}."
            )
        return (
            f"项目 {e['project']} 中，{e['firm']} 报价 {e['quote']} 元，低于同类服务（{e['service_type']}，"
            f"{_scale_range(e, False)}）{e['peers']} 个有效报价的下限 {e['fence']} 元（Q1 {e['q1']}，Q3 {e['q3']}）。"
        )


@register
class AbnormallyHighWinningQuote(_PeerOutlier):
    """FE08: a winning quote far above the winning quotes of its peers (same service type and
    scale band), above Q3 + k·IQR (OCP R016, R031). Basis: an owner paying well above the market
    for the same service points at a designated firm or a kickback. Evidence: the project, the
    winner, its quote, Q1, Q3, the fence and the number of peer awards."""

    code = "FE08"
    phases = frozenset({AWARD})
    category = Category.FEES
    title_zh = "中选报价异常高于同类项目"
    title_en = "Abnormally high winning quote against peers"
    basis_zh = "中选报价高于同类服务、同规模档中选报价的 Q3 + 1.5×四分位距（OCP R016、R031）。"
    basis_en = (
        "A winning quote above Q3 + 1.5 IQR of the winning quotes for the same service type and scale "
        "band (OCP R016, R031)."
    )
    default_weight = 6
    thresholds = _PeerOutlier.thresholds
    ocp = ("R016", "R031")

    def quotes(self) -> QuerySet:
        return Application.objects.filter(_winner(), quote_amount__isnull=False)

    def scoped(self, scope: Scope, quotes: QuerySet) -> QuerySet:
        return scope.projects(quotes, "project_id")

    def touches(self, scope: Scope, row: dict) -> bool:
        return _in_scope(scope, row["project_id"], None)

    def outlier(self, quote: Decimal, fence: dict[str, Decimal]) -> bool:
        return quote > fence["upper"]

    def match(self, row: dict, fence: dict[str, Decimal], peers: int) -> Match:
        return Match(
            subject_type="project",
            subject_id=row["project_id"],
            project_id=row["project_id"],
            **_project_fields(row),
            evidence=self.evidence(row, fence, peers),
            key={"project": row["project_id"]},
        )

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            return (
                f"Project {e['project']} was won by {e['firm']} at {e['quote']} yuan, above the upper fence of "
                f"{e['fence']} yuan (Q1 {e['q1']}, Q3 {e['q3']}) of {e['peers']} winning quotes for {e['service_type']} "
                f"projects of {_scale_range(e, True)}."
            )
        return (
            f"项目 {e['project']} 由 {e['firm']} 以 {e['quote']} 元中选，高于同类服务（{e['service_type']}，"
            f"{_scale_range(e, False)}）{e['peers']} 个中选报价的上限 {e['fence']} 元（Q1 {e['q1']}，Q3 {e['q3']}）。"
        )


# --- FE09-FE10: undisclosed charges and split awards --------------------------------------------


@register
class ChargeNotTiedToContract(Rule):
    """FE09: money taken that is not tied to a contract line — a ledger charge or offline
    payment with no contract, or with no contract milestone (OCP R068). Basis: every charge is
    tied to a contract and disclosed (DESIGN §3.9); 《价格法》 forbids fees not marked. Subject:
    the firm paid, or the owner where no firm is recorded. Evidence: the entry (kind, amount,
    reference, time), and the contract's project where there is one."""

    code = "FE09"
    phases = frozenset({CONTRACT, DELIVERY, PAYMENT})
    category = Category.FEES
    title_zh = "未对应合同条目的收费"
    title_en = "Charge not tied to a contract line"
    basis_zh = "每笔收费都应对应合同及其付款节点并公开；未对应合同条目的收费属于未公示收费（OCP R068）。"
    basis_en = "Every charge is tied to a contract line and disclosed; one that is not is an undisclosed fee (OCP R068)."
    default_weight = 10
    thresholds = {
        "min_amount": Threshold(
            Decimal("0"), Decimal, Decimal("0"), Decimal("100000"), "忽略不超过（元）", "Ignore up to (yuan)"
        )
    }
    ocp = ("R068",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        entries = LedgerEntry.objects.filter(kind__in=PAYMENT_KINDS, amount__gt=params["min_amount"]).filter(
            Q(contract__isnull=True) | Q(milestone="")
        )
        if not scope.full:
            entries = entries.filter(
                Q(contract__project_id__in=scope.project_ids or [])
                | Q(intermediary_id__in=scope.intermediary_ids or [])
                | Q(contract__intermediary_id__in=scope.intermediary_ids or [])
            )
        rows = entries.order_by("pk").values(
            "pk",
            "kind",
            "amount",
            "reference",
            "occurred_at",
            "contract_id",
            "intermediary_id",
            "intermediary__name",
            "owner_id",
            "owner__name",
            "contract__intermediary_id",
            "contract__intermediary__name",
            "contract__project_id",
            "contract__project__public_number",
            "contract__project__owner_id",
            "contract__project__owner__name",
            "contract__project__department_id",
        )
        matches = []
        for row in rows:
            firm_id = row["intermediary_id"] or row["contract__intermediary_id"]
            owner_id = row["owner_id"] or row["contract__project__owner_id"]
            project_id = row["contract__project_id"]
            if (firm_id is None and owner_id is None) or not _in_scope(scope, project_id, firm_id):
                continue
            matches.append(
                Match(
                    subject_type="intermediary" if firm_id else "owner",
                    subject_id=firm_id or owner_id,
                    project_id=project_id,
                    intermediary_id=firm_id,
                    owner_id=owner_id,
                    department_id=row["contract__project__department_id"],
                    evidence={
                        "entry": row["pk"],
                        "kind": row["kind"],
                        "amount": _amount(row["amount"]),
                        "reference": row["reference"],
                        "occurred_at": _local(row["occurred_at"]),
                        "firm": row["intermediary__name"] or row["contract__intermediary__name"],
                        "owner": row["owner__name"] or row["contract__project__owner__name"],
                        "project": row["contract__project__public_number"],
                        "reason": "no_milestone" if row["contract_id"] else "no_contract",
                    },
                    key={"entry": row["pk"]},
                )
            )
        return matches

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            payee = f" to {e['firm']}" if e["firm"] else ""
            payer = f" by {e['owner']}" if e["owner"] else ""
            why = (
                f"is on project {e['project']}'s contract but names no contract line"
                if e["reason"] == "no_milestone"
                else "is tied to no contract"
            )
            return (
                f"A {KIND_EN[e['kind']]} of {e['amount']} yuan{payee}{payer} on {e['occurred_at'][:10]} "
                f"(reference {e['reference']}) {why}: an undisclosed fee."
            )
        parties = "".join(
            part
            for part in (f"由 {e['owner']} " if e["owner"] else "", f"向 {e['firm']} " if e["firm"] else "")
        )
        why = (
            f"虽属项目 {e['project']} 的合同，但未对应任何付款节点"
            if e["reason"] == "no_milestone"
            else "未对应任何合同"
        )
        return (
            f"{e['occurred_at'][:10]} {parties}{KIND_ZH[e['kind']]} {e['amount']} 元（凭证 {e['reference']}），"
            f"{why}，属未公示收费。"
        )


@register
class AwardsSplitUnderThreshold(Rule):
    """FE10: an owner repeatedly gives one firm direct-selection awards just under the
    direct-selection threshold of the funding source — the mark of a purchase split to avoid
    competition (OCP R055). Basis: direct selection is allowed only below the threshold;
    splitting a purchase to stay under it is forbidden (《政府采购法实施条例》第二十八条).
    Evidence: the owner, the firm, and the awards inside the densest window (project, amount,
    threshold, date) with their total."""

    code = "FE10"
    phases = frozenset({AWARD})
    category = Category.FEES
    title_zh = "化整为零：多次略低于直接选取限额"
    title_en = "Awards split just under the direct-selection threshold"
    basis_zh = (
        "同一业主多次以略低于直接选取限额的金额直接选取同一中介机构，涉嫌化整为零规避竞争（OCP R055）。"
    )
    basis_en = (
        "One owner repeatedly directly selects the same firm at amounts just under the direct-selection "
        "threshold: a purchase split to avoid competition (OCP R055)."
    )
    default_weight = 8
    thresholds = {
        "within_percent": Threshold(
            Decimal("10"),
            Decimal,
            Decimal("1"),
            Decimal("50"),
            "低于限额幅度（%）",
            "Within % under the threshold",
        ),
        "min_awards": Threshold(2, int, 2, 20, "最少次数", "Awards at least"),
        "window_days": Threshold(365, int, 30, 1095, "统计期（天）", "Window (days)"),
    }
    ocp = ("R055",)
    scopes = ("project", "intermediary")

    def find(self, scope: Scope, params: dict) -> list[Match]:
        near = Q(pk__in=[])
        limits = {}
        for source, threshold in settings.DIRECT_SELECTION_THRESHOLDS.items():
            limit = Decimal(threshold)
            limits[source] = limit
            low = limit * (1 - params["within_percent"] / HUNDRED)
            near |= Q(
                project__funding_source=source, winner__quote_amount__gte=low, winner__quote_amount__lt=limit
            )
        awards = Selection.objects.filter(annulled=False, project__method=Method.DIRECT).filter(near)
        if not scope.full:
            owners = Project.objects.filter(pk__in=scope.project_ids or []).values("owner_id")
            awards = awards.filter(
                Q(winner__intermediary_id__in=scope.intermediary_ids or []) | Q(project__owner_id__in=owners)
            )
        rows = awards.order_by("performed_at", "pk").values(
            "performed_at",
            "project_id",
            "project__public_number",
            "project__funding_source",
            "project__owner_id",
            "project__owner__name",
            "project__department_id",
            "winner__quote_amount",
            "winner__intermediary_id",
            "winner__intermediary__name",
        )
        pairs: dict[tuple[int, int], list[dict]] = defaultdict(list)
        for row in rows:
            pairs[(row["project__owner_id"], row["winner__intermediary_id"])].append(row)
        window = timedelta(days=params["window_days"])
        matches = []
        for (owner_id, firm_id), items in pairs.items():
            best = self._densest(items, window)
            if len(best) < params["min_awards"]:
                continue
            latest = best[-1]
            match = Match(
                subject_type="owner",
                subject_id=owner_id,
                owner_id=owner_id,
                intermediary_id=firm_id,
                project_id=latest["project_id"],
                department_id=latest["project__department_id"],
                evidence={
                    "owner": latest["project__owner__name"],
                    "firm": latest["winner__intermediary__name"],
                    "window_days": params["window_days"],
                    "total": _amount(sum(r["winner__quote_amount"] for r in best)),
                    "awards": [
                        {
                            "project": r["project__public_number"],
                            "amount": _amount(r["winner__quote_amount"]),
                            "threshold": _amount(limits[r["project__funding_source"]]),
                            "date": timezone.localdate(r["performed_at"]).isoformat(),
                        }
                        for r in best
                    ],
                },
                key={"owner": owner_id, "intermediary": firm_id},
            )
            # A scoped run answers for the pairs of its firms and of its projects (the flag
            # carries the pair's latest project); the window is counted over all their awards.
            if _in_scope(scope, match.project_id, firm_id):
                matches.append(match)
        return matches

    @staticmethod
    def _densest(items: list[dict], window: timedelta) -> list[dict]:
        """The largest run of awards within one window (the latest such run on a tie)."""
        best: list[dict] = []
        start = 0
        for end in range(len(items)):
            while items[end]["performed_at"] - items[start]["performed_at"] > window:
                start += 1
            if end - start + 1 >= len(best):
                best = items[start : end + 1]
        return best

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        e = evidence
        if _english(language):
            listed = "; ".join(
                f"{a['project']} {a['amount']} yuan (threshold {a['threshold']}) on {a['date']}"
                for a in e["awards"]
            )
            return (
                f"{e['owner']} directly selected {e['firm']} {len(e['awards'])} times within {e['window_days']} days, "
                f"each just under the direct-selection threshold, {e['total']} yuan in all: {listed}."
            )
        listed = "；".join(
            f"{a['project']} {a['amount']} 元（限额 {a['threshold']} 元，{a['date']}）" for a in e["awards"]
        )
        return (
            f"{e['owner']} 在 {e['window_days']} 天内 {len(e['awards'])} 次直接选取 {e['firm']}，金额均略低于直接选取限额，"
            f"合计 {e['total']} 元：{listed}。"
        )
