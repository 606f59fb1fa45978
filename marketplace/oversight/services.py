"""Running the monitoring rules, rule settings, and regulators' decisions on flags."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import nullcontext
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.models import Membership, Role, User
from marketplace.core.audit import audit_record, canonical
from marketplace.core.errors import DomainError, NotAllowed

from .models import Flag, MonitorRun, RuleSetting, RuleSettingVersion
from .rules.base import FIRM, PHASE_OF_STATUS, PROJECT_CHANGES, Match, Rule, Scope, all_rules, get_rule
from .rules.compiled import compiled_rows

F = Flag.Status
MAX_WEIGHT = 100
UPDATE_BATCH = 5000


def setting_for(rule: Rule) -> RuleSetting:
    """The rule's stored settings, created from its defaults the first time."""
    setting = RuleSetting.objects.filter(code=rule.code).first()
    if setting is None:
        with transaction.atomic():
            setting, created = RuleSetting.objects.get_or_create(
                code=rule.code, defaults={"weight": rule.default_weight, "thresholds": rule.defaults()}
            )
            if created:
                RuleSettingVersion.objects.create(
                    setting=setting,
                    version=1,
                    enabled=True,
                    weight=setting.weight,
                    thresholds=setting.thresholds,
                    note=_("默认参数"),
                    changed_at=timezone.now(),
                )
    return setting


def _settings(rules: list[Rule]) -> dict[str, RuleSetting]:
    """Every rule's settings in one query (created from the defaults the first time)."""
    stored = {
        s.code: s
        for s in _instances(RuleSetting, "settings", lambda names: RuleSetting.objects.values(*names))
    }
    for rule in rules:
        if rule.code not in stored:
            stored[rule.code] = setting_for(rule)
    return stored


def _triggered(rule: Rule, scope: Scope) -> bool:
    """Whether a per-change run over ``scope`` concerns the rule: a rule runs on the changes its
    ``scopes`` name (a changed project, a changed firm), and a rule with none runs only in full
    scans. Where the run knows what changed (``scope.event``), only the rules that read it run:
    a project's new phase (``Rule.phases``) of a selection method it reads (``Rule.methods``), or
    a firm's own records (``Rule.firm_records``)."""
    if scope.full:
        return True
    kinds = {"project"} if scope.project_ids else set()
    if scope.intermediary_ids:
        kinds.add("intermediary")
    if not kinds & set(rule.scopes):
        return False
    if scope.event is None:
        return True
    if scope.event == FIRM:
        return rule.firm_records
    return (rule.phases is None or scope.event in rule.phases) and scope.concerns(rule.methods)


def _scoped_flags(scope: Scope, codes: list[str]) -> dict[str, list[Flag]]:
    """The flags of a scope's projects and firms, for the rules ``codes`` at once, by rule."""

    def build(names: list[str], codes: list[str], projects: list[int], firms: list[int]) -> QuerySet:
        condition = Q(pk__in=[])
        if projects:
            condition |= Q(project_id__any=projects)
        if firms:
            condition |= Q(intermediary_id__any=firms)
        return Flag.objects.filter(condition, rule__any=codes).order_by().values(*names)

    by_rule: dict[str, list[Flag]] = defaultdict(list)
    flags = _instances(
        Flag,
        "scoped flags",
        build,
        codes=codes,
        projects=scope.project_ids or [],
        firms=scope.intermediary_ids or [],
    )
    for flag in flags:
        by_rule[flag.rule].append(flag)
    return by_rule


def _instances(model: type, key: str, build, **inputs: Any) -> list:
    """Model instances from a query compiled once (``rules.compiled``): ``build(names, **inputs)``
    gives the ``values()`` of every column."""
    names = [f.attname for f in model._meta.concrete_fields]
    rows = compiled_rows(("engine", key), lambda **ids: build(names, **ids), **inputs)
    return [model.from_db(DEFAULT_DB_ALIAS, names, [row[name] for name in names]) for row in rows]


