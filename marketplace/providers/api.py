"""API for intermediaries: the public directory, profiles and fee disclosure; the acting firm's
workspace; the operator's onboarding review.

Thin like the views: parse with a serializer, call a selector or a service, render. Visibility
and write rights are the selectors' and services' (a ``DomainError`` becomes a 400 with its
message, ``NotAllowed`` a 403, through the project's exception handler); the permission
classes here only check the active role, as ``role_required`` does for the pages.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.accounts.api import ActiveRole
from marketplace.accounts.models import Role
from marketplace.catalog import selectors as catalog_selectors
from marketplace.catalog.models import ServiceType
from marketplace.core.parsers import FormParser, MultiPartParser

from . import selectors, services
from .models import Intermediary, Offer
from .serializers import (
    CommitmentInputSerializer,
    DirectoryEntrySerializer,
    FeeChangeInputSerializer,
    FeeDisclosureSerializer,
    FeeHistorySerializer,
    FeeVersionSerializer,
    IntermediaryStatusSerializer,
    OfferCreateInputSerializer,
    OfferUpdateInputSerializer,
    OwnIntermediarySerializer,
    OwnOfferSerializer,
    OwnPractitionerSerializer,
    PractitionerInputSerializer,
    ProfileInputSerializer,
    PublicProfileSerializer,
    QualificationInputSerializer,
    QualificationSerializer,
    ReviewInputSerializer,
    ReviewQueueEntrySerializer,
    ReviewQueueQuerySerializer,
    ShareholderSerializer,
    TieSerializer,
)


def _parse(serializer_class, data, **kwargs) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- permissions ------------------------------------------------------------------------------


class _ActiveRole(ActiveRole):
    message = _("当前身份无权访问此页面。请切换到相应机构身份。")


class ActsForIntermediary(_ActiveRole):
    roles = (Role.INTERMEDIARY,)


class ActsAsOperator(_ActiveRole):
    roles = (Role.OPERATOR,)


class _ActingFirmMixin:
    # The acting firm is the intermediary of the active membership: ``me/`` never reaches
    # another firm, not even one the user is also a member of.

    permission_classes = [ActsForIntermediary]
    request: Request

    def acting_firm(self) -> Intermediary:
        firm = selectors.intermediary_for_membership(self.request.membership)
        if firm is None:
            raise NotFound(_("当前机构尚未登记为中介机构。"))
        return firm

    def own_offer(self, pk: int) -> Offer:
        firm = self.acting_firm()
        offer = selectors.get_offer_for(self.request.user, pk, write=True)
        if offer.intermediary_id != firm.pk:
            raise NotFound
        return offer


# --- public: directory, profile, fees ---------------------------------------------------------

DIRECTORY_PARAMETERS = [
    OpenApiParameter("q", str, description="Name (contains) or exact USCC; at most 100 characters."),
    OpenApiParameter("category", str, description="Service category code: firms offering a service in it."),
    OpenApiParameter("service_type", str, description="Service type code: firms offering it."),
    OpenApiParameter("qualification", str, description="Qualification type code: firms holding a valid one."),
    OpenApiParameter("level", int, description="Qualification level id: firms holding it or a higher grade."),
    OpenApiParameter(
        "price_min", OpenApiTypes.NUMBER, description="Current fee reaches at least this (yuan)."
    ),
    OpenApiParameter(
        "price_max", OpenApiTypes.NUMBER, description="Current fee starts at most at this (yuan)."
    ),
    OpenApiParameter("min_rating", OpenApiTypes.NUMBER, description="Rating score at least (0-5)."),
    OpenApiParameter("sort", str, enum=["newest", "rating"], description="Default: by name."),
]


@extend_schema(tags=["intermediaries"], parameters=DIRECTORY_PARAMETERS)
class IntermediaryListView(generics.ListAPIView):
    """The public directory of listed intermediaries with their active offers and current fees."""

    serializer_class = DirectoryEntrySerializer

    def get_queryset(self):
        filterset, queryset = selectors.directory(self.request.query_params)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return queryset


@extend_schema(tags=["intermediaries"])
class IntermediaryDetailView(generics.RetrieveAPIView):
    """A public profile; 404 unless the firm is listed (or is the user's own, or the user is staff)."""

    serializer_class = PublicProfileSerializer

    def get_object(self) -> Intermediary:
        return selectors.profile(self.request.user, self.kwargs["pk"])


@extend_schema(tags=["intermediaries"])
class OfferFeeHistoryView(generics.GenericAPIView):
    """Every fee version of an offer, newest first."""

    serializer_class = FeeHistorySerializer

    def get(self, request: Request, pk: int) -> Response:
        offer = selectors.get_offer_for(request.user, pk)
        data = {"offer": offer, "versions": selectors.fee_history(offer)}
        return Response(self.get_serializer(data).data)


@extend_schema(tags=["intermediaries"])
class FeeDisclosureView(generics.GenericAPIView):
    """收费公示: every active offer's current fee for a service type, with the government bands."""

    serializer_class = FeeDisclosureSerializer

    def get(self, request: Request, code: str) -> Response:
        try:
            service_type = catalog_selectors.service_types().get(code=code)
        except ServiceType.DoesNotExist:
            raise NotFound from None
        offers, bands = selectors.fee_disclosure(service_type)
        data = {"service_type": service_type, "bands": bands, "schedules": offers}
        return Response(self.get_serializer(data).data)


# --- the acting firm's workspace --------------------------------------------------------------


@extend_schema(tags=["workspace"])
class MyIntermediaryView(_ActingFirmMixin, generics.GenericAPIView):
    """The acting firm's profile, onboarding records and checklist."""

    serializer_class = OwnIntermediarySerializer

    def get(self, request: Request) -> Response:
        return Response(self._render(self.acting_firm()))

    @extend_schema(request=ProfileInputSerializer)
    def put(self, request: Request) -> Response:
        return self._update(request, partial=False)

    @extend_schema(request=ProfileInputSerializer)
    def patch(self, request: Request) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        firm = self.acting_firm()
        data = _parse(ProfileInputSerializer, request.data, partial=partial)
        # The service takes the whole profile: a PATCH fills the fields not sent from the record.
        values = {f: getattr(firm, f) for f in services.PROFILE_FIELDS} if partial else {}
        values.update(data)
        firm = services.intermediary_update_profile(actor=request.user, intermediary=firm, **values)
        return Response(self._render(firm))

    def _render(self, firm: Intermediary) -> dict:
        return self.get_serializer(selectors.onboarding_state(firm)).data


@extend_schema(tags=["workspace"])
class MyQualificationCreateView(_ActingFirmMixin, generics.GenericAPIView):
    """Register a qualification certificate (multipart, with the scanned certificate)."""

    parser_classes = [MultiPartParser, FormParser]
    serializer_class = QualificationSerializer

    @extend_schema(request=QualificationInputSerializer, responses={201: QualificationSerializer})
    def post(self, request: Request) -> Response:
        firm = self.acting_firm()
        data = _parse(QualificationInputSerializer, request.data)
        qualification = services.qualification_add(actor=request.user, intermediary=firm, **data)
        return Response(QualificationSerializer(qualification).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["workspace"])
class MyPractitionerCreateView(_ActingFirmMixin, generics.GenericAPIView):
    """Register a practitioner (multipart, with the certificate and proof of social insurance)."""

    parser_classes = [MultiPartParser, FormParser]
    serializer_class = OwnPractitionerSerializer

    @extend_schema(request=PractitionerInputSerializer, responses={201: OwnPractitionerSerializer})
    def post(self, request: Request) -> Response:
        firm = self.acting_firm()
        data = _parse(PractitionerInputSerializer, request.data)
        practitioner = services.practitioner_add(actor=request.user, intermediary=firm, **data)
        return Response(OwnPractitionerSerializer(practitioner).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["workspace"])
class MyShareholderCreateView(_ActingFirmMixin, generics.GenericAPIView):
    """Register a shareholder: a person (resident ID number) or a firm (USCC)."""

    serializer_class = ShareholderSerializer

    @extend_schema(responses={201: ShareholderSerializer})
    def post(self, request: Request) -> Response:
        firm = self.acting_firm()
        data = _parse(ShareholderSerializer, request.data)
        shareholder = services.shareholder_add(actor=request.user, intermediary=firm, **data)
        return Response(ShareholderSerializer(shareholder).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["workspace"])
class MyTieCreateView(_ActingFirmMixin, generics.GenericAPIView):
    """Declare a tie with a department (关联关系申报)."""

    serializer_class = TieSerializer

    @extend_schema(responses={201: TieSerializer})
    def post(self, request: Request) -> Response:
        firm = self.acting_firm()
        data = _parse(TieSerializer, request.data)
        tie = services.tie_declare(actor=request.user, intermediary=firm, **data)
        return Response(TieSerializer(tie).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["workspace"])
class MyCommitmentView(_ActingFirmMixin, generics.GenericAPIView):
    """The legal representative signs the integrity commitment; the firm is listed under review."""

    serializer_class = IntermediaryStatusSerializer

    @extend_schema(request=CommitmentInputSerializer, responses=IntermediaryStatusSerializer)
    def post(self, request: Request) -> Response:
        firm = self.acting_firm()
        data = _parse(CommitmentInputSerializer, request.data)
        firm = services.commitment_sign(actor=request.user, intermediary=firm, **data)
        return Response(IntermediaryStatusSerializer(firm).data)


@extend_schema(tags=["workspace"])
class MyOfferListView(_ActingFirmMixin, generics.ListAPIView):
    """The acting firm's offers (active or not); POST publishes a new one with its first fee."""

    serializer_class = OwnOfferSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Offer.objects.none()
        return selectors.offers_of(self.acting_firm())

    @extend_schema(request=OfferCreateInputSerializer, responses={201: OwnOfferSerializer})
    def post(self, request: Request) -> Response:
        firm = self.acting_firm()
        data = _parse(OfferCreateInputSerializer, request.data, context={"firm": firm})
        fee = services.FeeInput(**data.pop("fee"))
        offer = services.offer_create(actor=request.user, intermediary=firm, fee=fee, **data)
        return Response(OwnOfferSerializer(offer).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["workspace"])
class MyOfferDetailView(_ActingFirmMixin, generics.GenericAPIView):
    """One of the acting firm's offers; PATCH changes its description, links or listing."""

    serializer_class = OwnOfferSerializer

    def get(self, request: Request, pk: int) -> Response:
        return Response(self.get_serializer(self.own_offer(pk)).data)

    @extend_schema(request=OfferUpdateInputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        offer = self.own_offer(pk)
        data = _parse(
            OfferUpdateInputSerializer, request.data, partial=True, context={"firm": offer.intermediary}
        )
        values = {
            "description": offer.description,
            "included": offer.included,
            "service_days": offer.service_days,
            "is_active": offer.is_active,
            "practitioners": list(offer.practitioners.all()),
            "qualifications": list(offer.qualifications.all()),
        }
        values.update(data)
        offer = services.offer_update(actor=request.user, offer=offer, **values)
        return Response(self.get_serializer(offer).data)


@extend_schema(tags=["workspace"])
class MyOfferFeeView(_ActingFirmMixin, generics.GenericAPIView):
    """A new fee version for an offer; the earlier ones stay public in its history."""

    serializer_class = FeeVersionSerializer

    @extend_schema(request=FeeChangeInputSerializer, responses={201: FeeVersionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        offer = self.own_offer(pk)
        data = _parse(FeeChangeInputSerializer, request.data)
        schedule = services.fee_schedule_change(
            actor=request.user, offer=offer, fee=services.FeeInput(**data)
        )
        return Response(FeeVersionSerializer(schedule).data, status=status.HTTP_201_CREATED)


# --- operator review --------------------------------------------------------------------------


@extend_schema(tags=["review"], parameters=[ReviewQueueQuerySerializer])
class ReviewQueueView(generics.ListAPIView):
    """Firms awaiting the formal check (default: under review or asked for changes)."""

    permission_classes = [ActsAsOperator]
    serializer_class = ReviewQueueEntrySerializer

    def get_queryset(self):
        query = _parse(ReviewQueueQuerySerializer, self.request.query_params)
        return selectors.review_queue(query.get("status"))


@extend_schema(tags=["review"])
class IntermediaryReviewView(generics.GenericAPIView):
    """The operator's formal-check decision: approve, request changes or delist."""

    permission_classes = [ActsAsOperator]
    serializer_class = IntermediaryStatusSerializer

    @extend_schema(request=ReviewInputSerializer, responses=IntermediaryStatusSerializer)
    def post(self, request: Request, pk: int) -> Response:
        firm = selectors.get_intermediary_for(request.user, pk)
        data = _parse(ReviewInputSerializer, request.data)
        firm = services.intermediary_review(actor=request.user, intermediary=firm, **data)
        return Response(IntermediaryStatusSerializer(firm).data)
