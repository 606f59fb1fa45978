"""Reads for the regulator's workbench and the public rule pages (DESIGN section 4).

Visibility: the risk queue, the flags and the complaints are for regulators only; for anyone
else the selectors return nothing (and a flag is a 404). The rules, the settings in force and
how often each rule's flags were confirmed are public, so firms know what is checked.

Every list is one query for its rows whatever their number: a row's risk score, flag count,
band and top rules are correlated subqueries, never a query per row.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
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
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.catalog.models import Department
from marketplace.procurement.models import Method, Project, Selection, Status
from marketplace.providers.models import Intermediary

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


def _english() -> bool:
    return (get_language() or "").startswith("en")


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


# --- evidence, shaped for reading ---------------------------------------------------------------

# Keys the rules use in their evidence; anything else is shown under its own name.
EVIDENCE_LABELS = {
    "project": gettext_lazy("项目"),
    "projects": gettext_lazy("项目"),
    "project_ids": gettext_lazy("项目"),
    "title": gettext_lazy("名称"),
    "name": gettext_lazy("名称"),
    "method": gettext_lazy("选取方式"),
    "method_reason": gettext_lazy("直接选取理由"),
    "status": gettext_lazy("状态"),
    "state": gettext_lazy("状态"),
    "application_state": gettext_lazy("报名状态"),
    "valid": gettext_lazy("有效报名数"),
    "applicants": gettext_lazy("报名机构"),
    "applications": gettext_lazy("报名数"),
    "winner": gettext_lazy("中选机构"),
    "winners": gettext_lazy("中选机构"),
    "winner_quote": gettext_lazy("中选报价（元）"),
    "second_quote": gettext_lazy("次低报价（元）"),
    "lowest_valid": gettext_lazy("最低有效报价（元）"),
    "intermediary": gettext_lazy("中介机构"),
    "firm": gettext_lazy("中介机构"),
    "firms": gettext_lazy("中介机构"),
    "uscc": gettext_lazy("统一社会信用代码"),
    "firm_uscc": gettext_lazy("中介机构统一社会信用代码"),
    "affiliate": gettext_lazy("所属单位"),
    "affiliate_uscc": gettext_lazy("所属单位统一社会信用代码"),
    "affiliate_kind": gettext_lazy("所属单位类型"),
    "owner": gettext_lazy("项目业主"),
    "owners": gettext_lazy("项目业主"),
    "department": gettext_lazy("审批部门"),
    "approval_item": gettext_lazy("审批事项"),
    "approval_case_number": gettext_lazy("审批事项办件号"),
    "case": gettext_lazy("审批事项办件号"),
    "service": gettext_lazy("服务事项"),
    "service_type": gettext_lazy("服务事项"),
    "service_content": gettext_lazy("服务内容"),
    "funding_source": gettext_lazy("资金来源"),
    "scale": gettext_lazy("项目规模（万元）"),
    "scale_from": gettext_lazy("规模下限（万元）"),
    "scale_to": gettext_lazy("规模上限（万元）"),
    "amount": gettext_lazy("金额（元）"),
    "quote": gettext_lazy("报价（元）"),
    "quotes": gettext_lazy("报价（元）"),
    "contract": gettext_lazy("合同"),
    "contracts": gettext_lazy("合同"),
    "contract_amount": gettext_lazy("合同金额（元）"),
    "price_ceiling": gettext_lazy("最高限价（元）"),
    "price_floor": gettext_lazy("最低限价（元）"),
    "fee_min": gettext_lazy("收费下限（元）"),
    "fee_max": gettext_lazy("收费上限（元）"),
    "regime": gettext_lazy("收费管理方式"),
    "standard": gettext_lazy("标准"),
    "paid": gettext_lazy("已付金额（元）"),
    "payments": gettext_lazy("付款记录"),
    "charge": gettext_lazy("收费"),
    "refund": gettext_lazy("退款"),
    "amended_to": gettext_lazy("变更后金额（元）"),
    "amendments": gettext_lazy("合同变更次数"),
    "increase_percent": gettext_lazy("增幅"),
    "schedule_from": gettext_lazy("收费标准生效时间"),
    "schedule_max": gettext_lazy("公示收费上限（元）"),
    "schedule_version": gettext_lazy("收费标准版本"),
    "old_min": gettext_lazy("原收费下限（元）"),
    "old_max": gettext_lazy("原收费上限（元）"),
    "new_min": gettext_lazy("新收费下限（元）"),
    "new_max": gettext_lazy("新收费上限（元）"),
    "previous_version": gettext_lazy("原版本"),
    "version": gettext_lazy("版本"),
    "effective_from": gettext_lazy("生效时间"),
    "submitted_at": gettext_lazy("报名时间"),
    "days_before": gettext_lazy("相隔天数"),
    "threshold": gettext_lazy("阈值"),
    "count": gettext_lazy("次数"),
    "share": gettext_lazy("占比"),
    "majority_share": gettext_lazy("最大占比"),
    "days": gettext_lazy("天数"),
    "working_days": gettext_lazy("工作日数"),
    "window_days": gettext_lazy("统计期（天）"),
    "working_days_late": gettext_lazy("逾期工作日数"),
    "late_working_days": gettext_lazy("逾期工作日数"),
    "overdue_working_days": gettext_lazy("逾期工作日数"),
    "minutes_late": gettext_lazy("逾期分钟数"),
    "deadline": gettext_lazy("截止时间"),
    "contract_due": gettext_lazy("合同签订期限"),
    "delivery_due": gettext_lazy("交付期限"),
    "acceptance_due": gettext_lazy("验收期限"),
    "delivered_on": gettext_lazy("交付日期"),
    "accepted_at": gettext_lazy("验收时间"),
    "result_published_on": gettext_lazy("结果公示日期"),
    "publicity_ends_on": gettext_lazy("公示截止日期"),
    "published_on": gettext_lazy("发布日期"),
    "recorded_on": gettext_lazy("记录日期"),
    "occurred_at": gettext_lazy("发生时间"),
    "award_date": gettext_lazy("中选日期"),
    "date": gettext_lazy("日期"),
    "first_on": gettext_lazy("首次日期"),
    "last_on": gettext_lazy("最近日期"),
    "started_on": gettext_lazy("起始日期"),
    "ended_on": gettext_lazy("结束日期"),
    "filed_on": gettext_lazy("备案日期"),
    "reason": gettext_lazy("理由"),
    "reasons": gettext_lazy("原因"),
    "relation": gettext_lazy("关系"),
    "person": gettext_lazy("人员"),
    "people": gettext_lazy("人员"),
    "staff": gettext_lazy("部门工作人员"),
    "position": gettext_lazy("职务"),
    "role": gettext_lazy("身份"),
    "phone": gettext_lazy("电话"),
    "email": gettext_lazy("电子邮箱"),
    "address": gettext_lazy("地址"),
    "contacts": gettext_lazy("相同联系方式"),
    "field": gettext_lazy("联系方式类型"),
    "party": gettext_lazy("关联方"),
    "value": gettext_lazy("内容"),
    "with": gettext_lazy("关联对象"),
    "ties": gettext_lazy("关联关系"),
    "rule": gettext_lazy("规则"),
    "evidence": gettext_lazy("证据"),
    "declared": gettext_lazy("是否已申报"),
    "hops": gettext_lazy("关联层级"),
    "min_hops": gettext_lazy("最短层级"),
    "path": gettext_lazy("关联路径"),
    "paths": gettext_lazy("关联路径"),
    "path_count": gettext_lazy("路径数"),
    "complaint": gettext_lazy("投诉"),
    "complaints": gettext_lazy("投诉"),
    "relaunches": gettext_lazy("重新发布次数"),
    "round": gettext_lazy("轮次"),
    "rounds": gettext_lazy("轮次"),
    "new_round": gettext_lazy("新轮次"),
    "annulled_round": gettext_lazy("被撤销的轮次"),
    "annulled_winner": gettext_lazy("原中选机构"),
    "q1": gettext_lazy("下四分位数"),
    "q3": gettext_lazy("上四分位数"),
    "iqr": gettext_lazy("四分位距"),
    "fence": gettext_lazy("异常界限"),
    "lower": gettext_lazy("下限"),
    "upper": gettext_lazy("上限"),
    "median": gettext_lazy("中位数"),
    "peers": gettext_lazy("同类数量"),
    "disqualified": gettext_lazy("被取消资格数"),
    "total": gettext_lazy("合计"),
    "kind": gettext_lazy("类型"),
    "type": gettext_lazy("类型"),
    "groups": gettext_lazy("分组"),
    "shared": gettext_lazy("共同信息"),
    "ip": gettext_lazy("网络地址"),
    "network_address": gettext_lazy("网络地址"),
    "bids": gettext_lazy("报名次数"),
    "wins": gettext_lazy("中选次数"),
    "awards": gettext_lazy("中选次数"),
    "gap": gettext_lazy("差距"),
    "excess": gettext_lazy("超出部分"),
    "report": gettext_lazy("报告"),
    "days_before_award": gettext_lazy("离职至中选天数"),
    "walkaway": gettext_lazy("放弃中选"),
    "serious": gettext_lazy("情节严重"),
    "phrase": gettext_lazy("表述"),
    "regional_wording": gettext_lazy("地域限制表述"),
    "required": gettext_lazy("要求"),
    "qualification": gettext_lazy("资质"),
    "missing": gettext_lazy("缺少"),
    "subject": gettext_lazy("对象"),
    "decision": gettext_lazy("决定"),
    "offline_payment": gettext_lazy("线下付款"),
    "findings": gettext_lazy("发现"),
    "excerpt": gettext_lazy("摘录"),
    "milestone": gettext_lazy("节点"),
    "platform_project": gettext_lazy("平台项目"),
    "platform_winner": gettext_lazy("平台中选机构"),
    "percentile": gettext_lazy("百分位"),
}
MONEY_WORDS = ("amount", "quote", "fee", "price", "paid", "payment", "charge", "refund", "cost")
MONEY_KEYS = frozenset(
    {
        "amended_to",
        "schedule_max",
        "schedule_min",
        "old_min",
        "old_max",
        "new_min",
        "new_max",
        "lowest_valid",
        "excess",
    }
)
SHARE_WORDS = ("share", "ratio")
MAX_DEPTH = 4


def evidence_label(key: Any) -> str:
    label = EVIDENCE_LABELS.get(str(key))
    return str(label) if label is not None else str(key)


@dataclass
class EvidenceValue:
    """A value ready for the template: ``kind`` is text, list, map or table."""

    kind: str
    text: str = ""
    items: list[Any] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


@dataclass
class EvidenceItem:
    key: str
    label: str
    value: EvidenceValue


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def percent(share: Decimal) -> str:
    """0.4 -> "40%", 1/3 -> "33.3%"."""
    text = formats.number_format((share * 100).quantize(Decimal("0.1")), decimal_pos=1)
    return (text[:-2] if text.endswith(".0") else text) + "%"


# Codes the rules store as values (who a contact is shared with, what kind of thing matched).
CODE_KEYS = ("field", "party", "kind", "type", "role")
CODE_LABELS = {
    "phone": gettext_lazy("电话"),
    "email": gettext_lazy("电子邮箱"),
    "address": gettext_lazy("地址"),
    "ip": gettext_lazy("网络地址"),
    "network_address": gettext_lazy("网络地址"),
    "department": gettext_lazy("部门"),
    "staff": gettext_lazy("部门工作人员"),
    "affiliate": gettext_lazy("所属单位"),
    "institution": gettext_lazy("事业单位"),
    "association": gettext_lazy("行业协会"),
    "enterprise": gettext_lazy("企业"),
    "person": gettext_lazy("自然人"),
    "organisation": gettext_lazy("机构"),
    "shareholder": gettext_lazy("股东"),
    "shareholding": gettext_lazy("持股"),
    "legal_representative": gettext_lazy("法定代表人"),
    "practitioner": gettext_lazy("从业人员"),
    "relative": gettext_lazy("近亲属"),
}


def _choice_label(key: str, value: Any) -> str | None:
    choices = {"method": Method, "status": Status, "category": Category}.get(key)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    if key in CODE_KEYS and isinstance(value, str) and value in CODE_LABELS:
        return str(CODE_LABELS[value])
    return None


def format_scalar(key: Any, value: Any) -> str:
    key = str(key).lower()
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    label = _choice_label(key, value)
    if label is not None:
        return label
    number = _number(value)
    if number is not None:
        if key in MONEY_KEYS or any(word in key for word in MONEY_WORDS):
            return "¥" + formats.number_format(number, decimal_pos=2, use_l10n=True, force_grouping=True)
        if key.endswith("percent"):
            return percent(number / 100)
        if any(word in key for word in SHARE_WORDS) and 0 <= number <= 1:
            return percent(number)
        return str(value)
    if isinstance(value, str) and "T" in value:
        moment = parse_datetime(value)
        if moment is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return formats.date_format(moment, "Y-m-d H:i")
    return str(value)


def evidence_value(key: Any, value: Any, depth: int = 0) -> EvidenceValue:
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return EvidenceValue("text", json.dumps(value, ensure_ascii=False, sort_keys=True))
        return EvidenceValue("map", items=evidence_items(value, depth + 1))
    if isinstance(value, list | tuple):
        if not value:
            return EvidenceValue("text", "—")
        if depth < MAX_DEPTH and all(isinstance(v, dict) for v in value):
            columns: list[str] = []
            for row in value:
                columns += [str(k) for k in row if str(k) not in columns]
            rows = [[evidence_value(c, row.get(c), depth + 1) for c in columns] for row in value]
            return EvidenceValue("table", items=rows, columns=[evidence_label(c) for c in columns])
        return EvidenceValue("list", items=[evidence_value(key, v, depth + 1) for v in value])
    return EvidenceValue("text", format_scalar(key, value))


def evidence_items(evidence: dict, depth: int = 0) -> list[EvidenceItem]:
    return [EvidenceItem(str(k), evidence_label(k), evidence_value(k, v, depth)) for k, v in evidence.items()]


# --- relationship paths (related-party rules) ---------------------------------------------------

NODE_LABEL_KEYS = ("label", "name", "title", "entity", "person", "firm", "node", "uscc", "id")
NODE_KIND_KEYS = ("kind", "type", "role", "node_type", "category")
EDGE_KEYS = ("edge", "relation", "relationship", "rel", "via", "link")
SHARE_KEYS = ("share", "ratio", "percent", "stake")
FROM_KEYS = ("from", "source", "src")
TO_KEYS = ("to", "target", "dst")
ARROWS = ("→", "->", "⇒", "=>")
MAX_PATHS = 20

KIND_LABELS = {
    "department": gettext_lazy("部门"),
    "staff": gettext_lazy("工作人员"),
    "official": gettext_lazy("工作人员"),
    "affiliate": gettext_lazy("所属单位"),
    "institution": gettext_lazy("事业单位"),
    "association": gettext_lazy("行业协会"),
    "organisation": gettext_lazy("机构"),
    "organization": gettext_lazy("机构"),
    "intermediary": gettext_lazy("中介机构"),
    "firm": gettext_lazy("中介机构"),
    "winner": gettext_lazy("中选机构"),
    "company": gettext_lazy("企业"),
    "enterprise": gettext_lazy("企业"),
    "person": gettext_lazy("自然人"),
    "shareholder": gettext_lazy("股东"),
    "relative": gettext_lazy("近亲属"),
    "legal_representative": gettext_lazy("法定代表人"),
    "executive": gettext_lazy("高级管理人员"),
    "practitioner": gettext_lazy("从业人员"),
}
# Relation codes (the graph's edge kinds among them) in words, for paths without a label.
RELATION_LABELS = {
    "shareholder": gettext_lazy("持股"),
    "shareholding": gettext_lazy("持股"),
    "owns": gettext_lazy("持股"),
    "legal_representative": gettext_lazy("法定代表人"),
    "executive": gettext_lazy("高级管理人员"),
    "practitioner": gettext_lazy("从业人员"),
    "staff": gettext_lazy("部门工作人员"),
    "relative": gettext_lazy("近亲属"),
    "affiliation": gettext_lazy("所属或主管单位"),
    "affiliate": gettext_lazy("所属或主管单位"),
    "contact": gettext_lazy("相同联系方式"),
    "former_staff": gettext_lazy("曾任职"),
}
KIND_GROUPS = {
    "is-department": (
        "department",
        "dept",
        "bureau",
        "staff",
        "official",
        "affiliate",
        "institution",
        "association",
    ),
    "is-firm": ("intermediary", "firm", "winner", "company", "enterprise", "organisation", "organization"),
    "is-person": ("person", "shareholder", "relative", "legal", "executive", "practitioner", "natural"),
}


@dataclass
class PathNode:
    label: str
    kind: str = ""
    kind_label: str = ""
    css: str = ""


@dataclass
class PathLink:
    """One box of a chain and the relation joining it to the next box (empty for the last);
    ``reverse`` when the relation runs from the next box to this one (a shareholder of it)."""

    node: PathNode
    edge: str = ""
    reverse: bool = False


def _pick(data: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _node(value: Any) -> PathNode:
    if isinstance(value, dict):
        label = _pick(value, NODE_LABEL_KEYS)
        kind = _pick(value, NODE_KIND_KEYS)
        if label is None:
            rest = {k: v for k, v in value.items() if k not in NODE_KIND_KEYS + EDGE_KEYS + SHARE_KEYS}
            label = ", ".join(f"{evidence_label(k)}: {format_scalar(k, v)}" for k, v in rest.items()) or "?"
    else:
        label, kind = value, None
    kind_text = str(kind or "")
    lowered = kind_text.lower()
    css = next((group for group, words in KIND_GROUPS.items() if any(w in lowered for w in words)), "")
    kind_label = KIND_LABELS.get(lowered)
    return PathNode(
        label=json.dumps(label, ensure_ascii=False)
        if isinstance(label, dict | list)
        else format_scalar("", label),
        kind=kind_text,
        kind_label=str(kind_label) if kind_label is not None else kind_text,
        css=css,
    )


def _relation(code: Any) -> str:
    label = RELATION_LABELS.get(str(code).lower())
    return str(label) if label is not None else str(code)


def _with_share(text: str, data: dict) -> str:
    share = _number(_pick(data, SHARE_KEYS))
    if share is None or "%" in text:
        return text
    return f"{text} {percent(share if 0 < share <= 1 else share / 100)}".strip()


def _edge(data: Any) -> str:
    """The relation a path step holds (``edge``, ``relation``, ...), with a share if any."""
    if not isinstance(data, dict):
        return ""
    relation = _pick(data, EDGE_KEYS)
    if isinstance(relation, dict):
        text = _link_text(relation)
    else:
        text = _relation(relation) if relation is not None else ""
    return _with_share(text, data)


def _link_text(link: dict) -> str:
    """A link's own words: its label in the active language, else its relation or kind."""
    label = link.get("label_en") if _english() else None
    label = label or link.get("label")
    if label:
        return _with_share(str(label), link)
    relation = _pick(link, EDGE_KEYS) or link.get("kind") or link.get("type")
    return _with_share(_relation(relation) if relation else "", link)


