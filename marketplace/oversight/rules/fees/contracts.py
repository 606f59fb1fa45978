"""Fee rules on money against the contract: a contract above the winning quote or raised by
amendments (FE04), and a charge not tied to a contract line (FE09).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from billing.ledger import PAYMENT_KINDS
from billing.models import LedgerEntry
from marketplace.procurement.models import (
    Amendment,
    Application,
    Contract,
)

from ...models import Category
from ..base import AWARD, CONTRACT, DELIVERY, PAYMENT, REACH_PROJECT, Match, Rule, Scope, Threshold, register
from ..compiled import compiled_rows
from .common import HUNDRED, KIND_EN, KIND_ZH, _amount, _english, _local, _project_fields

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
    reach = REACH_PROJECT
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
        rows = scope.rows(
            "FE04",
            lambda s: (
                s.projects(Contract.objects.all(), "project_id")
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
            ),
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
        def charges(projects: list[int] | None = None, firms: list[int] | None = None) -> QuerySet:
            entries = LedgerEntry.objects.filter(
                kind__in=PAYMENT_KINDS, amount__gt=params["min_amount"]
            ).filter(Q(contract__isnull=True) | Q(milestone=""))
            if projects is not None:
                entries = entries.filter(
                    Q(contract__project_id__any=projects)
                    | Q(intermediary_id__any=firms)
                    | Q(contract__intermediary_id__any=firms)
                )
            return entries.order_by("pk").values(
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

        if scope.full:
            rows = list(charges())
        else:
            rows = compiled_rows(
                ("FE09", params["min_amount"]),
                charges,
                projects=scope.project_ids or [],
                firms=scope.intermediary_ids or [],
            )
        matches = []
        for row in rows:
            firm_id = row["intermediary_id"] or row["contract__intermediary_id"]
            owner_id = row["owner_id"] or row["contract__project__owner_id"]
            project_id = row["contract__project_id"]
            if (firm_id is None and owner_id is None) or not scope.holds(project_id, firm_id):
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
