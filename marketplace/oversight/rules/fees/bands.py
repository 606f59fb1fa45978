"""Fee rules on quotes against published prices: outside the government band (FE01), above
the firm's own fee schedule (FE02) and a schedule raised just before a bid (FE03).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from marketplace.catalog.models import PricingRegime
from marketplace.procurement.models import (
    Application,
    Selection,
)
from marketplace.providers.models import FeeSchedule

from ...models import Category
from ..base import AWARD, COMPETITION, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from .common import (
    HUNDRED,
    QUOTE_FIELDS,
    REGIME_EN,
    REGIME_ZH,
    VALID,
    _amount,
    _english,
    _group_evidence,
    _local,
    _project_fields,
    _scale,
    _scale_range,
    _winner,
    _with_band,
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
    reach = REACH_PROJECT
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
        rows = scope.rows("FE01", self._outside)
        if not scope.full:
            rows = _valid_or_won(rows)
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

    @staticmethod
    def _outside(scope: Scope) -> QuerySet:
        """Quotes of the scope outside their band (a per-change run asks the winner question
        only of the few it finds: ``_valid_or_won``)."""
        applications = Application.objects.filter(quote_amount__isnull=False).exclude(
            project__service_type__pricing_regime=PricingRegime.MARKET
        )
        if scope.full:
            applications = applications.filter(Q(state=VALID) | _winner())
        return (
            _with_band(scope.projects_or_firms(applications, "project_id", "intermediary_id"))
            .filter(band_id__isnull=False)
            .filter(Q(quote_amount__lt=F("band_min")) | Q(quote_amount__gt=F("band_max")))
            .values(
                *QUOTE_FIELDS,
                "state",
                "project__service_type__pricing_regime",
                "band_id",
                "band_from",
                "band_to",
                "band_min",
                "band_max",
            )
        )

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


def _valid_or_won(rows: list[dict]) -> list[dict]:
    """The rows (quotes outside their band) whose application is valid or won a round that
    stands, as the full scan's ``Q(state=VALID) | _winner()`` selects them. A per-change run
    asks the winner question only for the few rows outside the band that are not valid: in the
    query it made PostgreSQL hash every selection of the market for firms with many
    applications (0.2 s)."""
    other = [row["pk"] for row in rows if row["state"] != VALID]
    won = (
        set(Selection.objects.filter(winner_id__in=other, annulled=False).values_list("winner_id", flat=True))
        if other
        else set()
    )
    return [row for row in rows if row["state"] == VALID or row["pk"] in won]


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
    reach = REACH_PROJECT
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
        rows = scope.rows(
            "FE02",
            lambda s: (
                s.projects_or_firms(applications, "project_id", "intermediary_id")
                .annotate(
                    schedule_max=Subquery(schedule.values("fee_max")[:1]),
                    schedule_version=Subquery(schedule.values("version")[:1]),
                    schedule_from=Subquery(schedule.values("effective_from")[:1]),
                )
                .filter(quote_amount__gt=F("schedule_max"))
                .values(*QUOTE_FIELDS, "schedule_max", "schedule_version", "schedule_from", "submitted_at")
            ),
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
        rows = scope.rows(
            ("FE03", params["days"]),
            lambda s: (
                s.projects_or_firms(
                    Application.objects.exclude(state=Application.State.WITHDRAWN),
                    "project_id",
                    "intermediary_id",
                )
                .annotate(window_start=F("submitted_at") - window)
                .annotate(raise_id=Subquery(in_window.values("pk")[:1]))
                .filter(raise_id__isnull=False)
                .values(*QUOTE_FIELDS, "submitted_at", "raise_id")
            ),
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
