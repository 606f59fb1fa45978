"""Competition red flags (CO01-CO09).

Fences over market statistics (CO04, CO08, CO09) use the quartile estimator of the Cardinal
tool (statrs, type 8), so on the same data the quartiles agree with Cardinal's. A value is
flagged strictly beyond a fence, as DESIGN states the rules; Cardinal compares inclusively and
skips a fence whose quartiles are both zero, so the two differ only for values exactly on a
fence and in that degenerate case. Where the rules depart from Cardinal on purpose (methods
left out, windows, per-service-type peers, minimum counts) the rule's docstring says so.

The rules are split by subdomain; importing this package imports every module, so each rule
registers itself:

- ``common``: statuses, method groups, shared thresholds and evidence helpers;
- ``bids``: CO01 single valid applicant, CO02 identical quotes;
- ``links``: CO03 applicants sharing contacts, owners or network address;
- ``outliers``: CO04 gap between the winning and second quotes, CO09 cover bidding;
- ``rotation``: CO05 bid rotation (``MAX_GROUP``, ``MAX_CANDIDATES``);
- ``disqualification``: CO06, CO07, CO08.
"""

from .bids import IdenticalQuotes, SingleValidApplicant
from .disqualification import LowestQuoteDisqualified, OthersDisqualified, OwnerDisqualifiesMany
from .links import SharedContacts
from .outliers import CoverBidding, SecondQuoteGap
from .rotation import BidRotation

__all__ = [
    "BidRotation",
    "CoverBidding",
    "IdenticalQuotes",
    "LowestQuoteDisqualified",
    "OthersDisqualified",
    "OwnerDisqualifiesMany",
    "SecondQuoteGap",
    "SharedContacts",
    "SingleValidApplicant",
]
