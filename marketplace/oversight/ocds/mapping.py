"""How one project becomes one OCDS 1.1 release (with the bids extension).

Pure functions of rows already loaded by ``export`` (no queries here), so the mapping can be read
and tested on its own. It runs once per release of a bulk export: it builds each dict directly,
without nulls, and formats times with one ``astimezone`` each. The table of selection methods is DESIGN section 6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
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


# The rows ``export`` loads, column by column: the project as a named tuple of
# ``PROJECT_COLUMNS``; its relations as plain tuples in these orders (each led by the id that
# ties it to its project), unpacked below. Times are whole seconds since 1970 (``*_epoch``).
PROJECT_COLUMNS = (
    "pk",
    "public_number",
    "title",
    "service_content",
    "method",
    "method_reason",
    "status",
    "price_floor",
    "price_ceiling",
    "delivery_due",
    "owner_id",
    "owner__name",
    "owner__uscc",
    "service_type__code",
    "service_type__name_zh",
    "department__code",
    "department__name_zh",
    "relaunch_of__public_number",
    "published_epoch",
    "deadline_epoch",
    "selection_epoch",
    "updated_epoch",
    "disclosed",  # selectors.quotes_open_q, evaluated by the query
)
APPLICATION_COLUMNS = ("project_id", "pk", "state", "submitted_epoch", "quote_amount", "uscc", "name")
SELECTION_COLUMNS = ("project_id", "round", "performed_epoch", "winner_id", "annulled")
CONTRACT_COLUMNS = ("project_id", "pk", "amount", "confirmed_epoch", "uscc", "name")
AMENDMENT_COLUMNS = ("contract_id", "pk", "old_amount", "new_amount", "reason", "created_epoch")
PAYMENT_COLUMNS = ("contract_id", "pk", "kind", "amount", "occurred_epoch")


@dataclass(slots=True)
class Bundle:
    """A project and what it links to, as loaded for one batch of the export (the columns
    above), in the order the release lists them."""

    project: Any
    disclosed: bool
    applications: list[tuple] = field(default_factory=list)
    selections: list[tuple] = field(default_factory=list)
    contract: tuple | None = None
    amendments: list[tuple] = field(default_factory=list)
    payments: list[tuple] = field(default_factory=list)


def ocid(public_number: str) -> str:
    return f"{settings.OCDS_OCID_PREFIX}{public_number}"


def stamp(epoch: int | None, tz: tzinfo | None = None) -> str | None:
    """RFC 3339 in Beijing time (the current time zone), to the second, from whole seconds
    since 1970 (``export.EpochSeconds``)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz or timezone.get_current_timezone()).isoformat()


def money(amount: Decimal) -> dict:
    """A value in yuan. The amount is written as a JSON number (Decimal -> float: amounts have
    at most 14 digits, which a double holds exactly to the fen)."""
    return {"amount": float(amount), "currency": CURRENCY}


def firm_id(uscc: str) -> str:
    return f"{USCC_SCHEME}-{uscc}"


class Parties:
    """The release's parties, each once, with every role it plays. ``add`` returns the
    reference to the party ({"id", "name"}): one object per party, reused wherever the release
    names it (the release is only read, then written)."""

    __slots__ = ("_parties", "_refs")

    def __init__(self) -> None:
        self._parties: dict[str, dict] = {}
        self._refs: dict[str, dict] = {}

    def add(self, party_id: str, name: str, role: str, uscc: str | None = None) -> dict:
        party = self._parties.get(party_id)
        if party is None:
            party = {"id": party_id, "name": name, "roles": [role]}
            if uscc:
                party["identifier"] = {"scheme": USCC_SCHEME, "id": uscc, "legalName": name}
            self._parties[party_id] = party
            ref = self._refs[party_id] = {"id": party_id, "name": name}
            return ref
        if role not in party["roles"]:
            party["roles"].append(role)
        ref = self._refs[party_id]
        return ref if ref["name"] == name else {"id": party_id, "name": name}

    def firm(self, uscc: str, name: str, role: str) -> dict:
        return self.add(f"{USCC_SCHEME}-{uscc}", name, role, uscc)

    def as_list(self) -> list[dict]:
        return list(self._parties.values())


