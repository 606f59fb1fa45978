"""The rule interface. A rule finds its matches with set-based queries over the whole market or
a scope (some projects, some firms) and explains a match in plain words in both languages.

To add a rule: subclass ``Rule`` in the module of its category, set its attributes, implement
``find`` (queries, not a Python loop per row of the market) and ``explain``, and decorate the
class with ``@register``.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import reduce
from typing import Any, ClassVar

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from marketplace.core.audit import canonical

from .compiled import compiled_rows


@dataclass(frozen=True)
class Threshold:
    """A threshold held as data: its type, default and allowed range, and a label."""

    default: Any
    kind: type = int  # int, Decimal (written as a string), or bool
    minimum: Any = None
    maximum: Any = None
    label_zh: str = ""
    label_en: str = ""

    def clean(self, value: Any) -> Any:
        try:
            if self.kind is bool:
                if not isinstance(value, bool):
                    raise ValueError
                return value
            if self.kind is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                parsed: Any = int(str(value))
            else:
                parsed = Decimal(str(value))
                if not parsed.is_finite():
                    raise ValueError
        except (TypeError, ValueError, ArithmeticError) as exc:
            expected = {bool: _("须为是或否"), int: _("须为整数")}.get(self.kind, _("须为数字"))
            raise ValueError(expected) from exc
        if self.minimum is not None and parsed < self.minimum:
            raise ValueError(_("不得小于 %(n)s") % {"n": self.minimum})
        if self.maximum is not None and parsed > self.maximum:
            raise ValueError(_("不得大于 %(n)s") % {"n": self.maximum})
        return parsed


# What a change to a project touched, by the status it moved to: a per-change run runs the
# rules that read what that phase writes (``Rule.phases``); the nightly full scan runs them all.
POSTING, COMPETITION, AWARD, CONTRACT, DELIVERY, PAYMENT = (
    "posting",
    "competition",
    "award",
    "contract",
    "delivery",
    "payment",
)
PHASE_OF_STATUS = {
    "draft": POSTING,
    "under_check": POSTING,
    "returned": POSTING,
    "published": POSTING,
    "cancelled": POSTING,
    "registration_closed": COMPETITION,
    "selecting": COMPETITION,
    "failed": COMPETITION,
    "relaunched": COMPETITION,
    "selected": AWARD,
    "objection_pending": AWARD,
    "contracting": CONTRACT,
    "in_service": CONTRACT,
    "delivered": DELIVERY,
    "accepted": DELIVERY,
    "rated": DELIVERY,
    "closed": DELIVERY,
}
FIRM = "firm"  # a firm's own records changed (profile, people, ties, fee schedules, reports)
COMPLAINT = "complaint"  # a complaint about the project was filed
# Changes to a project that are not a move to a status: a per-change run is told them by name.
PROJECT_CHANGES = frozenset({PAYMENT, COMPLAINT})
PROJECT_EVENTS = frozenset({POSTING, COMPETITION, AWARD, CONTRACT, DELIVERY, PAYMENT})

# How far a known change to a project can reach in a rule's results (``Rule.reach``): the changed
# project's own matches (a rule whose every match is about one project and decided by that
# project's rows), also those of the firms that won its rounds (aggregates over an owner's or a
# firm's awards: only the winner's totals move), or also those of every firm that applied.
REACH_PROJECT, REACH_WINNERS, REACH_APPLICANTS = "project", "winners", "applicants"


@dataclass
class Scope:
    """What a run looks at: everything (both None) or the given projects and firms.

    A rule that works per project uses ``project_ids``; one that works per firm uses
    ``intermediary_ids``. A per-change run passes the changed project and its parties."""

    project_ids: list[int] | None = None
    intermediary_ids: list[int] | None = None
    # The change that caused a per-change run: a phase (``PHASE_OF_STATUS``) or ``FIRM``; None
    # runs every rule the scope concerns.
    event: str | None = None
    # The firms that won a round of the scoped projects (annulled rounds too), when the scope is a
    # changed project's (``services.scope_for_project``): what ``narrowed`` keeps for REACH_WINNERS.
    winner_ids: list[int] | None = None
    # The selection methods of the scoped projects, when the scope is a changed project's: a
    # rule that reads only projects of other methods (``Rule.methods``) has nothing to redo.
    methods: frozenset[str] | None = None
    # Results that several rules of one run share (e.g. the related-party walks), by the key
    # their owner chooses. Not a field of the comparison, and not copied by ``replace()``.
    cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def full(self) -> bool:
        return self.project_ids is None and self.intermediary_ids is None

    def narrowed(self, reach: str) -> Scope:
        """The part of a changed project's scope that a rule of this ``reach`` answers for: the
        scope itself unless the change is a known project event (``event``) and the rule's
        results cannot move beyond the project (REACH_PROJECT) or its winners (REACH_WINNERS).
        A firm's change, or a change of unknown kind, keeps the whole scope."""
        if reach == REACH_APPLICANTS or self.event not in PROJECT_EVENTS or self.winner_ids is None:
            return self
        firms = None if reach == REACH_PROJECT else list(self.winner_ids)
        return replace(self, intermediary_ids=firms)

    def concerns(self, methods: frozenset[str] | None) -> bool:
        """Whether a change to the scoped projects can move a rule that reads only projects of
        ``methods`` (None: every method). A project's method is fixed once it is published, so
        only a known change after posting is judged by it."""
        if methods is None or self.methods is None or self.event not in PROJECT_EVENTS - {POSTING}:
            return True
        return bool(self.methods & methods)

    def holds(self, project_id: int | None, intermediary_id: int | None) -> bool:
        """Whether a flag or match about this project and firm belongs to the scope, as the
        engine selects a scope's flags (by project or by firm)."""
        if self.full:
            return True
        return (self.project_ids is not None and project_id in self.project_ids) or (
            self.intermediary_ids is not None and intermediary_id in self.intermediary_ids
        )

    def projects(self, queryset: QuerySet, field_name: str = "pk") -> QuerySet:
        """``queryset`` limited to the scope's projects (``field_name`` points at a project id)."""
        if self.full:
            return queryset
        if self.project_ids is None:
            return queryset.none()
        return queryset.filter(**{f"{field_name}__any": self.project_ids})

    def firms(self, queryset: QuerySet, field_name: str = "pk") -> QuerySet:
        """``queryset`` limited to the scope's firms (``field_name`` points at an intermediary id)."""
        if self.full:
            return queryset
        if self.intermediary_ids is None:
            return queryset.none()
        return queryset.filter(**{f"{field_name}__any": self.intermediary_ids})

    def projects_or_firms(self, queryset: QuerySet, project_field: str, firm_field: str) -> QuerySet:
        """Rows about a scoped project or a scoped firm. Where a field crosses a join, an ``OR``
        of the two makes PostgreSQL read whole tables, so the rows are found by two indexed
        lookups first, as a ``UNION`` of the two inside the rule's own query: one round trip and
        one plan instead of three (a per-change run pays a few milliseconds for each)."""
        if self.full:
            return queryset
        if "__" in project_field or "__" in firm_field:
            lookups = []
            if self.project_ids:
                lookups.append(Q(**{f"{project_field}__any": self.project_ids}))
            if self.intermediary_ids:
                lookups.append(Q(**{f"{firm_field}__any": self.intermediary_ids}))
            return any_of(queryset, lookups)
        conditions = []
        if self.project_ids:
            conditions.append(Q(**{f"{project_field}__any": self.project_ids}))
        if self.intermediary_ids:
            conditions.append(Q(**{f"{firm_field}__any": self.intermediary_ids}))
        if not conditions:
            return queryset.none()
        return queryset.filter(reduce(operator.or_, conditions))

    def rows(self, key: Hashable, build: Callable[[Scope], QuerySet]) -> list[dict[str, Any]]:
        """The rows of ``build(scope)``, a ``values()`` queryset limited by this scope's methods
        (``projects``, ``firms``, ``projects_or_firms``). In a per-change run its SQL is compiled
        once per ``key``, which must name the query and every other input it reads
        (``compiled.compiled_rows``)."""
        if self.full:
            return list(build(self))
        arrays = {
            name: ids
            for name, ids in (("project_ids", self.project_ids), ("intermediary_ids", self.intermediary_ids))
            if ids is not None
        }
        return compiled_rows((key, tuple(arrays)), lambda **ids: build(replace(self, **ids)), **arrays)


