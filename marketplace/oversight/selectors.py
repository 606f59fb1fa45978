"""Reads for the regulator's workbench and the public rule pages (DESIGN section 4).

Visibility: the risk queue, the flags and the complaints are for regulators only; for anyone
else the selectors return nothing (and a flag is a 404). The rules, the settings in force and
how often each rule's flags were confirmed are public, so firms know what is checked.

Every list is one query for its rows whatever their number: a row's risk score, flag count,
band and top rules are correlated subqueries, never a query per row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.catalog.models import Department
from marketplace.procurement.models import Project, Selection
from marketplace.providers.models import Intermediary

from .evidence import (
    evidence_items,
    path_chain,  # noqa: F401  (re-exported: callers read paths through selectors)
    percent,
    split_paths,
)
from .evidence.values import _english
from .forms import (
    ACTIVE,
    Band,
    DepartmentRiskFilter,
    FirmRiskFilter,
    FlagFilter,
    ProjectRiskFilter,
    rule_title,
    threshold_field_name,
)
from .models import Category, Complaint, Flag, RuleSetting, RuleSettingVersion
from .rules.base import Rule, Threshold, all_rules, get_rule

logger = logging.getLogger(__name__)

TOP_RULES = 3
MONEY = DecimalField(max_digits=14, decimal_places=2)


def is_regulator(user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, role=Role.REGULATOR).exists()


def _filtered(filter_class: Any, params: Any, base: QuerySet) -> tuple[Any, QuerySet]:
    filterset = filter_class(params, queryset=base)
    if not filterset.is_valid():
        return filterset, base.none()
    return filterset, filterset.qs


# --- risk scores --------------------------------------------------------------------------------


def band_of(score: int) -> str:
    if score >= settings.RISK_HIGH_FROM:
        return Band.HIGH
    if score >= settings.RISK_MEDIUM_FROM:
        return Band.MEDIUM
    return Band.LOW


def _band(score_field: str = "score") -> Case:
    return Case(
        When(**{f"{score_field}__gte": settings.RISK_HIGH_FROM}, then=Value(Band.HIGH)),
        When(**{f"{score_field}__gte": settings.RISK_MEDIUM_FROM}, then=Value(Band.MEDIUM)),
        default=Value(Band.LOW),
        output_field=CharField(),
    )


def _active_flags(fk: str) -> QuerySet[Flag]:
    return Flag.objects.filter(status__in=ACTIVE, **{fk: OuterRef("pk")}).order_by()


def _risk(fk: str) -> dict[str, Any]:
    """Score (sum of the weights of open and confirmed flags), flag count, band and the
    heaviest rules of each row, as subqueries on the flags' foreign key ``fk``."""
    flags = _active_flags(fk)
    per_row = flags.values(fk)
    annotations: dict[str, Any] = {
        "score": Coalesce(
            Subquery(per_row.annotate(total=Sum("weight")).values("total"), output_field=IntegerField()),
            0,
            output_field=IntegerField(),
        ),
        "flag_count": Coalesce(
            Subquery(per_row.annotate(n=Count("pk")).values("n"), output_field=IntegerField()),
            0,
            output_field=IntegerField(),
        ),
    }
    by_rule = flags.values("rule").annotate(total=Sum("weight")).order_by("-total", "rule").values("rule")
    for i in range(TOP_RULES):
        annotations[f"top_rule_{i}"] = Subquery(by_rule[i : i + 1], output_field=CharField())
    return annotations


def _winning_quote() -> QuerySet:
    """The quote of the standing winner (latest round that named one and was not annulled)."""
    return (
        Selection.objects.filter(project=OuterRef("pk"), annulled=False, winner__isnull=False)
        .order_by("-round")
        .values("winner__quote_amount")[:1]
    )