def _owner(parties: Parties, project: Any, role: str) -> dict:
    """The project's owner (an organisation: by USCC when it has one)."""
    if project.owner__uscc:
        return parties.add(firm_id(project.owner__uscc), project.owner__name, role, project.owner__uscc)
    return parties.add(f"zjcs-org-{project.owner_id}", project.owner__name, role)


def _award_status(annulled: bool, winner_id: int | None, project_status: str) -> str:
    if annulled:
        return "cancelled"
    if winner_id is not None:
        return "active"
    return "unsuccessful" if project_status in FAILED else "pending"


def _contract_status(confirmed_epoch: int | None, project_status: str) -> str:
    if project_status in FAILED:
        return "cancelled"
    if confirmed_epoch is None:
        return "pending"
    return "terminated" if project_status in FINISHED else "active"


def release_date(bundle: Bundle) -> int:
    """The last change the release reflects (seconds since 1970): the project, an amendment or
    a payment."""
    when = bundle.project.updated_epoch
    for *_, created in bundle.amendments:
        when = max(when, created)
    for *_, occurred in bundle.payments:
        when = max(when, occurred)
    return when


def build_release(bundle: Bundle, tz: tzinfo | None = None) -> dict:
    """One release. Nothing in it is null: a missing value leaves its key out (validators warn
    on nulls), so keys are added in order and only when there is a value."""
    tz = tz or timezone.get_current_timezone()
    project = bundle.project
    status = project.status
    public_number = project.public_number
    parties = Parties()
    buyer = _owner(parties, project, "buyer")
    _owner(parties, project, "procuringEntity")
    method, details, criteria = METHODS[project.method]
    tender: dict[str, Any] = {
        "id": public_number,
        "title": project.title,
        "description": project.service_content,
        "status": TENDER_STATUS[status],
        "procuringEntity": buyer,
        "items": [
            {
                "id": "1",
                "description": project.service_type__name_zh,
                "classification": {
                    "scheme": "x_zjcs_service_type",
                    "id": project.service_type__code,
                    "description": project.service_type__name_zh,
                },
            }
        ],
        "minValue": money(project.price_floor),
        "value": money(project.price_ceiling),
        "procurementMethod": method,
        "procurementMethodDetails": details,
    }
    if project.method_reason:
        tender["procurementMethodRationale"] = project.method_reason
    tender["mainProcurementCategory"] = "services"
    tender["tenderPeriod"] = {
        "startDate": stamp(project.published_epoch, tz),
        "endDate": stamp(project.deadline_epoch, tz),
    }
    tender["awardPeriod"] = {"startDate": stamp(project.selection_epoch, tz)}
    if criteria:
        tender["awardCriteria"] = criteria
    if project.method in AWARD_CRITERIA_DETAILS:
        tender["awardCriteriaDetails"] = AWARD_CRITERIA_DETAILS[project.method]
    if project.department__code is not None:
        parties.add(f"zjcs-dept-{project.department__code}", project.department__name_zh, "interestedParty")
    tags = ["tender"] if status != S.CANCELLED else ["tenderCancellation"]
    release_ocid = ocid(public_number)
    release: dict[str, Any] = {
        "ocid": release_ocid,
        "id": "",
        "date": "",
        "tag": tags,
        "initiationType": "tender",
        "language": "zh",
        "buyer": buyer,
        "tender": tender,
    }
    if project.relaunch_of__public_number is not None:
        release["relatedProcesses"] = [
            {
                "id": "1",
                "relationship": ["unsuccessfulProcess"],
                "scheme": "ocid",
                "identifier": ocid(project.relaunch_of__public_number),
            }
        ]

    # Who applied and what they quoted are public only once registration has closed.
    if bundle.disclosed:
        # (project_id, pk, state, submitted_epoch, quote_amount, uscc, name)
        applications = bundle.applications
        submitted = [a for a in applications if a[2] != "withdrawn"]
        tender["numberOfTenderers"] = len({a[5] for a in submitted})
        tender["tenderers"] = [parties.firm(a[5], a[6], "tenderer") for a in submitted]
        bids = []
        for _project, pk, state, submitted_at, quote, uscc, name in applications:
            bid: dict[str, Any] = {
                "id": str(pk),
                "date": stamp(submitted_at, tz),
                "status": BID_STATUS[state],
                "tenderers": [parties.firm(uscc, name, "tenderer")],
            }
            if quote is not None:
                bid["value"] = money(quote)
            bids.append(bid)
        release["bids"] = {"details": bids}
        awards = []
        if bundle.selections:
            by_application = {a[1]: a for a in applications}
            for _project, round_, performed, winner_id, annulled in bundle.selections:
                award: dict[str, Any] = {
                    "id": f"{public_number}-{round_}",
                    "status": _award_status(annulled, winner_id, status),
                    "date": stamp(performed, tz),
                }
                winner = by_application.get(winner_id)
                if winner is not None:
                    award["suppliers"] = [parties.firm(winner[5], winner[6], "supplier")]
                    if winner[4] is not None:
                        award["value"] = money(winner[4])
                awards.append(award)
            release["awards"] = awards
            tags.append("award")
        if bundle.contract is not None:
            release["contracts"] = [_contract(bundle, parties, awards, tz)]
            tags.append("contract")
            if bundle.payments:
                tags.append("implementation")
    release["parties"] = parties.as_list()
    when = release_date(bundle)
    release["date"] = stamp(when, tz)
    release["id"] = f"{release_ocid}-{when}"
    return release


