"""Flag evidence shaped for reading: labels for the keys the rules store (``EVIDENCE_LABELS``),
and each value formatted for the page (money, shares, dates, choice codes) as text, a list, a
map or a table (``evidence_items``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from marketplace.procurement.models import Method, Status

from ..models import Category


def _english() -> bool:
    return (get_language() or "").startswith("en")


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
