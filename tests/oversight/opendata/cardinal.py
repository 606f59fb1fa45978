"""Five OCP red-flag indicators computed on an OCDS export, written from the published
definitions of the Cardinal library (open-contracting/cardinal-rs, docs/cli/indicators/R/):
independent of the monitoring rules, they read nothing but the released JSON.

Each returns the set of flagged ocids. Settings are Cardinal's, given explicitly where the
platform's data need them (as a Cardinal user would in its settings file)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

COMPETITIVE = {"open", "selective"}  # R018's default procurement_methods


def _submitted(release: dict) -> list[dict]:
    """Cardinal's "submitted bids": every bid whose status is neither invited nor withdrawn."""
    details = release.get("bids", {}).get("details", [])
    return [b for b in details if b.get("status") not in (None, "invited", "withdrawn")]


def _ids(organizations: Iterable[dict]) -> frozenset[str]:
    return frozenset(o["id"] for o in organizations if "id" in o)


def r003(
    releases: Iterable[dict], *, threshold: int = 15, procurement_methods: set[str] | None = None
) -> set:
    """Short submission period: (tenderPeriod.endDate - tenderPeriod.startDate) in whole days
    (truncated) is below ``threshold``. No method filter unless ``procurement_methods``."""
    flagged = set()
    for r in releases:
        tender = r.get("tender", {})
        if procurement_methods and tender.get("procurementMethod") not in procurement_methods:
            continue
        period = tender.get("tenderPeriod", {})
        if "startDate" not in period or "endDate" not in period:
            continue
        delta = datetime.fromisoformat(period["endDate"]) - datetime.fromisoformat(period["startDate"])
        days = int(delta.total_seconds() / 86400)  # chrono's num_days(): truncated toward zero
        if days < threshold:
            flagged.add(r["ocid"])
    return flagged


def r018(releases: Iterable[dict]) -> set:
    """Single bid received: a competitive method (open or selective) and numberOfTenderers == 1."""
    return {
        r["ocid"]
        for r in releases
        if r.get("tender", {}).get("procurementMethod") in COMPETITIVE
        and r.get("tender", {}).get("numberOfTenderers") == 1
    }


def r028(releases: Iterable[dict], *, no_price_comparison: set[str]) -> set:
    """Identical bid prices: different tenderers submitted bids with the same amount and currency.
    Processes whose procurementMethodDetails is in ``no_price_comparison`` (prices set by the
    buyer) are excluded (Cardinal's no_price_comparison_procurement_methods)."""
    flagged = set()
    for r in releases:
        if r.get("tender", {}).get("procurementMethodDetails") in no_price_comparison:
            continue
        prices: dict[tuple, frozenset] = {}
        for bid in _submitted(r):
            value = bid.get("value") or {}
            if "amount" not in value or "currency" not in value:
                continue
            ids = _ids(bid.get("tenderers", []))
            if not ids:
                continue
            price = (value["amount"], value["currency"])
            if price in prices and prices[price] != ids:
                flagged.add(r["ocid"])
            prices[price] = ids
    return flagged


def r035(releases: Iterable[dict], *, threshold: int = 1) -> set:
    """All except winning bid disqualified: every award final (active, cancelled or
    unsuccessful), exactly one tenderer with valid bids, it is the supplier of all active awards,
    and at least ``threshold`` other tenderers have disqualified bids."""
    flagged = set()
    for r in releases:
        awards, details = r.get("awards"), r.get("bids", {}).get("details")
        if awards is None or details is None:
            continue
        if any(a.get("status") not in ("active", "cancelled", "unsuccessful") for a in awards):
            continue
        suppliers = set()
        for award in awards:
            if award.get("status") == "active":
                suppliers |= _ids(award.get("suppliers", []))
        valid, disqualified = set(), set()
        for bid in details:
            if bid.get("status") == "valid":
                valid |= _ids(bid.get("tenderers", []))
            elif bid.get("status") == "disqualified":
                disqualified |= _ids(bid.get("tenderers", []))
        if len(valid) == 1 and valid == suppliers and len(disqualified - valid) >= threshold:
            flagged.add(r["ocid"])
    return flagged


def r036(releases: Iterable[dict]) -> set:
    """Lowest bid disqualified "while the award criterion is price only": one or more active
    awards, awardCriteria priceOnly, and the lowest submitted bid is disqualified. Where several
    bids share the lowest amount, it is flagged only if all of them are disqualified (the
    definition does not say; Cardinal's code keeps whichever comes first)."""
    flagged = set()
    for r in releases:
        if r.get("tender", {}).get("awardCriteria") != "priceOnly":
            continue
        if not any(a.get("status") == "active" for a in r.get("awards", [])):
            continue
        priced = [b for b in _submitted(r) if "amount" in (b.get("value") or {})]
        if not priced:
            continue
        lowest = min(b["value"]["amount"] for b in priced)
        at_lowest = [b for b in priced if b["value"]["amount"] == lowest]
        if all(b.get("status") == "disqualified" for b in at_lowest):
            flagged.add(r["ocid"])
    return flagged
