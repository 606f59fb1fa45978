"""manage.py search_index."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from search.models import SearchDocument


def _run(*args) -> dict:
    out = StringIO()
    call_command("search_index", *args, stdout=out)
    return json.loads(out.getvalue())


def test_rebuild_indexes_every_public_object_and_status_reports_it(market):
    assert _run("--rebuild")["documents"] == 8
    status = _run("--status")
    assert status["documents"] == {"intermediary": 4, "offer": 4}
    assert status["outbox"]["pending_events"] == 0


def test_drain_applies_pending_changes(market):
    from .test_outbox import _rename

    _run("--rebuild")
    _rename(market["hengxin"], "滕州市恒远测绘有限公司")
    assert _run("--status")["outbox"]["pending_events"] >= 1
    assert _run("--drain")["events"] >= 1
    assert SearchDocument.objects.filter(title="滕州市恒远测绘有限公司").exists()


def test_one_action_is_required(db):
    with pytest.raises(CommandError):
        call_command("search_index")


def test_an_unreachable_engine_is_a_clear_command_error(db, settings):
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"
    from search.backends import elastic

    elastic._client.cache_clear()
    try:
        with pytest.raises(CommandError, match="search backend unavailable"):
            call_command("search_index", "--create", stdout=StringIO())
    finally:
        elastic._client.cache_clear()