def _contract(bundle: Bundle, parties: Parties, awards: list[dict], tz: tzinfo) -> dict:
    project = bundle.project
    _project, pk, amount, confirmed, uscc, name = bundle.contract or ()
    active = [a for a in awards if a["status"] == "active"]
    award_id = active[-1]["id"] if active else (awards[-1]["id"] if awards else f"{project.public_number}-1")
    parties.firm(uscc, name, "supplier")
    contract: dict[str, Any] = {
        "id": str(pk),
        "awardID": award_id,
        "status": _contract_status(confirmed, project.status),
        "value": money(amount),
    }
    if confirmed is not None:
        signed = stamp(confirmed, tz)
        contract["dateSigned"] = signed
        if project.delivery_due is not None:
            contract["period"] = {
                "startDate": signed,
                "endDate": f"{project.delivery_due.isoformat()}T23:59:59+08:00",
            }
    if bundle.amendments:
        contract["amendments"] = [
            {
                "id": str(amendment_pk),
                "date": stamp(created, tz),
                "rationale": reason,
                "description": f"amount {old_amount} -> {new_amount} {CURRENCY}",
            }
            for _contract_id, amendment_pk, old_amount, new_amount, reason, created in bundle.amendments
        ]
    if bundle.payments:
        transactions = []
        for _contract_id, payment_pk, kind, paid, occurred in bundle.payments:
            if kind == "refund":  # a refund flows back from the firm to the owner
                payer = parties.firm(uscc, name, "payer")
                payee = _owner(parties, project, "payee")
            else:
                payer = _owner(parties, project, "payer")
                payee = parties.firm(uscc, name, "payee")
            transactions.append(
                {
                    "id": str(payment_pk),
                    "date": stamp(occurred, tz),
                    "value": money(paid),
                    "payer": payer,
                    "payee": payee,
                }
            )
        contract["implementation"] = {"transactions": transactions}
    return contract
