"""The dashboards' tables: columns (key, label) and the selector that fills them. The page and
both exports (CSV, Excel) read the same definitions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import selectors
from .selectors import Filters


@dataclass(frozen=True)
class Table:
    title: Promise
    columns: list[tuple[str, Promise]]
    rows: Callable[[Filters], Iterable[dict]]


TABLES: dict[str, Table] = {
    "concentration": Table(
        _("中选集中度（按部门和服务事项）"),
        [
            ("department", _("审批部门")),
            ("service_type", _("服务事项")),
            ("awarded", _("已选取项目数")),
            ("winners", _("中选机构数")),
            ("top_winner", _("最大中选机构")),
            ("top_share", _("最大份额（%）")),
            ("hhi", _("HHI 指数")),
        ],
        selectors.concentration,
    ),
    "prices": Table(
        _("报价与合同金额（对照政府收费区间与同类项目）"),
        [
            ("service_type", _("服务事项")),
            ("quotes", _("报价数")),
            ("lowest", _("最低报价（元）")),
            ("mean", _("平均报价（元）")),
            ("highest", _("最高报价（元）")),
            ("banded", _("有收费区间的报价数")),
            ("below_band", _("低于区间")),
            ("above_band", _("高于区间")),
            ("outside_share", _("区间外占比（%）")),
            ("contracts", _("合同数")),
            ("contract_mean", _("平均合同金额（元）")),
            ("contract_above_band", _("合同高于区间")),
            ("contract_above_quote", _("合同高于中选报价")),
        ],
        selectors.prices,
    ),
    "fill": Table(
        _("成交率与流标"),
        [
            ("service_type", _("服务事项")),
            ("closed", _("报名截止项目数")),
            ("awarded", _("已选取")),
            ("failed", _("流标")),
            ("fill_rate", _("成交率（%）")),
            ("failed_share", _("流标率（%）")),
            ("mean_valid", _("平均有效报名数")),
        ],
        selectors.fill_rate,
    ),
    "overdue_summary": Table(
        _("逾期事项（按部门）"),
        [
            ("department", _("审批部门")),
            ("contract", _("合同逾期未签订")),
            ("delivery", _("服务逾期未交付")),
            ("acceptance", _("验收逾期")),
            ("total", _("合计")),
        ],
        selectors.overdue_summary,
    ),
    "overdue": Table(
        _("逾期项目清单"),
        [
            ("public_number", _("项目编号")),
            ("title", _("项目名称")),
            ("owner", _("项目业主")),
            ("department", _("审批部门")),
            ("kind", _("逾期事项")),
            ("due", _("应完成日期")),
            ("days_overdue", _("逾期天数")),
        ],
        selectors.overdue_rows,
    ),
    "flags": Table(
        _("风险提示（按规则和状态）"),
        [
            ("rule", _("规则")),
            ("title", _("规则名称")),
            ("ocp", _("OCP 红旗指标")),
            ("open", _("待核查")),
            ("confirmed", _("已确认")),
            ("dismissed", _("已排除")),
            ("resolved", _("已消除")),
            ("total", _("合计")),
            ("confirmed_share", _("确认率（%）")),
        ],
        selectors.flags_by_rule,
    ),
}
