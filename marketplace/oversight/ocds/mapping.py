"""How one project becomes one OCDS 1.1 release (with the bids extension).

Pure functions of rows already loaded by ``export`` (no queries here), so the mapping can be read
and tested on its own. The table of selection methods is DESIGN section 6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from marketplace.procurement.models import Method, Status

CURRENCY = "CNY"
USCC_SCHEME = "CN-USCI"  # org-id.guide: the unified social credit identifier

# method -> (procurementMethod, procurementMethodDetails, awardCriteria or None)
METHODS: dict[str, tuple[str, str, str | None]] = {
    Method.DIRECT: ("direct", "directSelection", None),
    Method.RANDOM_DRAW: ("open", "randomDraw", None),
    Method.LOWEST_PRICE: ("open", "lowestPrice", "priceOnly"),
    Method.REFERENCE_PRICE: ("open", "referencePrice", "priceOnly"),
    Method.CREDIT_PREFERENCE: ("open", "creditPreference", "ratedCriteria"),
    Method.SCORED_COMPARISON: ("open", "scoredComparison", "ratedCriteria"),
}
AWARD_CRITERIA_DETAILS = {
    Method.RANDOM_DRAW: "Random draw among the valid applicants at the owner's fixed price; "
    "the draw is commit-reveal and can be recomputed from the published record.",
}

S = Status
TENDER_STATUS = {
    S.PUBLISHED: "active",
    S.REGISTRATION_CLOSED: "active",
    S.SELECTING: "active",
    S.OBJECTION_PENDING: "active",
    S.SELECTED: "complete",
    S.CONTRACTING: "complete",
    S.IN_SERVICE: "complete",
    S.DELIVERED: "complete",
    S.ACCEPTED: "complete",
    S.RATED: "complete",
    S.CLOSED: "complete",
    S.CANCELLED: "cancelled",
    S.FAILED: "unsuccessful",
    S.RELAUNCHED: "unsuccessful",
}
FINISHED = {S.ACCEPTED, S.RATED, S.CLOSED}
FAILED = {S.FAILED, S.RELAUNCHED}
# Application.state -> bidStatus (closed codelist of the bids extension). A submitted
# application not yet judged is "pending".
BID_STATUS = {
    "submitted": "pending",
    "valid": "valid",
    "disqualified": "disqualified",
    "withdrawn": "withdrawn",
}


@dataclass
class Bundle:
    """A project and what it links to, as loaded for one chunk of the export."""

    project: Any
    disclosed: bool
    # Rows from values() (typed dicts to mypy): read by key only.
    applications: list[Any] = field(default_factory=list)
    selections: list[Any] = field(default_factory=list)
    contract: Any = None
    amendments: list[Any] = field(default_factory=list)
    payments: list[Any] = field(default_factory=list)


def ocid(public_number: str) -> str:
    return f"{settings.OCDS_OCID_PREFIX}{public_number}"


def stamp(value: datetime | None) -> str | None:
    """RFC 3339 in Beijing time, to the second."""
    return None if value is None else timezone.localtime(value).isoformat(timespec="seconds")


def money(amount: Decimal) -> dict:
    return {"amount": amount, "currency": CURRENCY}


def firm_id(uscc: str) -> str:
    return f"{USCC_SCHEME}-{uscc}"


class Parties:
    """The release's parties, each once, with every role it plays."""

    def __init__(self) -> None:
        self._parties: dict[str, dict] = {}

    def add(self, party_id: str, name: str, role: str, uscc: str | None = None) -> dict:
        party = self._parties.get(party_id)
        if party is None:
            party = {"id": party_id, "name": name, "roles": []}
            if uscc:
                party["identifier"] = {"scheme": USCC_SCHEME, "id": uscc, "legalName": name}
            self._parties[party_id] = party
        if role not in party["roles"]:
            party["roles"].append(role)
        return {"id": party_id, "name": name}

    def firm(self, uscc: str, name: str, role: str) -> dict:
        return self.add(firm_id(uscc), name, role, uscc)

    def as_list(self) -> list[dict]:
        return list(self._parties.values())


def _organisation(parties: Parties, organisation: Any, role: str) -> dict:
    if organisation.uscc:
        return parties.add(firm_id(organisation.uscc), organisation.name, role, organisation.uscc)
    return parties.add(f"zjcs-org-{organisation.pk}", organisation.name, role)


def _award_status(selection: dict, project_status: str) -> str:
    if selection["annulled"]:
        return "cancelled"
    if selection["winner_id"] is not None:
        return "active"
    return "unsuccessful" if project_status in FAILED else "pending"


def _contract_status(contract: dict, project_status: str) -> str:
    if project_status in FAILED:
        return "cancelled"
    if contract["confirmed_at"] is None:
        return "pending"
    return "terminated" if project_status in FINISHED else "active"


def release_date(bundle: Bundle) -> datetime:
    """The last change the release reflects: the project, an amendment or a payment."""
    moments = [bundle.project.updated_at]
    moments += [a["created_at"] for a in bundle.amendments]
    moments += [p["occurred_at"] for p in bundle.payments]
    return max(moments)