def project_risk_queue(user: User, params: Any) -> tuple[ProjectRiskFilter, QuerySet[Project]]:
    """Projects with open or confirmed flags, by score then contract value (the contract
    amount, else the winning quote, else the price ceiling), highest first."""
    projects = Project.objects.all() if is_regulator(user) else Project.objects.none()
    base = (
        projects.filter(Exists(_active_flags("project")))
        .select_related("owner", "service_type", "department")
        .annotate(**_risk("project"))
        .annotate(
            band=_band(),
            value=Coalesce(
                F("contract__amount"),
                Subquery(_winning_quote(), output_field=MONEY),
                F("price_ceiling"),
                output_field=MONEY,
            ),
        )
        .order_by(F("score").desc(), F("value").desc(nulls_last=True), "-pk")
    )
    return _filtered(ProjectRiskFilter, params, base)


def firm_risk(user: User, params: Any) -> tuple[FirmRiskFilter, QuerySet[Intermediary]]:
    """Intermediaries by the sum of their open and confirmed flags' weights."""
    firms = Intermediary.objects.all() if is_regulator(user) else Intermediary.objects.none()
    flags = _active_flags("intermediary")
    base = (
        firms.filter(Exists(flags))
        .annotate(**_risk("intermediary"))
        .annotate(
            band=_band(),
            project_count=Coalesce(
                Subquery(
                    flags.values("intermediary").annotate(n=Count("project", distinct=True)).values("n"),
                    output_field=IntegerField(),
                ),
                0,
                output_field=IntegerField(),
            ),
        )
        .order_by(F("score").desc(), "name", "pk")
    )
    return _filtered(FirmRiskFilter, params, base)


def department_risk(user: User, params: Any) -> tuple[DepartmentRiskFilter, QuerySet[Department]]:
    """Departments by the sum of their open and confirmed flags' weights."""
    departments = Department.objects.all() if is_regulator(user) else Department.objects.none()
    flags = _active_flags("department")
    base = (
        departments.filter(Exists(flags))
        .annotate(**_risk("department"))
        .annotate(
            band=_band(),
            project_count=Coalesce(
                Subquery(
                    flags.values("department").annotate(n=Count("project", distinct=True)).values("n"),
                    output_field=IntegerField(),
                ),
                0,
                output_field=IntegerField(),
            ),
        )
        .order_by(F("score").desc(), "code")
    )
    return _filtered(DepartmentRiskFilter, params, base)


@dataclass
class RuleRef:
    code: str
    title: str


def _rule_or_none(code: str) -> Rule | None:
    try:
        return get_rule(code)
    except KeyError:
        return None


def rule_ref(code: str) -> RuleRef:
    rule = _rule_or_none(code)
    return RuleRef(code, rule_title(rule) if rule else "")


def with_top_rules(rows: Any, tab: str) -> Any:
    """Give each row of a risk tab ``top_rules`` (codes with titles) from its annotations and
    ``flags_query``, the query string of the flag list filtered to the row."""
    for row in rows:
        codes = [getattr(row, f"top_rule_{i}", None) for i in range(TOP_RULES)]
        row.top_rules = [rule_ref(code) for code in codes if code]
        if tab == "departments":
            row.flags_query = urlencode({"department": row.code})
        else:
            row.flags_query = urlencode({"intermediary" if tab == "firms" else "project": row.pk})
    return rows


# --- flags --------------------------------------------------------------------------------------


def visible_flags(user: User) -> QuerySet[Flag]:
    return Flag.objects.all() if is_regulator(user) else Flag.objects.none()


def flag_list(user: User, params: Any) -> tuple[FlagFilter, QuerySet[Flag]]:
    base = (
        visible_flags(user)
        .select_related("project", "intermediary", "owner", "department")
        .order_by("-last_seen", "-pk")
    )
    return _filtered(FlagFilter, params, base)


def with_rule_titles(flags: Any) -> Any:
    for flag in flags:
        flag.rule_ref = rule_ref(flag.rule)
    return flags


def get_flag_for(user: User, pk: int) -> Flag:
    try:
        return (
            visible_flags(user)
            .select_related("project", "intermediary", "owner", "department", "decided_by")
            .get(pk=pk)
        )
    except Flag.DoesNotExist:
        raise Http404 from None


