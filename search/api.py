"""The search API (/api/search/): the same parameters and the same interface as the page."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .backends.base import SearchUnavailable
from .models import Kind
from .query import FACET_FIELDS, SORTS
from .serializers import SearchResponseSerializer, SuggestResponseSerializer
from .views import run_search

PARAMETERS = [
    OpenApiParameter("q", str, description="Keywords (at most 100 characters; operators are ignored)."),
    OpenApiParameter("kind", str, enum=Kind.values, description="Only this kind of result."),
    OpenApiParameter("service_type", str, description="Service type code."),
    OpenApiParameter("qualification", str, description="Qualification type code."),
    OpenApiParameter("level", str, description="Qualification type and level, `type:level`."),
    OpenApiParameter("status", str, description="Firm or project status code."),
    OpenApiParameter("department", str, description="Department code (projects)."),
    OpenApiParameter("price_min", float, description="Fee range or price ceiling at least this (yuan)."),
    OpenApiParameter("price_max", float, description="Fee range or price floor at most this (yuan)."),
    OpenApiParameter("rating_min", float, description="Public rating at least this (0-5)."),
    OpenApiParameter(
        "date_from", str, description="Listed, fee effective or published on or after (YYYY-MM-DD)."
    ),
    OpenApiParameter("date_to", str, description="... on or before (YYYY-MM-DD)."),
    OpenApiParameter("sort", str, enum=list(SORTS)),
    OpenApiParameter("page", int),
]


class SearchView(APIView):
    """Search intermediaries, offers and published projects. Invalid parameters are ignored
    and named in ``messages``; a page past the end returns no results and a message."""

    @extend_schema(tags=["search"], parameters=PARAMETERS, responses=SearchResponseSerializer)
    def get(self, request: Request) -> Response:
        result, messages = run_search(request.query_params)
        if result is None:
            return Response(
                {"detail": messages[-1], "messages": messages}, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )
        facets = {name: [asdict(v) for v in result.facets.get(name, [])] for name in ("kind", *FACET_FIELDS)}
        body = {
            "query": result.query.text,
            "total": result.total,
            "page": result.query.page,
            "pages": result.pages,
            "results": [asdict(h) for h in result.hits],
            "facets": facets,
            "messages": messages,
        }
        for hit in body["results"]:
            hit.pop("score", None)
        return Response(SearchResponseSerializer(body).data)


class SuggestView(APIView):
    """Completions for a search box."""

    @extend_schema(
        tags=["search"],
        parameters=[OpenApiParameter("q", str, required=True)],
        responses=SuggestResponseSerializer,
    )
    def get(self, request: Request) -> Response:
        try:
            items = services.suggest(request.query_params.get("q", ""))
        except SearchUnavailable:
            items = []
        return Response({"suggestions": items})