def _apply(
    rule: Rule, setting: RuleSetting, scope: Scope, matches: list[Match], flags: list[Flag]
) -> dict[str, int]:
    """Upsert the matches as flags; resolve open flags in scope (``flags``, the rule's flags of
    the scope's subjects) whose condition has gone."""
    if not matches and not any(f.status == F.OPEN for f in flags):
        return {"matches": 0, "new": 0, "reopened": 0, "resolved": 0}
    now = timezone.now()
    existing = {(f.subject_type, f.subject_id, f.fingerprint): f for f in flags}
    in_scope = set(existing)
    # A match may concern a flag outside the scope's flags (e.g. a firm-level finding reached
    # from a project): load those by fingerprint too, so they are updated, never duplicated.
    fingerprints = {m.fingerprint(rule.code) for m in matches} - {k[2] for k in existing}
    if fingerprints:
        for flag in Flag.objects.filter(rule=rule.code, fingerprint__in=fingerprints):
            existing[(flag.subject_type, flag.subject_id, flag.fingerprint)] = flag
    seen: set[tuple[str, int, str]] = set()
    new: list[Flag] = []
    changed: list[Flag] = []
    unchanged: list[int] = []
    reopened = 0
    for match in matches:
        key = (match.subject_type, match.subject_id, match.fingerprint(rule.code))
        if key in seen:
            continue
        seen.add(key)
        evidence = canonical(match.evidence)
        flag = existing.get(key)
        if flag is None:
            new.append(
                Flag(
                    rule=rule.code,
                    category=rule.category,
                    subject_type=match.subject_type,
                    subject_id=match.subject_id,
                    fingerprint=key[2],
                    evidence=evidence,
                    weight=setting.weight,
                    rule_version=setting.version,
                    project_id=match.project_id,
                    intermediary_id=match.intermediary_id,
                    owner_id=match.owner_id,
                    department_id=match.department_id,
                    first_seen=now,
                    last_seen=now,
                )
            )
            continue
        if (
            flag.evidence == evidence
            and flag.weight == setting.weight
            and flag.rule_version == setting.version
            and flag.status != F.RESOLVED
        ):
            unchanged.append(flag.pk)  # only seen again: one UPDATE for all of them below
            continue
        flag.evidence = evidence
        flag.last_seen = now
        flag.weight = setting.weight
        flag.rule_version = setting.version
        if flag.status == F.RESOLVED:
            flag.status = F.OPEN
            flag.resolved_at = None
            reopened += 1
        changed.append(flag)
    with transaction.atomic(savepoint=False):
        Flag.objects.bulk_create(new, batch_size=1000)
        Flag.objects.bulk_update(
            changed,
            ["evidence", "last_seen", "weight", "rule_version", "status", "resolved_at"],
            batch_size=1000,
        )
        for start in range(0, len(unchanged), UPDATE_BATCH):
            Flag.objects.filter(pk__in=unchanged[start : start + UPDATE_BATCH]).update(last_seen=now)
        gone = [f.pk for k, f in existing.items() if k in in_scope and k not in seen and f.status == F.OPEN]
        if gone:
            Flag.objects.filter(pk__in=gone).update(status=F.RESOLVED, resolved_at=now)
    return {"matches": len(seen), "new": len(new), "reopened": reopened, "resolved": len(gone)}


def monitor_run(*, scope: Scope | None = None, codes: list[str] | None = None) -> MonitorRun:
    """Run the enabled rules (all, or ``codes``) over ``scope`` (the whole market by default).

    A per-change run (a scope) runs only the rules the change concerns (``_triggered``), reads
    every setting and the scope's flags once, and writes all its flags in one transaction; a
    full scan commits rule by rule, so a long scan holds no lock for its whole length."""
    scope = scope or Scope()
    rules = [r for r in all_rules() if (not codes or r.code in codes) and _triggered(r, scope)]
    settings_of = _settings(rules)
    scoped_flags = None if scope.full else _scoped_flags(scope, [rule.code for rule in rules])
    summary: dict[str, Any] = {}
    started_at = timezone.now()
    # Only a transaction of its own may commit lazily, never a caller's that holds other writes.
    own_transaction = not scope.full and not connection.in_atomic_block
    with nullcontext() if scope.full else transaction.atomic():
        if own_transaction:
            _defer_commit_flush()
        narrowed: dict[str, Scope] = {}  # one per reach, so its rules share its cache
        for rule in rules:
            setting = settings_of[rule.code]
            if not setting.enabled:
                continue
            started = time.perf_counter()
            rule_scope = narrowed.setdefault(rule.reach, scope.narrowed(rule.reach))
            matches = list(rule.find(rule_scope, rule.params(setting.thresholds)))
            if scoped_flags is None:
                flags = list(_rule_flags(rule))
            else:
                owned = [
                    f
                    for f in scoped_flags.get(rule.code, [])
                    if rule_scope.holds(f.project_id, f.intermediary_id)
                ]
                flags = rule.responsible(rule_scope, owned)
            counts = _apply(rule, setting, rule_scope, matches, flags)
            counts["ms"] = round((time.perf_counter() - started) * 1000, 1)
            summary[rule.code] = counts
        run = MonitorRun.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            scope={
                "project_ids": scope.project_ids,
                "intermediary_ids": scope.intermediary_ids,
                "codes": codes,
            },
            summary=summary,
        )
    return run


