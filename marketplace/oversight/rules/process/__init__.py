"""Process red flags (PR01-PR06): deadlines and periods of the workflow not kept.

Periods are counted in working days with the platform's holiday calendar
(``marketplace.core.workdays``). Each rule fetches its candidate rows with one or two queries
and does the working-day arithmetic in Python; the calendar is cached per year, so the number of
queries does not grow with the market.

The rules are split by subdomain; importing this package imports every module, so each rule
registers itself:

- ``common``: date and time formatting;
- ``periods``: PR01 registration period too short, PR02 application accepted after the deadline;
- ``delivery``: PR03 contract not signed, PR04 delivery late, PR05 acceptance or publicity;
- ``walkaways``: PR06 winner walked away.
"""

from .delivery import AcceptanceOrPublicity, ContractNotSigned, LateDelivery
from .periods import LateApplicationAccepted, ShortRegistrationPeriod
from .walkaways import WinnerWalkedAway

__all__ = [
    "AcceptanceOrPublicity",
    "ContractNotSigned",
    "LateApplicationAccepted",
    "LateDelivery",
    "ShortRegistrationPeriod",
    "WinnerWalkedAway",
]
