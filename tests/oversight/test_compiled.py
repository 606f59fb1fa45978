"""Per-change queries compiled once (``rules.compiled``): the same rows as the ORM for every
call, whatever ids and moments it is given, on PostgreSQL from SQL kept after the first call,
elsewhere and in the cases that cannot be kept by building the query each time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, OuterRef, Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.oversight.groundtruth import build_small_market
from marketplace.oversight.rules import compiled
from marketplace.oversight.rules.base import Scope
from marketplace.oversight.rules.compiled import compiled_rows
from marketplace.procurement.models import Application, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def rounds() -> list[int]:
    """Projects with at least two applications, from the small ground-truth market."""
    build_small_market(seed=2026)
    return list(
        Project.objects.annotate(n=Count("applications"))
        .filter(n__gte=2)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@pytest.fixture(autouse=True)
def fresh_cache():
    connection.__dict__.pop(compiled.CACHE_ATTRIBUTE, None)
    yield
    connection.__dict__.pop(compiled.CACHE_ATTRIBUTE, None)


def _quotes(ids: list[int]):
    first = (
        Application.objects.filter(project=OuterRef("project_id")).order_by("pk").values("quote_amount")[:1]
    )
    return (
        Application.objects.filter(project_id__any=ids)
        .annotate(first_quote=Subquery(first))
        .order_by("pk")
        .values("pk", "project_id", "quote_amount", "first_quote", "submitted_at")
    )


def _expected(ids: list[int]) -> list[dict]:
    return list(_quotes(ids))


def test_each_call_gets_the_rows_of_its_own_ids_with_the_orms_types(rounds):
    calls = [rounds[:1], rounds[1:3], rounds[2:3], [-1], rounds[5:15]]

    for ids in calls:
        rows = compiled_rows("quotes", _quotes, ids=ids)
        assert rows == _expected(ids), ids
        assert all(row["project_id"] in ids for row in rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL is kept only on PostgreSQL")
def test_the_sql_is_built_once_and_reused_with_other_ids(rounds):
    a, b = rounds[:2]
    built = []

    def build(ids):
        built.append(list(ids))
        return _quotes(ids)

    compiled_rows("counted", build, ids=[a])
    with CaptureQueriesContext(connection) as queries:
        rows = compiled_rows("counted", build, ids=[b, a])
    assert len(built) == 1 and len(queries) == 1
    assert "= ANY(" in queries[0]["sql"] and {row["project_id"] for row in rows} == {a, b}


def test_a_moment_is_a_parameter_of_its_own(rounds):
    project = rounds[0]
    old, new = Application.objects.filter(project_id=project).order_by("pk").values_list("pk", flat=True)[:2]
    now = timezone.now()
    Application.objects.filter(pk=old).update(submitted_at=now - timedelta(days=30))
    Application.objects.filter(pk=new).update(submitted_at=now - timedelta(days=1))

    def build(ids, since):
        return Application.objects.filter(pk__any=ids, submitted_at__gte=since).order_by("pk").values("pk")

    assert compiled_rows("since", build, ids=[old, new], since=now - timedelta(days=60)) == [
        {"pk": old},
        {"pk": new},
    ]
    assert compiled_rows("since", build, ids=[old, new], since=now - timedelta(days=7)) == [{"pk": new}]


def test_an_empty_array_is_its_own_shape(rounds):
    project = rounds[0]
    count = Application.objects.filter(project_id=project).count()

    def build(ids):
        return Project.objects.filter(pk__any=ids).annotate(n=Count("applications")).values("pk", "n")

    assert compiled_rows("empty", build, ids=[]) == []
    assert compiled_rows("empty", build, ids=[project]) == [{"pk": project, "n": count}]
    assert compiled_rows("empty", build, ids=[]) == []


def test_a_query_using_the_ids_in_an_in_list_is_built_each_time_and_still_right(rounds):
    a, b = rounds[:2]

    def build(ids):
        return Project.objects.filter(pk__in=ids).values("pk")

    assert compiled_rows("in-list", build, ids=[a]) == [{"pk": a}]
    assert compiled_rows("in-list", build, ids=[b]) == [{"pk": b}]


def test_a_scopes_rows_follow_its_projects_and_firms(rounds):
    a, b = rounds[:2]

    def build(scope):
        return scope.projects_or_firms(Application.objects.all(), "project_id", "intermediary_id").values(
            "pk"
        )

    def pks(**condition):
        return sorted(Application.objects.filter(**condition).values_list("pk", flat=True))

    firm = Application.objects.filter(project_id=b).values_list("intermediary_id", flat=True).first()
    assert sorted(r["pk"] for r in Scope(project_ids=[a]).rows("apps", build)) == pks(project_id=a)
    assert sorted(r["pk"] for r in Scope(project_ids=[b]).rows("apps", build)) == pks(project_id=b)
    both = Scope(project_ids=[a], intermediary_ids=[firm]).rows("apps", build)
    assert sorted(r["pk"] for r in both) == sorted(set(pks(project_id=a)) | set(pks(intermediary_id=firm)))
    assert len(Scope().rows("apps", build)) == Application.objects.count()
