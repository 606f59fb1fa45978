"""Chinese relevance, filters and facets: the same behaviour on both backends."""

from __future__ import annotations

from decimal import Decimal

from search.query import SearchQuery

from .conftest import reindex


def _offer_ids(result) -> set[int]:
    return {h.object_id for h in result.hits if h.kind == "offer"}


def test_the_everyday_name_huanping_finds_environmental_impact_offers(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(q="环评", kind="offer"))
    assert _offer_ids(result) == {market["green_eia"].pk, market["lunan_eia"].pk}


def test_the_full_name_finds_environmental_impact_offers_and_not_safety(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(q="环境影响评价", kind="offer"))
    assert _offer_ids(result) == {market["green_eia"].pk, market["lunan_eia"].pk}


def test_part_of_a_firms_name_finds_the_firm(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(q="绿源", kind="intermediary"))
    assert [h.title for h in result.hits] == ["枣庄绿源环境科技有限公司"]


def test_a_uscc_finds_its_firm(backend, market):
    reindex(backend)
    firm = market["antai"]
    result = backend.search(SearchQuery(q=firm.uscc, kind="intermediary"))
    assert [h.object_id for h in result.hits] == [firm.pk]


def test_a_lower_case_uscc_finds_its_firm(backend, market):
    reindex(backend)
    firm = market["hengxin"]
    result = backend.search(SearchQuery(q=firm.uscc.lower(), kind="intermediary"))
    assert [h.object_id for h in result.hits] == [firm.pk]


def test_service_type_filter_and_facet_counts(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(kind="offer", filters={"service_type": "eia-report"}))
    assert _offer_ids(result) == {market["green_eia"].pk, market["lunan_eia"].pk}
    counts = {f.value: f.count for f in result.facets["service_type"]}
    assert counts == {"eia-report": 2}
    assert {f.value: f.count for f in result.facets["qualification"]} == {"eia-engineer": 1}


def test_facets_count_every_kind_and_service_type_matching_the_query(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(q="环评"))
    kinds = {f.value: f.count for f in result.facets["kind"]}
    assert kinds == {"offer": 2, "intermediary": 2}
    labels = {f.value: f.label for f in result.facets["service_type"]}
    assert labels == {"eia-report": "建设项目环境影响报告书（表）编制"}


def test_a_keyword_with_two_filters(backend, market):
    reindex(backend)
    query = SearchQuery(
        q="环评", kind="offer", filters={"service_type": "eia-report", "qualification": "eia-engineer"}
    )
    assert _offer_ids(backend.search(query)) == {market["green_eia"].pk}


def test_price_range_keeps_offers_whose_fees_overlap_it(backend, market):
    reindex(backend)
    query = SearchQuery(q="环评", kind="offer", price_min=Decimal("70000"), price_max=Decimal("90000"))
    assert _offer_ids(backend.search(query)) == {market["lunan_eia"].pk}


def test_rating_filter_and_sort(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(kind="intermediary", rating_min=Decimal("4"), sort="rating"))
    assert [h.title for h in result.hits] == ["枣庄绿源环境科技有限公司", "枣庄安泰安全技术服务有限公司"]


def test_an_unknown_filter_value_matches_nothing(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(q="环评", filters={"service_type": "no-such-type"}))
    assert result.total == 0 and result.hits == []


def test_a_page_past_the_end_is_empty_and_flagged(backend, market):
    reindex(backend)
    result = backend.search(SearchQuery(q="环评", page=40))
    assert result.hits == [] and result.out_of_range and result.total == 4


def test_matches_are_marked_in_the_snippet_and_escaped(backend, market):
    market["green_eia"].description = "<script>x</script> 专业环评团队"
    market["green_eia"].save()
    reindex(backend)
    result = backend.search(SearchQuery(q="环评", kind="offer"))
    snippet = next(h.snippet for h in result.hits if h.object_id == market["green_eia"].pk)
    assert "<mark>环评</mark>" in snippet
    assert "<script>" not in snippet


def test_suggestions_complete_a_service_name(backend, market):
    reindex(backend)
    assert "环境影响评价" in backend.suggest("环境", 8)
    assert "枣庄绿源环境科技有限公司" in backend.suggest("枣庄绿", 8)


def test_a_term_that_is_part_of_an_html_entity_does_not_break_the_escaping():
    from search.query import highlight

    snippet = highlight("Smith & Wesson <b>bold</b>", ["amp", "lt", "b"])

    # Found in the text, not in its escaped form: "&lt;" stays whole, only the real "b"s are marked.
    assert snippet == "Smith &amp; Wesson &lt;<mark>b</mark>&gt;<mark>b</mark>old&lt;/<mark>b</mark>&gt;"
