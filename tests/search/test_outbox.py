"""Indexing through the outbox (the audit log): every change reaches the index, in batches,
and nothing is lost while the engine is down."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.procurement import services as procurement
from marketplace.procurement.services import timeline
from marketplace.providers import services as providers
from search import services
from search.backends.base import SearchUnavailable
from search.backends.database import DatabaseBackend
from search.hooks import _send_drain
from search.models import OutboxCursor, SearchDocument
from search.query import SearchQuery
from tests.factories import IntermediaryFactory, member_of
from tests.procurement.factories import firm_user, operator_user, pass_deadline, published_project

from .conftest import reindex


class EngineDown(DatabaseBackend):
    """A backend whose engine refuses every write (same cursor as the database backend)."""

    def index(self, docs):
        raise SearchUnavailable("connection refused")

    def delete(self, keys):
        raise SearchUnavailable("connection refused")


def _rename(firm, name: str):
    actor = member_of(firm.organisation)
    return providers.intermediary_update_profile(
        actor=actor,
        intermediary=firm,
        name=name,
        legal_representative="张三",
        address="枣庄市市中区光明路1号",
        contact_name="李四",
        phone="0632-3000001",
    )


def _titles(q: str, kind: str) -> list[str]:
    return [h.title for h in DatabaseBackend().search(SearchQuery(q=q, kind=kind)).hits]


def test_a_profile_change_reaches_the_index_after_commit(market, django_capture_on_commit_callbacks):
    reindex(DatabaseBackend())
    with django_capture_on_commit_callbacks(execute=True):
        _rename(market["green"], "枣庄青山环境科技有限公司")
    assert _titles("青山", "intermediary") == ["枣庄青山环境科技有限公司"]
    assert _titles("绿源", "intermediary") == []
    offer_subtitles = [h.subtitle for h in DatabaseBackend().search(SearchQuery(q="青山", kind="offer")).hits]
    assert offer_subtitles == ["枣庄青山环境科技有限公司"]


def test_one_drain_is_scheduled_per_transaction(market, django_capture_on_commit_callbacks):
    from marketplace.core.models import AuditEvent

    before = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        published_project(service_type=market["eia"])  # several audited writes in one transaction here
    assert AuditEvent.objects.count() - before >= 3
    assert sum(1 for cb in callbacks if cb is _send_drain) == 1


def test_writes_succeed_and_nothing_is_lost_while_the_engine_is_down(market):
    reindex(DatabaseBackend())
    _rename(market["green"], "枣庄青山环境科技有限公司")
    with pytest.raises(SearchUnavailable):
        services.outbox_drain(backend=EngineDown())
    market["green"].refresh_from_db()
    assert market["green"].name == "枣庄青山环境科技有限公司"  # the write stood
    cursor = OutboxCursor.objects.get(backend="database")
    assert cursor.failures == 1 and "connection refused" in cursor.last_error
    assert _titles("青山", "intermediary") == []
    report = services.outbox_drain(backend=DatabaseBackend())  # the engine is back
    assert report["events"] >= 1
    assert _titles("青山", "intermediary") == ["枣庄青山环境科技有限公司"]
    cursor.refresh_from_db()
    assert cursor.failures == 0 and cursor.last_error == ""


def test_the_outbox_drains_in_batches(market, monkeypatch):
    reindex(DatabaseBackend())
    monkeypatch.setattr(services, "OUTBOX_BATCH_SIZE", 2)
    for i, firm in enumerate([market["green"], market["lunan"], market["antai"]]):
        _rename(firm, f"枣庄批量测试{i}号咨询有限公司")
    report = services.outbox_drain(backend=DatabaseBackend())
    assert report["batches"] >= 2
    assert sorted(_titles("批量测试", "intermediary")) == [f"枣庄批量测试{i}号咨询有限公司" for i in range(3)]


def test_draining_twice_changes_nothing(market):
    reindex(DatabaseBackend())
    _rename(market["green"], "枣庄青山环境科技有限公司")
    services.outbox_drain(backend=DatabaseBackend())
    before = list(
        SearchDocument.objects.order_by("kind", "object_id").values_list("kind", "object_id", "title")
    )
    assert services.outbox_drain(backend=DatabaseBackend())["events"] == 0
    after = list(
        SearchDocument.objects.order_by("kind", "object_id").values_list("kind", "object_id", "title")
    )
    assert before == after


def test_a_delisted_firm_and_its_offers_leave_the_index(market):
    reindex(DatabaseBackend())
    providers.intermediary_review(
        actor=operator_user(), intermediary=market["antai"], decision="delist", note="虚假承诺"
    )
    services.outbox_drain(backend=DatabaseBackend())
    assert _titles("安泰", "intermediary") == []
    assert DatabaseBackend().search(SearchQuery(q="安评", kind="offer")).total == 0


def test_a_project_is_indexed_when_published_and_not_as_a_draft(market):
    reindex(DatabaseBackend())
    project = published_project(service_type=market["eia"], title="薛城区污水处理厂环评服务采购")
    services.outbox_drain(backend=DatabaseBackend())
    result = DatabaseBackend().search(SearchQuery(q="污水处理厂", kind="project"))
    assert [h.object_id for h in result.hits] == [project.pk]
    assert {f.value for f in result.facets["status"]} == {"published"}


def test_a_draft_project_is_not_indexed(market):
    from tests.procurement.factories import owner_user, project_input

    owner = owner_user()
    procurement.project_create(
        actor=owner, data=project_input(service_type=market["eia"], title="草稿项目峄城")
    )
    services.outbox_drain(backend=DatabaseBackend())
    assert DatabaseBackend().search(SearchQuery(q="草稿项目峄城")).total == 0


def test_projects_moved_by_the_timeline_reach_the_index(market):
    project = published_project(service_type=market["eia"], title="台儿庄古城环评服务采购")
    services.outbox_drain(backend=DatabaseBackend())
    pass_deadline(project)
    timeline.tick()  # no applicants: registration closes and the round fails
    services.outbox_drain(backend=DatabaseBackend())
    result = DatabaseBackend().search(SearchQuery(q="台儿庄古城", kind="project"))
    project.refresh_from_db()
    assert project.status != "published"
    assert {f.value for f in result.facets["status"]} == {project.status}


def test_applicants_and_quotes_never_reach_the_index(market):
    project = published_project(service_type=market["eia"], title="山亭区道路环评服务采购")
    firm, user = firm_user(market["eia"], name="枣庄保密测试咨询有限公司")
    procurement.application_submit(actor=user, project=project, quote=Decimal("87654"), firm=firm)
    pass_deadline(project)
    timeline.tick()
    services.outbox_drain(backend=DatabaseBackend())
    doc = SearchDocument.objects.get(kind="project", object_id=project.pk)
    assert "保密测试" not in doc.text and "87654" not in doc.text
    assert DatabaseBackend().search(SearchQuery(q="保密测试", kind="project")).total == 0


def test_rebuild_recovers_an_emptied_index_and_moves_the_cursor(market):
    SearchDocument.objects.all().delete()
    report = services.index_rebuild(backend=DatabaseBackend())
    assert report["documents"] == 8
    assert services.index_status(backend=DatabaseBackend())["outbox"]["pending_events"] == 0


def test_a_change_to_a_firm_not_yet_listed_indexes_nothing(db):
    firm = IntermediaryFactory(status="draft", name="枣庄草稿机构有限公司")
    _rename(firm, "枣庄草稿机构二有限公司")
    services.outbox_drain(backend=DatabaseBackend())
    assert SearchDocument.objects.count() == 0
