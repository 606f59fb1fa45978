"""Importing departments' staff rosters (部门工作人员名册) for the related-party rules.

Operators upload a CSV file (UTF-8, with or without BOM), one row per period of service and,
optionally, one declared close relative. Every row is checked before anything is written; with
any error nothing is written and every error is reported with its line number. A dry run
reports what an import would change. Staff are matched on department + ID hash + start date,
so an import sets end dates and corrects contacts without creating duplicates. ID numbers are
never stored (only their keyed hashes) and never echoed back.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from marketplace.accounts.models import Membership, Role, User
from marketplace.catalog.models import Department
from marketplace.core.audit import audit_record
from marketplace.core.errors import DomainError, NotAllowed
from marketplace.core.validators import id_hash

from .models import DepartmentStaff, StaffRelative

ROSTER_MAX_BYTES = 10 * 1024 * 1024

# Canonical column -> the headers accepted for it (Chinese first, as in the template).
COLUMNS: dict[str, tuple[str, str]] = {
    "department_code": ("部门代码", "department_code"),
    "name": ("姓名", "name"),
    "id_number": ("身份证号", "id_number"),
    "position": ("职务", "position"),
    "phone": ("电话", "phone"),
    "email": ("邮箱", "email"),
    "started_on": ("入职日期", "started_on"),
    "ended_on": ("离职日期", "ended_on"),
    "relative_name": ("近亲属姓名", "relative_name"),
    "relative_id_number": ("近亲属身份证号", "relative_id_number"),
    "relation": ("关系", "relation"),
}
REQUIRED_COLUMNS = ("department_code", "name", "id_number", "position", "phone", "email", "started_on")
RELATIVE_COLUMNS = ("relative_name", "relative_id_number", "relation")
_HEADERS = {alias.lower(): column for column, aliases in COLUMNS.items() for alias in aliases}
MAX_LENGTHS = {"name": 100, "position": 100, "phone": 40, "email": 200, "relative_name": 100, "relation": 40}
STAFF_FIELDS = ("name", "position", "phone", "email", "ended_on")
FIELD_LABELS = {
    "name": gettext_lazy("姓名"),
    "position": gettext_lazy("职务"),
    "phone": gettext_lazy("电话"),
    "email": gettext_lazy("邮箱"),
    "ended_on": gettext_lazy("离职日期"),
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class RosterIssue:
    """One error: its line in the file (1 is the header; 0 the file as a whole) and message."""

    line: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return _("文件：%(message)s") % {"message": self.message}
        return _("第%(line)s行：%(message)s") % {"line": self.line, "message": self.message}


@dataclass
class RosterEntry:
    """One period of service as the report shows it (never with an ID number)."""

    line: int
    department: str
    name: str
    started_on: date
    ended_on: date | None = None
    previous_ended_on: date | None = None
    changed: list[str] = field(default_factory=list)

    @property
    def changed_labels(self) -> list[str]:
        return [str(FIELD_LABELS[name]) for name in self.changed]


@dataclass
class RelativeEntry:
    line: int
    department: str
    staff: str
    name: str
    relation: str


@dataclass
class RosterReport:
    dry_run: bool
    rows: int = 0
    errors: list[RosterIssue] = field(default_factory=list)
    new_staff: list[RosterEntry] = field(default_factory=list)
    updated: list[RosterEntry] = field(default_factory=list)
    unchanged: list[RosterEntry] = field(default_factory=list)
    relatives_added: list[RelativeEntry] = field(default_factory=list)
    relatives_updated: list[RelativeEntry] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int, message: str) -> None:
        self.errors.append(RosterIssue(line, message))

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "new_staff": len(self.new_staff),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "relatives_added": len(self.relatives_added),
            "relatives_updated": len(self.relatives_updated),
        }


@dataclass
class _Row:
    line: int
    department_code: str
    name: str
    id_hash: str
    position: str
    phone: str
    email: str
    started_on: date
    ended_on: date | None
    relative: tuple[str, str, str] | None  # name, id hash, relation

    @property
    def key(self) -> tuple[str, str, date]:
        return (self.department_code, self.id_hash, self.started_on)

    def staff_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in STAFF_FIELDS}


# --- reading and checking the file --------------------------------------------------------------


def _decode(file: Any, report: RosterReport) -> str | None:
    raw = file if isinstance(file, bytes | str) else file.read()
    if isinstance(raw, str):
        return raw
    if len(raw) > ROSTER_MAX_BYTES:
        report.error(0, _("文件过大：不得超过 %(size)s MB。") % {"size": ROSTER_MAX_BYTES // (1024 * 1024)})
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.error(0, _("文件不是 UTF-8 编码：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后再上传。"))
        return None


def _columns(header: list[str], report: RosterReport) -> dict[str, int] | None:
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        title = cell.strip().lstrip("\ufeff")
        column = _HEADERS.get(title.lower())
        if column is None:
            if title:
                report.error(1, _("未知的列“%(title)s”。") % {"title": title})
            continue
        if column in positions:
            report.error(1, _("列“%(title)s”重复。") % {"title": COLUMNS[column][0]})
            continue
        positions[column] = index
    missing = [COLUMNS[c][0] for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        report.error(1, _("缺少必需的列：%(columns)s。") % {"columns": "、".join(missing)})
    return None if report.errors else positions


def _date(value: str, label: str, line: int, report: RosterReport) -> date | None:
    if not _DATE.match(value):
        report.error(
            line, _("%(label)s“%(value)s”格式不正确，应为 YYYY-MM-DD。") % {"label": label, "value": value}
        )
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        report.error(line, _("%(label)s“%(value)s”不是有效日期。") % {"label": label, "value": value})
        return None


def _hash(value: str, label: str, line: int, report: RosterReport) -> str | None:
    try:
        return id_hash(value)
    except DomainError as exc:
        report.error(line, f"{label}：{exc.message}")
        return None


def _row(line: int, cells: dict[str, str], report: RosterReport) -> _Row | None:
    before = len(report.errors)
    for column, limit in MAX_LENGTHS.items():
        if len(cells[column]) > limit:
            report.error(
                line,
                _("%(label)s过长：不得超过 %(limit)s 个字符。")
                % {"label": COLUMNS[column][0], "limit": limit},
            )
    for column in ("department_code", "name", "id_number", "started_on"):
        if not cells[column]:
            report.error(line, _("请填写%(label)s。") % {"label": COLUMNS[column][0]})
    person = _hash(cells["id_number"], _("身份证号"), line, report) if cells["id_number"] else None
    started = _date(cells["started_on"], _("入职日期"), line, report) if cells["started_on"] else None
    ended = _date(cells["ended_on"], _("离职日期"), line, report) if cells["ended_on"] else None
    if started and ended and ended < started:
        report.error(
            line, _("离职日期 %(ended)s 早于入职日期 %(started)s。") % {"ended": ended, "started": started}
        )
    if cells["email"]:
        try:
            validate_email(cells["email"])
        except ValidationError:
            report.error(line, _("邮箱“%(value)s”格式不正确。") % {"value": cells["email"]})
    relative = None
    if any(cells[c] for c in RELATIVE_COLUMNS):
        for column in RELATIVE_COLUMNS:
            if not cells[column]:
                report.error(line, _("填写近亲属时须同时填写%(label)s。") % {"label": COLUMNS[column][0]})
        relative_hash = (
            _hash(cells["relative_id_number"], _("近亲属身份证号"), line, report)
            if cells["relative_id_number"]
            else None
        )
        if relative_hash and relative_hash == person:
            report.error(line, _("近亲属身份证号与本人相同。"))
        relative = (cells["relative_name"], relative_hash or "", cells["relation"])
    if len(report.errors) > before or person is None or started is None:
        return None
    return _Row(
        line=line,
        department_code=cells["department_code"],
        name=cells["name"],
        id_hash=person,
        position=cells["position"],
        phone=cells["phone"],
        email=cells["email"],
        started_on=started,
        ended_on=ended,
        relative=relative,
    )


def _cell(record: list[str], index: int | None) -> str:
    return record[index].strip() if index is not None and index < len(record) else ""


def _read(file: Any, report: RosterReport) -> tuple[list[_Row], list[tuple[int, str]]] | None:
    """The rows that passed their own checks, and every data row's department code by line;
    None when the file cannot be read as a roster at all."""
    text = _decode(file, report)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        report.error(0, _("文件为空。"))
        return None
    except csv.Error as exc:
        report.error(1, _("无法读取表头：%(error)s") % {"error": exc})
        return None
    positions = _columns(header, report)
    if positions is None:
        return None
    rows: list[_Row] = []
    codes: list[tuple[int, str]] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.error(start, _("无法读取该行：%(error)s") % {"error": exc})
            break
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        report.rows += 1
        if any(cell.strip() for cell in record[len(header) :]):
            report.error(start, _("该行的列数（%(count)s）多于表头。") % {"count": len(record)})
            continue
        cells = {column: _cell(record, positions.get(column)) for column in COLUMNS}
        if cells["department_code"]:
            codes.append((start, cells["department_code"]))
        row = _row(start, cells, report)
        if row is not None:
            rows.append(row)
    if not report.rows and not report.errors:
        report.error(0, _("文件中没有数据行。"))
        return None
    return rows, codes


# --- comparing with what is stored --------------------------------------------------------------


def _check_departments(codes: list[tuple[int, str]], report: RosterReport) -> dict[str, Department]:
    departments = {d.code: d for d in Department.objects.filter(code__in={code for _line, code in codes})}
    for line, code in codes:
        if code not in departments:
            report.error(line, _("部门代码“%(code)s”不存在。") % {"code": code})
    return departments


def _period(started: date, ended: date | None) -> str:
    end = ended.isoformat() if ended else _("至今")
    return f"{started.isoformat()}—{end}"


def _overlap(report: RosterReport, a: tuple, b: tuple) -> None:
    """Report two overlapping periods of one person in one department on the file's line(s)."""
    (start_a, end_a, line_a), (start_b, end_b, line_b) = a, b
    if line_a is not None and line_b is not None:
        report.error(line_b, _("任职期与第%(line)s行的任职期重叠。") % {"line": line_a})
    elif line_a is not None or line_b is not None:
        line, start, end = (line_b, start_a, end_a) if line_b is not None else (line_a, start_b, end_b)
        report.error(
            line, _("任职期与系统中已有的任职期（%(period)s）重叠。") % {"period": _period(start, end)}
        )


