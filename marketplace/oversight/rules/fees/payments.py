"""Fee rules on payments: payments above the contract amount (FE05) and payment before
acceptance (FE06).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import F, OuterRef, Q, Subquery

from billing.ledger import PAYMENT_KINDS, net_paid_subquery
from billing.models import LedgerEntry
from marketplace.core.money import money
from marketplace.procurement.models import (
    Contract,
    Delivery,
)

from ...models import Category
from ..base import CONTRACT, DELIVERY, PAYMENT, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from .common import KIND_EN, KIND_ZH, _amount, _english, _local, _project_fields


@register
class PaymentsAboveContract(Rule):
    """FE05: more has been paid on a contract (charges and offline payments less refunds) than
    its amount (OCP R068). Basis: every charge is tied to the contract and may not exceed it
    (DESIGN §3.9). Evidence: the project, the contract amount, the net amount paid and the excess."""

    code = "FE05"
    phases = frozenset({CONTRACT, DELIVERY, PAYMENT})
    reach = REACH_PROJECT
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
        rows = scope.rows(
            "FE05",
            lambda s: (
                s.projects(Contract.objects.all(), "project_id")
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
            ),
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
    reach = REACH_PROJECT
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
        rows = scope.rows(
            "FE06",
            lambda s: (
                s.projects(entries, "contract__project_id")
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
            ),
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