def build_release(bundle: Bundle) -> dict:
    project = bundle.project
    parties = Parties()
    buyer = _organisation(parties, project.owner, "buyer")
    _organisation(parties, project.owner, "procuringEntity")
    method, details, criteria = METHODS[project.method]
    tender: dict[str, Any] = {
        "id": project.public_number,
        "title": project.title,
        "description": project.service_content,
        "status": TENDER_STATUS[project.status],
        "procuringEntity": buyer,
        "items": [
            {
                "id": "1",
                "description": project.service_type.name_zh,
                "classification": {
                    "scheme": "x_zjcs_service_type",
                    "id": project.service_type.code,
                    "description": project.service_type.name_zh,
                },
            }
        ],
        "minValue": money(project.price_floor),
        "value": money(project.price_ceiling),
        "procurementMethod": method,
        "procurementMethodDetails": details,
        "procurementMethodRationale": project.method_reason or None,
        "mainProcurementCategory": "services",
        "tenderPeriod": {
            "startDate": stamp(project.published_at),
            "endDate": stamp(project.registration_deadline),
        },
        "awardPeriod": {"startDate": stamp(project.selection_time)},
    }
    if criteria:
        tender["awardCriteria"] = criteria
    if project.method in AWARD_CRITERIA_DETAILS:
        tender["awardCriteriaDetails"] = AWARD_CRITERIA_DETAILS[project.method]
    if project.department_id is not None:
        department = project.department
        parties.add(f"zjcs-dept-{department.code}", department.name_zh, "interestedParty")
    tags = ["tender"] if project.status != S.CANCELLED else ["tenderCancellation"]
    release: dict[str, Any] = {
        "ocid": ocid(project.public_number),
        "id": "",
        "date": "",
        "tag": tags,
        "initiationType": "tender",
        "language": "zh",
        "buyer": buyer,
        "tender": tender,
    }
    if project.relaunch_of_id is not None:
        release["relatedProcesses"] = [
            {
                "id": "1",
                "relationship": ["unsuccessfulProcess"],
                "scheme": "ocid",
                "identifier": ocid(project.relaunch_of.public_number),
            }
        ]

    # Who applied and what they quoted are public only once registration has closed.
    if bundle.disclosed:
        submitted = [a for a in bundle.applications if a["state"] != "withdrawn"]
        tender["numberOfTenderers"] = len({a["uscc"] for a in submitted})
        tender["tenderers"] = [parties.firm(a["uscc"], a["name"], "tenderer") for a in submitted]
        bids = []
        for a in bundle.applications:
            bid: dict[str, Any] = {
                "id": str(a["pk"]),
                "date": stamp(a["submitted_at"]),
                "status": BID_STATUS[a["state"]],
                "tenderers": [parties.firm(a["uscc"], a["name"], "tenderer")],
            }
            if a["quote_amount"] is not None:
                bid["value"] = money(a["quote_amount"])
            bids.append(bid)
        release["bids"] = {"details": bids}
        by_application = {a["pk"]: a for a in bundle.applications}
        awards = []
        for selection in bundle.selections:
            award: dict[str, Any] = {
                "id": f"{project.public_number}-{selection['round']}",
                "status": _award_status(selection, project.status),
                "date": stamp(selection["performed_at"]),
            }
            winner = by_application.get(selection["winner_id"])
            if winner is not None:
                award["suppliers"] = [parties.firm(winner["uscc"], winner["name"], "supplier")]
                if winner["quote_amount"] is not None:
                    award["value"] = money(winner["quote_amount"])
            awards.append(award)
        if awards:
            release["awards"] = awards
            tags.append("award")
        if bundle.contract is not None:
            release["contracts"] = [_contract(bundle, parties, awards)]
            tags.append("contract")
            if bundle.payments:
                tags.append("implementation")
    release["parties"] = parties.as_list()
    when = release_date(bundle)
    release["date"] = stamp(when)
    release["id"] = f"{release['ocid']}-{int(when.timestamp())}"
    return _drop_empty(release)


def _contract(bundle: Bundle, parties: Parties, awards: list[dict]) -> dict:
    project = bundle.project
    c: dict = bundle.contract or {}
    active = [a for a in awards if a["status"] == "active"]
    award_id = active[-1]["id"] if active else (awards[-1]["id"] if awards else f"{project.public_number}-1")
    parties.firm(c["uscc"], c["name"], "supplier")
    contract: dict[str, Any] = {
        "id": str(c["pk"]),
        "awardID": award_id,
        "status": _contract_status(c, project.status),
        "value": money(c["amount"]),
        "dateSigned": stamp(c["confirmed_at"]),
    }
    if c["confirmed_at"] is not None and project.delivery_due is not None:
        contract["period"] = {
            "startDate": stamp(c["confirmed_at"]),
            "endDate": f"{project.delivery_due.isoformat()}T23:59:59+08:00",
        }
    if bundle.amendments:
        contract["amendments"] = [
            {
                "id": str(a["pk"]),
                "date": stamp(a["created_at"]),
                "rationale": a["reason"],
                "description": f"amount {a['old_amount']} -> {a['new_amount']} {CURRENCY}",
            }
            for a in bundle.amendments
        ]
    if bundle.payments:
        transactions = []
        for p in bundle.payments:
            if p["kind"] == "refund":  # a refund flows back from the firm to the owner
                payer = parties.firm(c["uscc"], c["name"], "payer")
                payee = _organisation(parties, project.owner, "payee")
            else:
                payer = _organisation(parties, project.owner, "payer")
                payee = parties.firm(c["uscc"], c["name"], "payee")
            transactions.append(
                {
                    "id": str(p["pk"]),
                    "date": stamp(p["occurred_at"]),
                    "value": money(p["amount"]),
                    "payer": payer,
                    "payee": payee,
                }
            )
        contract["implementation"] = {"transactions": transactions}
    return contract


def _drop_empty(value: Any) -> Any:
    """OCDS forbids nothing empty in principle but validators warn on nulls: drop them."""
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value