def _plan(rows: list[_Row], departments: dict[str, Department], report: RosterReport) -> dict[str, Any]:
    """Group the rows into periods of service, check them against each other and against the
    stored roster, and work out what would change."""
    groups: dict[tuple[str, str, date], list[_Row]] = defaultdict(list)
    for row in rows:
        groups[row.key].append(row)
    for key_rows in groups.values():
        first = key_rows[0]
        for other in key_rows[1:]:
            if other.staff_values() != first.staff_values():
                report.error(
                    other.line,
                    _(
                        "与第%(line)s行为同一人员的同一任职期（入职日期相同），但姓名、职务、联系方式或离职日期不一致。"
                    )
                    % {"line": first.line},
                )
    existing = list(
        DepartmentStaff.objects.filter(
            department__in=departments.values(), id_hash__in={row.id_hash for row in rows}
        ).prefetch_related("relatives")
    )
    stored = {(s.department_id, s.id_hash, s.started_on): s for s in existing}
    # Every period per person and department once the import is applied: stored, then the file's.
    periods: dict[tuple[int, str], dict[date, tuple[date | None, int | None]]] = defaultdict(dict)
    for staff in existing:
        periods[(staff.department_id, staff.id_hash)][staff.started_on] = (staff.ended_on, None)
    for (code, person, started), key_rows in groups.items():
        periods[(departments[code].pk, person)][started] = (key_rows[0].ended_on, key_rows[0].line)
    for spans in periods.values():
        ordered = sorted(spans.items())
        for index, (start_a, (end_a, line_a)) in enumerate(ordered):
            for start_b, (end_b, line_b) in ordered[index + 1 :]:
                if end_a is not None and end_a <= start_b:
                    continue  # periods sorted by start: b starts after a ended
                _overlap(report, (start_a, end_a, line_a), (start_b, end_b, line_b))
    if report.errors:
        return {}
    to_create: list[DepartmentStaff] = []
    to_update: list[DepartmentStaff] = []
    relatives_new: list[tuple[DepartmentStaff, tuple[str, str, str], RelativeEntry]] = []
    relatives_changed: list[StaffRelative] = []
    for (code, person, started), key_rows in sorted(groups.items(), key=lambda item: item[1][0].line):
        first = key_rows[0]
        department = departments[code]
        entry = RosterEntry(first.line, code, first.name, started, first.ended_on)
        found = stored.get((department.pk, person, started))
        if found is None:
            staff = DepartmentStaff(
                department=department, id_hash=person, started_on=started, **first.staff_values()
            )
            to_create.append(staff)
            report.new_staff.append(entry)
            known: dict[str, StaffRelative] = {}
        else:
            staff = found
            entry.previous_ended_on = staff.ended_on
            entry.changed = [
                name for name, value in first.staff_values().items() if getattr(staff, name) != value
            ]
            if entry.changed:
                for name, value in first.staff_values().items():
                    setattr(staff, name, value)
                to_update.append(staff)
                report.updated.append(entry)
            else:
                report.unchanged.append(entry)
            known = {r.id_hash: r for r in staff.relatives.all()}
        for row in key_rows:
            if row.relative is None:
                continue
            name, relative_hash, relation = row.relative
            shown = RelativeEntry(row.line, code, first.name, name, relation)
            current = known.get(relative_hash)
            if current is None:
                relatives_new.append((staff, row.relative, shown))
                report.relatives_added.append(shown)
                known[relative_hash] = StaffRelative(name=name, id_hash=relative_hash, relation=relation)
            elif (current.name, current.relation) != (name, relation) and current.pk:
                current.name, current.relation = name, relation
                relatives_changed.append(current)
                report.relatives_updated.append(shown)
    return {
        "create": to_create,
        "update": to_update,
        "relatives_new": relatives_new,
        "relatives_changed": relatives_changed,
    }


