"""GET /api/ocds/releases/: the OCDS feed, one release package per page, streamed.

Pages are keyed by project id (``after``), not by offset, so a page costs the same wherever it
is in the feed and a project added meanwhile never shifts the pages a harvester has read.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from .export import Window, iter_releases, package_chunks, published_projects

MAX_PAGE_SIZE = 1000


class FeedParams(serializers.Serializer):
    since = serializers.CharField(required=False, allow_blank=True)
    until = serializers.CharField(required=False, allow_blank=True)
    after = serializers.IntegerField(required=False, min_value=0)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


class ReleasePackageView(APIView):
    """Public: only published projects, and bids only once registration has closed."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        tags=["open data"],
        operation_id="ocds_releases",
        summary="OCDS 1.1 release packages (bids extension), one page at a time",
        description=(
            "Every published project as one OCDS 1.1 release: parties identified by the unified "
            "social credit code (scheme CN-USCI), buyer, tender (procurementMethod, "
            "procurementMethodDetails and awardCriteria per selection method), tenderPeriod, "
            "numberOfTenderers, bids.details with status and value, awards, contracts with "
            "amendments and implementation.transactions for payments. Ordered by project; follow "
            "`links.next` for the next page. `since`/`until` keep the projects changed in that "
            "range (the project, an amendment or a payment); dates are YYYY-MM-DD, Beijing time."
        ),
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="Changed on or after this day."),
            OpenApiParameter("until", OpenApiTypes.DATE, description="Changed on or before this day."),
            OpenApiParameter("after", int, description="Start after this project id (from links.next)."),
            OpenApiParameter(
                "page_size",
                int,
                description=f"Releases per page (default {settings.OCDS_PAGE_SIZE}, at most {MAX_PAGE_SIZE}).",
            ),
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="An OCDS release package."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A bad or impossible date range."),
        },
    )
    def get(self, request):
        params = FeedParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        window = Window.parse(data.get("since"), data.get("until"))
        after = data.get("after")
        size = data.get("page_size", settings.OCDS_PAGE_SIZE)
        ids = published_projects(window)
        if after is not None:
            ids = ids.filter(pk__gt=after)
        page = list(ids.values_list("pk", flat=True)[: size + 1])
        links = {}
        if len(page) > size:
            query = {k: v for k, v in request.query_params.items() if k != "after"}
            query["after"] = page[size - 1]
            links["next"] = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        releases = iter_releases(window, after=after, limit=size) if page else iter(())
        response = StreamingHttpResponse(
            package_chunks(releases, uri=request.build_absolute_uri(), links=links or None),
            content_type="application/json; charset=utf-8",
        )
        return response
