"""Staff-roster import: checks before writing, dry runs, upserts, and the operator's page."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import translation

from marketplace.core.errors import NotAllowed
from marketplace.core.models import AuditEvent
from marketplace.core.validators import id_hash
from marketplace.oversight.models import DepartmentStaff, StaffRelative
from marketplace.oversight.roster import roster_import
from tests.conftest import requires_postgres
from tests.factories import DepartmentFactory, make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _chinese():
    """Messages are checked in Chinese, whatever an earlier test left active."""
    with translation.override("zh-hans"):
        yield


HEADER = "部门代码,姓名,身份证号,职务,电话,邮箱,入职日期,离职日期,近亲属姓名,近亲属身份证号,关系"
ENGLISH = "department_code,name,id_number,position,phone,email,started_on,ended_on,relative_name,relative_id_number,relation"


def csv_file(
    *lines: str, header: str = HEADER, bom: bool = False, encoding: str = "utf-8"
) -> SimpleUploadedFile:
    text = "\n".join([header, *lines]) + "\n"
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    return SimpleUploadedFile("roster.csv", data, content_type="text/csv")


def bad_id(valid: str) -> str:
    last = "0" if valid[-1] != "0" else "1"
    return valid[:-1] + last


@pytest.fixture
def world(personas):
    department = DepartmentFactory(code="zzfgw")
    return type(
        "World",
        (),
        {
            "operator": personas.operator,
            "personas": personas,
            "department": department,
            "liu": make_id_number(),
            "spouse": make_id_number(),
            "chen": make_id_number(),
        },
    )()


def two_people(world, *, ended="") -> SimpleUploadedFile:
    return csv_file(
        f"zzfgw,刘明,{world.liu},审批科科长,0632-3310001,liu@zz.gov.cn,2012-03-01,{ended},王芳,{world.spouse},配偶",
        f"zzfgw,陈静,{world.chen},科员,,,2019-07-15,,,,",
    )


def state() -> dict:
    return {
        "staff": list(DepartmentStaff.objects.order_by("pk").values()),
        "relatives": list(StaffRelative.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
    }


# --- dry run and import -------------------------------------------------------------------------


def test_a_dry_run_reports_what_would_change_and_writes_nothing(world):
    before = state()

    report = roster_import(actor=world.operator, file=two_people(world), dry_run=True)

    assert report.ok and report.dry_run and not report.written
    assert [(e.line, e.name) for e in report.new_staff] == [(2, "刘明"), (3, "陈静")]
    assert [(r.line, r.staff, r.name, r.relation) for r in report.relatives_added] == [
        (2, "刘明", "王芳", "配偶")
    ]
    assert state() == before


def test_an_import_writes_staff_and_relatives_with_hashes_only_and_is_audited(world):
    report = roster_import(actor=world.operator, file=two_people(world), dry_run=False)

    assert report.ok and report.written
    liu = DepartmentStaff.objects.get(name="刘明")
    assert (liu.department, liu.id_hash, liu.position, liu.started_on, liu.ended_on) == (
        world.department,
        id_hash(world.liu),
        "审批科科长",
        date(2012, 3, 1),
        None,
    )
    assert liu.relatives.get().id_hash == id_hash(world.spouse)
    event = AuditEvent.objects.get(action="roster.import")
    assert event.after["new_staff"] == 2 and event.after["relatives_added"] == 1
    stored = json.dumps([state()["staff"], state()["relatives"], event.after], default=str)
    for number in (world.liu, world.spouse, world.chen):
        assert number not in stored


def test_reimporting_the_same_roster_changes_nothing(world):
    roster_import(actor=world.operator, file=two_people(world), dry_run=False)
    before = state()

    report = roster_import(actor=world.operator, file=two_people(world), dry_run=False)

    assert [e.name for e in report.unchanged] == ["刘明", "陈静"]
    assert not report.new_staff and not report.updated and not report.relatives_added
    assert state()["staff"] == before["staff"] and state()["relatives"] == before["relatives"]


def test_an_end_date_updates_the_matching_period_instead_of_adding_one(world):
    roster_import(actor=world.operator, file=two_people(world), dry_run=False)

    preview = roster_import(actor=world.operator, file=two_people(world, ended="2025-06-30"), dry_run=True)
    assert [(e.name, e.previous_ended_on, e.ended_on, e.changed) for e in preview.updated] == [
        ("刘明", None, date(2025, 6, 30), ["ended_on"])
    ]
    assert DepartmentStaff.objects.get(name="刘明").ended_on is None

    roster_import(actor=world.operator, file=two_people(world, ended="2025-06-30"), dry_run=False)

    assert DepartmentStaff.objects.count() == 2
    assert DepartmentStaff.objects.get(name="刘明").ended_on == date(2025, 6, 30)


def test_a_later_period_of_the_same_person_is_a_new_record(world):
    roster_import(actor=world.operator, file=two_people(world, ended="2020-01-31"), dry_run=False)

    report = roster_import(
        actor=world.operator,
        file=csv_file(f"zzfgw,刘明,{world.liu},副局长,,,2023-02-01,,,,"),
        dry_run=False,
    )

    assert [e.started_on for e in report.new_staff] == [date(2023, 2, 1)]
    assert DepartmentStaff.objects.filter(name="刘明").count() == 2


def test_english_headers_a_bom_and_several_relatives_in_several_rows(world):
    child = make_id_number()
    roster = csv_file(
        f"zzfgw,刘明,{world.liu},科长,,,2012-03-01,,王芳,{world.spouse},配偶",
        f"zzfgw,刘明,{world.liu},科长,,,2012-03-01,,刘小明,{child},子女",
        header=ENGLISH,
        bom=True,
    )

    report = roster_import(actor=world.operator, file=roster, dry_run=False)

    assert report.ok and len(report.new_staff) == 1 and len(report.relatives_added) == 2
    assert DepartmentStaff.objects.get().relatives.count() == 2


def test_optional_columns_may_be_left_out(world):
    roster = csv_file(
        f"zzfgw,陈静,{world.chen},科员,,,2019-07-15", header="部门代码,姓名,身份证号,职务,电话,邮箱,入职日期"
    )

    report = roster_import(actor=world.operator, file=roster, dry_run=False)

    assert report.ok and DepartmentStaff.objects.get().ended_on is None


# --- bad input: every error with its line, nothing written ----------------------------------------


def _bad_files(world) -> dict:
    liu, chen = world.liu, world.chen
    return {
        "missing column": (csv_file("zzfgw,刘明", header="部门代码,姓名"), 1, "缺少必需的列"),
        "unknown column": (csv_file(header=HEADER + ",备注"), 1, "未知的列“备注”"),
        "bad id number": (csv_file(f"zzfgw,刘明,{bad_id(liu)},科长,,,2012-03-01,,,,"), 2, "身份证号"),
        "unknown department": (
            csv_file(f"nosuch,刘明,{liu},科长,,,2012-03-01,,,,"),
            2,
            "部门代码“nosuch”不存在",
        ),
        "bad date format": (
            csv_file(f"zzfgw,刘明,{liu},科长,,,2012/03/01,,,,"),
            2,
            "入职日期“2012/03/01”格式不正确",
        ),
        "impossible date": (csv_file(f"zzfgw,刘明,{liu},科长,,,2012-02-30,,,,"), 2, "不是有效日期"),
        "inverted dates": (csv_file(f"zzfgw,刘明,{liu},科长,,,2012-03-01,2011-01-01,,,"), 2, "早于入职日期"),
        "overlap in the file": (
            csv_file(
                f"zzfgw,刘明,{liu},科长,,,2012-03-01,2018-01-01,,,",
                f"zzfgw,刘明,{liu},局长,,,2017-06-01,,,,",
            ),
            3,
            "与第2行的任职期重叠",
        ),
        "inconsistent duplicate": (
            csv_file(f"zzfgw,刘明,{liu},科长,,,2012-03-01,,,,", f"zzfgw,刘明,{liu},局长,,,2012-03-01,,,,"),
            3,
            "不一致",
        ),
        "incomplete relative": (
            csv_file(f"zzfgw,陈静,{chen},科员,,,2019-07-15,,王芳,,配偶"),
            2,
            "近亲属身份证号",
        ),
        "bad email": (
            csv_file(f"zzfgw,陈静,{chen},科员,,not-an-email,2019-07-15,,,,"),
            2,
            "邮箱“not-an-email”格式不正确",
        ),
        "missing name": (csv_file(f"zzfgw,,{chen},科员,,,2019-07-15,,,,"), 2, "请填写姓名"),
        "not utf-8": (
            csv_file(f"zzfgw,陈静,{chen},科员,,,2019-07-15,,,,", encoding="gbk"),
            0,
            "UTF-8",
        ),
        "empty file": (SimpleUploadedFile("roster.csv", b""), 0, "文件为空"),
        "header only": (csv_file(), 0, "没有数据行"),
    }


BAD_KINDS = [
    "missing column",
    "unknown column",
    "bad id number",
    "unknown department",
    "bad date format",
    "impossible date",
    "inverted dates",
    "overlap in the file",
    "inconsistent duplicate",
    "incomplete relative",
    "bad email",
    "missing name",
    "not utf-8",
    "empty file",
    "header only",
]


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_input_is_reported_with_its_line_and_nothing_is_written(world, kind, dry_run):
    file, line, words = _bad_files(world)[kind]
    before = state()

    report = roster_import(actor=world.operator, file=file, dry_run=dry_run)

    assert not report.ok and not report.written
    assert any(e.line == line and words in str(e) for e in report.errors), [str(e) for e in report.errors]
    assert state() == before


def test_an_overlap_with_a_stored_period_is_an_error(world):
    roster_import(actor=world.operator, file=two_people(world), dry_run=False)
    before = state()

    report = roster_import(
        actor=world.operator, file=csv_file(f"zzfgw,刘明,{world.liu},局长,,,2020-01-01,,,,"), dry_run=False
    )

    assert [str(e) for e in report.errors] == ["第2行：任职期与系统中已有的任职期（2012-03-01—至今）重叠。"]
    assert state() == before


def test_every_error_is_reported_at_once_and_no_good_row_is_written(world):
    zhao = make_id_number()
    roster = csv_file(
        f"zzfgw,陈静,{world.chen},科员,,,2019-07-15,,,,",
        f"zzfgw,刘明,{bad_id(world.liu)},科长,,,2012-03-01,,,,",
        f"zzfgw,王五,{make_id_number()},科员,,,2019-13-01,,,,",
        f"nosuch,孙七,{make_id_number()},科员,,,2019-01-01,,,,",
        f"zzfgw,赵六,{zhao},科员,,,2010-01-01,2015-01-01,,,",
        f"zzfgw,赵六,{zhao},科长,,,2014-01-01,,,,",
    )

    report = roster_import(actor=world.operator, file=roster, dry_run=False)

    assert [e.line for e in report.errors] == [3, 4, 5, 7]
    assert str(report.errors[0]).startswith("第3行：身份证号")
    assert str(report.errors[3]) == "第7行：任职期与第6行的任职期重叠。"
    assert not DepartmentStaff.objects.exists() and not report.new_staff


def test_error_messages_never_echo_an_id_number(world):
    wrong = bad_id(world.liu)
    report = roster_import(
        actor=world.operator, file=csv_file(f"zzfgw,刘明,{wrong},科长,,,2012-03-01,,,,"), dry_run=True
    )

    assert report.errors and all(wrong not in str(e) for e in report.errors)


@pytest.mark.parametrize("persona", ["intermediary", "owner", "department", "regulator"])
def test_only_operators_import(world, persona):
    before = state()

    with pytest.raises(NotAllowed):
        roster_import(actor=world.personas.all()[persona], file=two_people(world), dry_run=False)

    assert state() == before


def test_queries_do_not_grow_with_the_roster(world, django_assert_max_num_queries):
    small = csv_file(*[f"zzfgw,人员{i},{make_id_number()},科员,,,2019-07-15,,,," for i in range(3)])
    large = csv_file(
        *[
            f"zzfgw,人员{i},{make_id_number()},科员,,,2019-07-15,,王{i},{make_id_number()},配偶"
            for i in range(40)
        ]
    )

    with django_assert_max_num_queries(14):
        roster_import(actor=world.operator, file=small, dry_run=False)
    with django_assert_max_num_queries(14):
        roster_import(actor=world.operator, file=large, dry_run=False)

    assert DepartmentStaff.objects.count() == 43 and StaffRelative.objects.count() == 40


# --- the page -----------------------------------------------------------------------------------

URL = "/operator/rosters/"


def test_the_page_has_its_name():
    assert reverse("oversight:roster-import") == URL


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=")


@pytest.mark.parametrize("persona", ["intermediary", "owner", "department", "regulator"])
def test_other_roles_are_refused_and_nothing_changes(client, login, world, persona):
    login(client, world.personas.all()[persona])
    before = state()

    assert client.get(URL).status_code == 403
    assert client.post(URL, {"file": two_people(world), "mode": "import"}).status_code == 403
    assert state() == before


def test_the_operator_sees_the_form(client, login, world):
    login(client, world.operator)

    response = client.get(URL)

    assert response.status_code == 200
    assert "预览（不写入）" in response.content.decode() and "部门代码" in response.content.decode()


def test_the_operator_previews_then_imports(client, login, world):
    login(client, world.operator)

    preview = client.post(URL, {"file": two_people(world), "mode": "preview"})

    assert preview.status_code == 200 and preview.context["report"].dry_run
    assert "预览结果" in preview.content.decode() and "刘明" in preview.content.decode()
    assert not DepartmentStaff.objects.exists()

    done = client.post(URL, {"file": two_people(world), "mode": "import"})

    assert done.status_code == 200 and done.context["report"].written
    assert DepartmentStaff.objects.count() == 2
    assert world.liu not in done.content.decode()


def test_the_page_lists_errors_with_their_lines(client, login, world):
    login(client, world.operator)

    response = client.post(
        URL, {"file": csv_file(f"nosuch,刘明,{world.liu},科长,,,2012-03-01,,,,"), "mode": "import"}
    )

    assert response.status_code == 400
    assert "第2行：部门代码“nosuch”不存在。" in response.content.decode()
    assert not DepartmentStaff.objects.exists()


def test_the_page_requires_a_file(client, login, world):
    login(client, world.operator)

    response = client.post(URL, {"mode": "preview"})

    assert response.status_code == 400 and response.context["report"] is None


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_roster_at_once_add_each_person_once(world):
    content = two_people(world).read()
    barrier = threading.Barrier(2)
    reports: list = [None, None]

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            with translation.override("zh-hans"):
                reports[index] = roster_import(actor=world.operator, file=content, dry_run=False)
        except Exception as exc:  # collected for the assertions
            reports[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(len(r.new_staff) for r in reports) == [0, 2]
    assert DepartmentStaff.objects.count() == 2 and StaffRelative.objects.count() == 1