def _write(plan: dict[str, Any]) -> None:
    DepartmentStaff.objects.bulk_create(plan["create"], batch_size=500)
    DepartmentStaff.objects.bulk_update(plan["update"], list(STAFF_FIELDS), batch_size=500)
    StaffRelative.objects.bulk_create(
        [
            StaffRelative(staff=staff, name=name, id_hash=relative_hash, relation=relation)
            for staff, (name, relative_hash, relation), _shown in plan["relatives_new"]
        ],
        batch_size=500,
    )
    StaffRelative.objects.bulk_update(plan["relatives_changed"], ["name", "relation"], batch_size=500)


# --- the service --------------------------------------------------------------------------------


def _require_operator(actor: User) -> None:
    if not actor.is_authenticated or not Membership.objects.filter(user=actor, role=Role.OPERATOR).exists():
        raise NotAllowed(_("只有平台运营人员可以导入部门工作人员名册。"))


def roster_import(*, actor: User, file: Any, dry_run: bool) -> RosterReport:
    """Check a roster CSV and, unless ``dry_run`` or any error, upsert it in one transaction.

    The report lists every error with its line (nothing written then) or what changed (what
    would change on a dry run): new periods of service, updated ones (end dates, contacts),
    unchanged ones, and relatives added or corrected."""
    _require_operator(actor)
    report = RosterReport(dry_run=dry_run)
    _import(report, actor=actor, file=file)
    report.errors.sort(key=lambda issue: issue.line)
    return report


def _import(report: RosterReport, *, actor: User, file: Any) -> None:
    read = _read(file, report)
    if read is None:
        return
    rows, codes = read
    # Every error is found before anything is written: the periods of the rows that passed
    # their own checks are compared too, even when other rows failed.
    departments = _check_departments(codes, report)
    rows = [row for row in rows if row.department_code in departments]
    if report.dry_run or report.errors:
        _plan(rows, departments, report)
        return
    with transaction.atomic():
        # One import per department at a time: the comparison with the stored roster holds until commit.
        list(
            Department.objects.filter(pk__in=[d.pk for d in departments.values()])
            .order_by("pk")
            .select_for_update()
        )
        plan = _plan(rows, departments, report)
        if report.errors:
            return
        _write(plan)
        audit_record(
            actor=actor,
            action="roster.import",
            object_type="oversight.departmentstaff",
            object_id=",".join(sorted(departments)),
            after={
                **report.summary(),
                "departments": sorted(departments),
                "file": getattr(file, "name", "") or "",
            },
        )
        report.written = True
