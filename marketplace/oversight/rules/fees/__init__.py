"""Irregular-fee red flags (FE01-FE10): quotes against government bands, the firm's own
published schedule and its peers; contract amounts, payments and charges against the contract;
and awards split to stay under the direct-selection threshold.

Quartiles are the R-8 (median-unbiased) estimator, the one Cardinal uses (statrs'
``lower_quartile``/``upper_quartile``), computed in Python over values fetched in one query,
so SQLite and PostgreSQL agree to the cent.

The rules are split by subdomain; importing this package imports every module, so each rule
registers itself:

- ``common``: labels, formatting, the government band of a scale, ``fences``;
- ``bands``: FE01 government band, FE02 own fee schedule, FE03 schedule raised before a bid;
- ``contracts``: FE04 contract above the winning quote, FE09 charge not tied to a contract line;
- ``payments``: FE05 payments above the contract, FE06 payment before acceptance;
- ``peers``: FE07 abnormally low quote, FE08 abnormally high winning quote;
- ``splitting``: FE10 awards split under the direct-selection threshold.
"""

from .bands import QuoteAboveOwnSchedule, QuoteOutsideGovernmentBand, ScheduleRaisedBeforeBid
from .common import fences
from .contracts import ChargeNotTiedToContract, ContractAboveWinningQuote
from .payments import PaymentBeforeAcceptance, PaymentsAboveContract
from .peers import AbnormallyHighWinningQuote, AbnormallyLowQuote
from .splitting import AwardsSplitUnderThreshold

__all__ = [
    "AbnormallyHighWinningQuote",
    "AbnormallyLowQuote",
    "AwardsSplitUnderThreshold",
    "ChargeNotTiedToContract",
    "ContractAboveWinningQuote",
    "PaymentBeforeAcceptance",
    "PaymentsAboveContract",
    "QuoteAboveOwnSchedule",
    "QuoteOutsideGovernmentBand",
    "ScheduleRaisedBeforeBid",
    "fences",
]