def explain(rule: Rule | None, evidence: dict) -> str:
    """The rule's plain-words explanation in the active language; a rule that cannot explain
    this evidence (older shape, missing key) must not take the page down."""
    if rule is None:
        return ""
    try:
        return rule.explain(evidence, get_language() or settings.LANGUAGE_CODE)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError):
        logger.warning("rule %s cannot explain the evidence %r", rule.code, evidence)
        return ""


def flag_detail(user: User, pk: int) -> dict[str, Any]:
    """The flag, its rule (title, basis, the thresholds in force when it was raised), the
    explanation, the evidence shaped for reading, and the other flags of the same project."""
    flag = get_flag_for(user, pk)
    rule = _rule_or_none(flag.rule)
    version = (
        RuleSettingVersion.objects.filter(setting__code=flag.rule, version=flag.rule_version)
        .only("thresholds", "version", "weight")
        .first()
    )
    stored = version.thresholds if version else None
    evidence = flag.evidence if isinstance(flag.evidence, dict) else {"value": flag.evidence}
    if flag.project_id:
        related = Flag.objects.filter(project_id=flag.project_id)
    else:
        related = Flag.objects.filter(subject_type=flag.subject_type, subject_id=flag.subject_id)
    shown, paths = split_paths(evidence)
    related_flags = with_rule_titles(list(related.exclude(pk=flag.pk).order_by("-weight", "rule", "pk")[:50]))
    return {
        "flag": flag,
        "rule": rule,
        "rule_ref": rule_ref(flag.rule),
        "basis": rule_basis(rule) if rule else "",
        "thresholds": threshold_rows(rule, stored) if rule else [],
        "explanation": explain(rule, evidence),
        "evidence": evidence_items(shown),
        "paths": paths,
        "related": related_flags,
        "subject": flag_subject(flag),
    }


def flag_subject(flag: Flag) -> str:
    target = ""
    if flag.subject_type == "project" and flag.project:
        target = f"{flag.project.public_number} {flag.project.title}"
    elif flag.subject_type == "intermediary" and flag.intermediary:
        target = flag.intermediary.name
    elif flag.subject_type == "owner" and flag.owner:
        target = flag.owner.name
    elif flag.subject_type == "department" and flag.department:
        target = flag.department.name
    return target or f"{flag.get_subject_type_display()} #{flag.subject_id}"


# --- rules --------------------------------------------------------------------------------------


@dataclass
class ThresholdRow:
    name: str
    label: str
    value: str
    default: str
    minimum: str
    maximum: str
    kind: str


@dataclass
class RuleRow:
    rule: Rule
    code: str
    category: str
    category_label: str
    title: str
    weight: int
    enabled: bool
    version: int
    thresholds: list[ThresholdRow]
    ocp: tuple[str, ...]
    open: int = 0
    confirmed: int = 0
    dismissed: int = 0
    resolved: int = 0

    @property
    def decided(self) -> int:
        return self.confirmed + self.dismissed

    @property
    def confirmed_share(self) -> Decimal | None:
        """Confirmed / (confirmed + dismissed): how often the rule's flags held up."""
        if not self.decided:
            return None
        return Decimal(self.confirmed) / Decimal(self.decided)

    @property
    def confirmed_percent(self) -> str:
        share = self.confirmed_share
        return "—" if share is None else percent(share)


def rule_basis(rule: Rule) -> str:
    return rule.basis_en if _english() and rule.basis_en else rule.basis_zh


def _threshold_text(threshold: Threshold, value: Any) -> str:
    if value is None:
        return "—"
    if threshold.kind is bool or isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value)


def threshold_label(threshold: Threshold, name: str) -> str:
    return (threshold.label_en if _english() else threshold.label_zh) or threshold.label_zh or name


