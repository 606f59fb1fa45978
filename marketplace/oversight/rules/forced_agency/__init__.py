"""Forced-agency red flags (FA01-FA09): designation of intermediaries (强制代理/指定中介).

The reform forbids steering applicants to a chosen intermediary (枣政办字〔2019〕21号 items 14 to
16): direct selection only below the threshold, no tailored requirements, no off-platform
procurement. These rules look for the traces such steering leaves in the market's records.

Conventions shared by the rules below:

- an *award* is a non-annulled ``Selection`` with a winner; its date is ``performed_at``;
- a firm *had rivals* for an award when another listed firm has an active offer for the
  project's service type (offers require the service type's qualifications). A firm that wins
  because it is the only one able to serve is not designated, so FA02 and FA03 count only
  awards with rivals;
- time windows slide: a window of ``days`` ends at each award, so a pattern stays flagged when
  later, sparser activity follows it (a window fixed at the latest award would let one late
  award clear an earlier burst). They are counted with window functions
  (``COUNT(*) OVER (PARTITION BY ... RANGE n PRECEDING)``): correlated count subqueries took
  minutes on 20,000 awards, the window functions a tenth of a second;
- every finder returns exactly the matches whose ``project_id`` or ``intermediary_id`` is in a
  partial scope (``Scope.holds``), computing its statistics over the whole market: a scoped run then
  gives the same flags for those subjects as the full scan, and resolves only flags it owns
  (a match outside the scope would also collide with its existing flag on insert).

The rules are split by subdomain; importing this package imports every module, so each rule
registers itself:

- ``common``: scoping, awards and rivals, the sliding-window counts;
- ``direct``: FA01 direct selection above the threshold, FA02 repeated direct selection, FA09
  discretionary picks landing on the same firm;
- ``concentration``: FA03 department share, FA08 captive supplier;
- ``requirements``: FA04 requirements beyond the service type's allowance;
- ``relaunches``: FA05 relaunched or annulled until one intermediary wins;
- ``reports``: FA06 report not procured on the platform, FA07 complaint alleging designation.
"""

from .concentration import CaptiveSupplier, DepartmentShareConcentration
from .direct import DirectSelectionAboveThreshold, DiscretionaryPicksSameFirm, RepeatedDirectSelection
from .relaunches import RelaunchedUntilWon
from .reports import DesignationComplaint, OffPlatformReport
from .requirements import RequirementsBeyondAllowance

__all__ = [
    "CaptiveSupplier",
    "DepartmentShareConcentration",
    "DesignationComplaint",
    "DirectSelectionAboveThreshold",
    "DiscretionaryPicksSameFirm",
    "OffPlatformReport",
    "RelaunchedUntilWon",
    "RepeatedDirectSelection",
    "RequirementsBeyondAllowance",
]