def _is_link(step: Any) -> bool:
    return isinstance(step, dict) and _pick(step, FROM_KEYS) is not None and _pick(step, TO_KEYS) is not None


def _graph_chain(nodes: list, edges: list) -> list[PathLink]:
    """The related-party graph's shape (``graph.Path.as_evidence``): ``nodes`` in order,
    ``edges[i]`` joining ``nodes[i]`` and ``nodes[i + 1]`` in either direction."""
    links = [PathLink(_node(n)) for n in nodes]
    for i, edge in enumerate(edges[: max(len(links) - 1, 0)]):
        if not isinstance(edge, dict):
            links[i].edge = _relation(edge)
            continue
        links[i].edge = _link_text(edge)
        here = nodes[i].get("id") if isinstance(nodes[i], dict) else nodes[i]
        there = nodes[i + 1].get("id") if isinstance(nodes[i + 1], dict) else nodes[i + 1]
        source, target = _pick(edge, FROM_KEYS), _pick(edge, TO_KEYS)
        links[i].reverse = source is not None and source == there and target == here
    return links


def path_chain(path: Any) -> list[PathLink]:
    """A relationship path as boxes joined by labelled arrows, whatever shape it was stored in:
    the graph's ``{"nodes": [...], "edges": [...]}``; a string with arrows; a list of names; a
    list of nodes (dicts with a label, a kind and the relation to the next or previous node); a
    list of links (dicts with from / to / relation); or [from, relation, to] triples."""
    if isinstance(path, dict):
        nodes = path.get("nodes")
        if isinstance(nodes, list) and nodes:
            edges = path.get("edges")
            return _graph_chain(nodes, edges if isinstance(edges, list) else [])
        inner = _pick(path, ("steps", "path", "links", "edges"))
        path = inner if isinstance(inner, list) else [path]
    if isinstance(path, str):
        for arrow in ARROWS:
            path = path.replace(arrow, "→")
        path = [part.strip() for part in path.split("→") if part.strip()]
    if not isinstance(path, list | tuple):
        return [PathLink(_node(path))]
    links: list[PathLink] = []

    def add(node: PathNode, edge_before: str) -> None:
        if links and links[-1].node.label == node.label:
            if node.kind and not links[-1].node.kind:
                links[-1].node = node
            return
        if links and edge_before:
            links[-1].edge = edge_before
        links.append(PathLink(node))

    steps = list(path)
    node_steps = [s for s in steps if isinstance(s, dict) and not _is_link(s)]
    # A relation held on a node leads to the next node, unless the last node has one and the
    # first has none: then it describes how the node was reached.
    incoming = bool(node_steps) and bool(_edge(node_steps[-1])) and not _edge(node_steps[0])
    pending = ""
    for step in steps:
        if _is_link(step):
            add(_node(_pick(step, FROM_KEYS)), pending)
            add(_node(_pick(step, TO_KEYS)), _link_text(step))
            pending = ""
        elif isinstance(step, list | tuple) and len(step) == 3:
            source, relation, target = step
            add(_node(source), pending)
            add(_node(target), _link_text(relation) if isinstance(relation, dict) else _relation(relation))
            pending = ""
        elif isinstance(step, dict):
            edge = _edge(step)
            if incoming:
                add(_node(step), edge)
            else:
                add(_node(step), pending)
                pending = edge
        else:
            add(_node(step), pending)
            pending = ""
    return links


def split_paths(evidence: Any) -> tuple[Any, list[list[PathLink]]]:
    """Take every ``path`` / ``paths`` out of the evidence, wherever it is nested (RP01 keeps
    its paths at the top, RP02-RP05 inside each person, contact or tie), and leave in its place
    a note pointing at the drawing. Identical paths are drawn once."""
    chains: list[list[PathLink]] = []
    seen: dict[str, int] = {}

    def draw(path: Any) -> str:
        chain = path_chain(path)
        if not chain:
            return "—"
        key = json.dumps([[link.node.label, link.edge, link.reverse] for link in chain], ensure_ascii=False)
        if key not in seen:
            if len(chains) >= MAX_PATHS:
                return _("（另有路径未显示）")
            chains.append(chain)
            seen[key] = len(chains)
        return _("关联路径 %(number)s（见上图）") % {"number": seen[key]}

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key == "path" and item not in (None, "", [], {}):
                    out[key] = draw(item)
                elif key == "paths" and isinstance(item, list):
                    out[key] = [draw(p) for p in item if p not in (None, "", [], {})]
                else:
                    out[key] = walk(item)
            return out
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    return walk(evidence), chains


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