def threshold_rows(rule: Rule, stored: dict | None) -> list[ThresholdRow]:
    """The rule's thresholds with the values in ``stored`` (its defaults where missing)."""
    stored = stored if isinstance(stored, dict) else {}
    rows = []
    for name, threshold in rule.thresholds.items():
        raw = stored.get(name, threshold.default)
        try:
            value = threshold.clean(raw)
        except ValueError:
            value = raw
        rows.append(
            ThresholdRow(
                name=name,
                label=threshold_label(threshold, name),
                value=_threshold_text(threshold, value),
                default=_threshold_text(threshold, threshold.default),
                minimum=_threshold_text(threshold, threshold.minimum),
                maximum=_threshold_text(threshold, threshold.maximum),
                kind=threshold.kind.__name__,
            )
        )
    return rows


def _flag_counts(codes: list[str] | None = None) -> dict[str, dict[str, int]]:
    flags = Flag.objects.order_by()
    if codes is not None:
        flags = flags.filter(rule__in=codes)
    rows: Any = flags.values("rule").annotate(
        **{status: Count("pk", filter=Q(status=status)) for status in Flag.Status.values}
    )
    return {row["rule"]: row for row in rows}


def _rule_row(rule: Rule, setting: RuleSetting | None, counts: dict[str, int]) -> RuleRow:
    return RuleRow(
        rule=rule,
        code=rule.code,
        category=rule.category,
        category_label=str(Category(rule.category).label)
        if rule.category in Category.values
        else rule.category,
        title=rule_title(rule),
        weight=setting.weight if setting else rule.default_weight,
        enabled=setting.enabled if setting else True,
        version=setting.version if setting else 1,
        thresholds=threshold_rows(rule, setting.thresholds if setting else None),
        ocp=tuple(rule.ocp),
        open=counts.get(Flag.Status.OPEN, 0),
        confirmed=counts.get(Flag.Status.CONFIRMED, 0),
        dismissed=counts.get(Flag.Status.DISMISSED, 0),
        resolved=counts.get(Flag.Status.RESOLVED, 0),
    )


def rule_rows(params: Any = None) -> list[RuleRow]:
    """Every registered rule with its settings in force and its flags by status (two queries).
    ``params`` may hold ``category`` to show one category."""
    rules = all_rules()
    category = (params or {}).get("category") or ""
    if category in Category.values:
        rules = [rule for rule in rules if rule.category == category]
    settings_by_code = {s.code: s for s in RuleSetting.objects.filter(code__in=[r.code for r in rules])}
    counts = _flag_counts([r.code for r in rules])
    return [_rule_row(rule, settings_by_code.get(rule.code), counts.get(rule.code, {})) for rule in rules]


def rule_detail(code: str) -> dict[str, Any]:
    rule = _rule_or_none(code)
    if rule is None:
        raise Http404
    setting = RuleSetting.objects.filter(code=rule.code).first()
    versions = [
        (version, threshold_rows(rule, version.thresholds))
        for version in RuleSettingVersion.objects.filter(setting__code=rule.code)
        .select_related("changed_by")
        .order_by("-version")
    ]
    row = _rule_row(rule, setting, _flag_counts([rule.code]).get(rule.code, {}))
    return {"rule": rule, "row": row, "setting": setting, "versions": versions, "basis": rule_basis(rule)}


def rule_settings_initial(rule: Rule, setting: RuleSetting | None) -> dict[str, Any]:
    stored = setting.thresholds if setting else {}
    initial: dict[str, Any] = {
        "weight": setting.weight if setting else rule.default_weight,
        "enabled": setting.enabled if setting else True,
    }
    for name, threshold in rule.thresholds.items():
        try:
            initial[threshold_field_name(name)] = threshold.clean(stored.get(name, threshold.default))
        except ValueError:
            initial[threshold_field_name(name)] = threshold.default
    return initial


# --- complaints ---------------------------------------------------------------------------------


def complaint_list(user: User, params: Any = None) -> QuerySet[Complaint]:
    complaints = Complaint.objects.all() if is_regulator(user) else Complaint.objects.none()
    if (params or {}).get("designation") == "1":
        complaints = complaints.filter(alleges_designation=True)
    return complaints.select_related("project", "intermediary", "department", "filed_by").order_by(
        "-filed_at", "-pk"
    )
