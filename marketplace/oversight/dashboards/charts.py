"""Chart data for each table, passed to the page with json_script (the CSP allows no inline
script): categories, series and the axis name; static/js/dashboards.js draws them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

TOP = 15


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def concentration(rows: list[dict]) -> dict:
    top = rows[:TOP]
    return {
        "kind": "bar",
        "categories": [f"{r['department']} · {r['service_type']}" for r in top],
        "series": [
            {"name": _("HHI 指数"), "data": [r["hhi"] for r in top]},
        ],
        "yName": "HHI",
        "markLine": [1500, 2500],
    }


def prices(rows: list[dict]) -> dict:
    top = rows[:TOP]
    return {
        "kind": "bar",
        "stacked": True,
        "categories": [r["service_type"] for r in top],
        "series": [
            {"name": _("低于区间"), "data": [r["below_band"] for r in top]},
            {"name": _("区间内"), "data": [r["banded"] - r["below_band"] - r["above_band"] for r in top]},
            {"name": _("高于区间"), "data": [r["above_band"] for r in top]},
        ],
        "yName": _("报价数"),
    }


def fill(rows: list[dict]) -> dict:
    top = rows[:TOP]
    return {
        "kind": "bar",
        "categories": [r["service_type"] for r in top],
        "series": [
            {"name": _("成交率（%）"), "data": [_num(r["fill_rate"]) for r in top]},
            {"name": _("流标率（%）"), "data": [_num(r["failed_share"]) for r in top]},
        ],
        "yName": "%",
    }


def overdue_summary(rows: list[dict]) -> dict:
    top = rows[:TOP]
    return {
        "kind": "bar",
        "stacked": True,
        "categories": [r["department"] for r in top],
        "series": [
            {"name": _("合同逾期未签订"), "data": [r["contract"] for r in top]},
            {"name": _("服务逾期未交付"), "data": [r["delivery"] for r in top]},
            {"name": _("验收逾期"), "data": [r["acceptance"] for r in top]},
        ],
        "yName": _("项目数"),
    }


def flags(rows: list[dict]) -> dict:
    return {
        "kind": "bar",
        "stacked": True,
        "categories": [r["rule"] for r in rows],
        "series": [
            {"name": _("待核查"), "data": [r["open"] for r in rows]},
            {"name": _("已确认"), "data": [r["confirmed"] for r in rows]},
            {"name": _("已排除"), "data": [r["dismissed"] for r in rows]},
            {"name": _("已消除"), "data": [r["resolved"] for r in rows]},
        ],
        "yName": _("提示数"),
    }


CHARTS = {
    "concentration": concentration,
    "prices": prices,
    "fill": fill,
    "overdue_summary": overdue_summary,
    "flags": flags,
}