def _defer_commit_flush() -> None:
    """Let a per-change run's commit return before its WAL record reaches the disk (PostgreSQL's
    ``synchronous_commit = off`` for this transaction only): the commit's fsync was a tenth of
    a per-change run. The transaction stays atomic and isolated; what a crash of the database
    server could lose is the last fraction of a second of runs, whose flags are derived data
    that the next run over those subjects, or the nightly full scan, writes again. Only for a
    transaction the run opened itself: inside a caller's, the setting would cover its writes too."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _rule_flags(rule: Rule) -> QuerySet:
    return Flag.objects.filter(rule=rule.code)


def scope_for_project(project_id: int, status: str | None = None) -> Scope:
    """A changed project and the firms that applied to it; ``status``, the status it moved to
    (or ``"payment"`` when money moved on its contract, ``"complaint"`` when a complaint about it
    was filed), tells which rules the change concerns (none: all of them) and, with the firms
    that won its rounds and its method, how far each rule's results can move (``Rule.reach``,
    ``Rule.methods``)."""
    from marketplace.procurement.models import Application, Selection

    won = Selection.objects.filter(project_id=OuterRef("project_id"), winner_id=OuterRef("pk"))
    rows = [
        (row["intermediary_id"], row["won"], row["project__method"])
        for row in compiled_rows(
            ("engine", "project scope"),
            lambda ids: (
                Application.objects.filter(project_id__any=ids)
                .order_by("intermediary_id")
                .values("intermediary_id", "project__method", won=Exists(won))
            ),
            ids=[project_id],
        )
    ]
    event = status if status in PROJECT_CHANGES else PHASE_OF_STATUS.get(status or "")
    return Scope(
        project_ids=[project_id],
        intermediary_ids=[firm for firm, _, _ in rows],
        event=event,
        winner_ids=sorted({firm for firm, won_a_round, _ in rows if won_a_round}),
        methods=frozenset(method for _, _, method in rows) or None,
    )


def scope_for_intermediary(intermediary_id: int, *, records: bool = False) -> Scope:
    """A changed firm and the projects it applied to; ``records`` when the change was to the
    firm's own records (profile, people, ties, fee schedules, filed reports), so that only the
    rules reading them run."""
    from marketplace.procurement.models import Application

    projects = list(
        Application.objects.filter(intermediary_id=intermediary_id).values_list("project_id", flat=True)
    )
    return Scope(project_ids=projects, intermediary_ids=[intermediary_id], event=FIRM if records else None)


# --- settings and decisions -------------------------------------------------------------------


def _require(actor: User, role: str, message: str) -> None:
    if not actor.is_authenticated or not Membership.objects.filter(user=actor, role=role).exists():
        raise NotAllowed(message)


@transaction.atomic
def rule_settings_update(
    *, actor: User, code: str, weight: Any, thresholds: dict[str, Any], enabled: bool = True, note: str = ""
) -> RuleSetting:
    """Operators edit a rule's weight and thresholds; each change is a new, kept version."""
    _require(actor, Role.OPERATOR, _("只有平台运营人员可以修改规则参数。"))
    try:
        rule = get_rule(code)
    except KeyError as exc:
        raise DomainError(_("未知的规则：%(code)s。") % {"code": code}, field="code") from exc
    try:
        weight = int(str(weight))
    except (TypeError, ValueError) as exc:
        raise DomainError(_("权重须为0至100之间的整数。"), field="weight") from exc
    if not 0 <= weight <= MAX_WEIGHT:
        raise DomainError(_("权重须为0至100之间的整数。"), field="weight")
    unknown = set(thresholds) - set(rule.thresholds)
    if unknown:
        raise DomainError(
            _("未知的阈值：%(names)s。") % {"names": "、".join(sorted(unknown))}, field="thresholds"
        )
    cleaned = {}
    for name, threshold in rule.thresholds.items():
        raw = thresholds.get(name, threshold.default)
        try:
            cleaned[name] = canonical(threshold.clean(raw))
        except ValueError as exc:
            label = threshold.label_zh or name
            raise DomainError(
                _("阈值“%(label)s”无效：%(error)s。") % {"label": label, "error": exc}, field=name
            ) from exc
    setting = setting_for(rule)
    setting = RuleSetting.objects.select_for_update().get(pk=setting.pk)
    before = {"enabled": setting.enabled, "weight": setting.weight, "thresholds": setting.thresholds}
    setting.enabled = enabled
    setting.weight = weight
    setting.thresholds = cleaned
    setting.version += 1
    setting.save()
    RuleSettingVersion.objects.create(
        setting=setting,
        version=setting.version,
        enabled=enabled,
        weight=weight,
        thresholds=cleaned,
        note=(note or "").strip()[:300],
        changed_by=actor,
        changed_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="rule.settings",
        obj=setting,
        before=before,
        after={"enabled": enabled, "weight": weight, "thresholds": cleaned, "version": setting.version},
    )
    return setting


@transaction.atomic
def flag_decide(*, actor: User, flag: Flag, confirm: bool, reason: str) -> Flag:
    """A regulator confirms or dismisses a flag, always with a reason."""
    _require(actor, Role.REGULATOR, _("只有监管人员可以核查风险提示。"))
    flag = Flag.objects.select_for_update().get(pk=flag.pk)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写核查意见（确认或排除都须说明理由）。"), field="reason")
    if flag.status in (F.CONFIRMED, F.DISMISSED):
        raise DomainError(_("该风险提示已处理。"), code="decided")
    before = {"status": flag.status}
    flag.status = F.CONFIRMED if confirm else F.DISMISSED
    flag.decided_by = actor
    flag.decided_at = timezone.now()
    flag.decision_reason = reason
    flag.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_record(
        actor=actor,
        action="flag.decide",
        obj=flag,
        before=before,
        after={"status": flag.status, "reason": reason},
    )
    return flag