def any_of(queryset: QuerySet, lookups: list[Q]) -> QuerySet:
    """Rows of ``queryset`` matching any of ``lookups``, each found by its own indexed lookup and
    joined by a ``UNION`` inside the one query. An ``OR`` of conditions that cross joins makes
    PostgreSQL read whole tables; this costs one round trip and one plan. None: no rows."""
    if not lookups:
        return queryset.none()
    ids = [queryset.filter(lookup).order_by().values("pk") for lookup in lookups]
    return queryset.filter(pk__in=ids[0].union(*ids[1:]) if len(ids) > 1 else ids[0])


@dataclass
class Match:
    """One finding. ``key`` decides the fingerprint (defaults to the whole evidence): keep only
    what identifies the finding there, so changing amounts in the evidence update the flag
    rather than creating another."""

    subject_type: str
    subject_id: int
    evidence: dict
    key: dict | None = None
    project_id: int | None = None
    intermediary_id: int | None = None
    owner_id: int | None = None
    department_id: int | None = None

    def fingerprint(self, code: str) -> str:
        body = json.dumps(
            canonical(
                {
                    "rule": code,
                    "subject": [self.subject_type, self.subject_id],
                    "key": self.key or self.evidence,
                }
            ),
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class RuleInfo:
    code: str
    category: str
    title_zh: str
    title_en: str
    basis_zh: str
    default_weight: int
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    ocp: tuple[str, ...] = ()


class Rule:
    code: ClassVar[str]
    category: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]
    # What it detects and the legal or policy basis (shown on the rule's page).
    basis_zh: ClassVar[str] = ""
    basis_en: ClassVar[str] = ""
    default_weight: ClassVar[int] = 5
    thresholds: ClassVar[dict[str, Threshold]] = {}
    ocp: ClassVar[tuple[str, ...]] = ()
    # Which change triggers it: "project" (a project changed) and/or "intermediary".
    scopes: ClassVar[tuple[str, ...]] = ("project",)
    # The phases of a project whose changes can change its result (None: every change).
    phases: ClassVar[frozenset[str] | None] = None
    # Whether it reads a firm's own records, so that a change to them can change its result.
    firm_records: ClassVar[bool] = False
    # Whose results a known change to a project can move (REACH_*; ``Scope.narrowed``).
    reach: ClassVar[str] = REACH_APPLICANTS
    # The selection methods of the projects it reads (None: all): a published project of another
    # method cannot move its results (``Scope.concerns``).
    methods: ClassVar[frozenset[str] | None] = None

    def find(self, scope: Scope, params: dict[str, Any]) -> Iterable[Match]:
        raise NotImplementedError

    def explain(self, evidence: dict, language: str = "zh-hans") -> str:
        raise NotImplementedError

    def responsible(self, scope: Scope, flags: list) -> list:
        """Which of the scope's existing flags a run over ``scope`` answers for (those it may
        resolve when it does not find them again): all of them, unless the rule looks at only
        part of what the scope touches."""
        return flags

    def defaults(self) -> dict[str, Any]:
        return {name: canonical(t.default) for name, t in self.thresholds.items()}

    def params(self, stored: dict[str, Any]) -> dict[str, Any]:
        """Stored thresholds cleaned into their types (defaults for anything missing)."""
        values = {}
        for name, threshold in self.thresholds.items():
            values[name] = threshold.clean(stored.get(name, threshold.default))
        return values


REGISTRY: dict[str, Rule] = {}


def register(cls: type[Rule]) -> type[Rule]:
    if cls.code in REGISTRY:
        raise ValueError(f"rule {cls.code} registered twice")
    REGISTRY[cls.code] = cls()
    return cls


def all_rules() -> list[Rule]:
    from . import load_all  # noqa: F401  (import the category modules)

    return [REGISTRY[code] for code in sorted(REGISTRY)]


def get_rule(code: str) -> Rule:
    all_rules()
    return REGISTRY[code]
