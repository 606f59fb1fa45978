"""Read-only API for the catalogue: service types, departments, approval items, qualifications."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound

from . import selectors
from .models import (
    ApprovalItem,
    Department,
    QualificationType,
    ServiceType,
    ServiceTypeQualification,
)
from .serializers import (
    ApprovalItemSerializer,
    DepartmentSerializer,
    QualificationTypeSerializer,
    ServiceTypeDetailSerializer,
    ServiceTypeListSerializer,
)


@extend_schema(
    tags=["catalogue"],
    parameters=[OpenApiParameter("category", str, description="Service category code.")],
)
class ServiceTypeListView(generics.ListAPIView):
    """Active service types with their category, pricing regime, qualifications and fee bands."""

    serializer_class = ServiceTypeListSerializer

    def get_queryset(self):
        # The selector has no prefetch for the related rows the list shows; added here.
        return selectors.service_types(self.request.query_params.get("category") or None).prefetch_related(
            Prefetch(
                "allowed_qualifications",
                queryset=ServiceTypeQualification.objects.select_related(
                    "qualification_type", "standard_level"
                ),
            ),
            "price_bands",
        )


@extend_schema(tags=["catalogue"])
class ServiceTypeDetailView(generics.RetrieveAPIView):
    serializer_class = ServiceTypeDetailSerializer
    lookup_field = "code"

    def get_object(self) -> ServiceType:
        try:
            return selectors.service_type_detail(self.kwargs["code"])
        except ServiceType.DoesNotExist:
            raise NotFound from None


# The catalogue selectors have no reads for departments, approval items or qualification
# types yet; these querysets are the API's own until they move there.


@extend_schema(tags=["catalogue"])
class DepartmentListView(generics.ListAPIView):
    """Departments with the institutions, associations and enterprises they run or supervise."""

    serializer_class = DepartmentSerializer

    def get_queryset(self):
        return Department.objects.prefetch_related("affiliates").order_by("code")


@extend_schema(tags=["catalogue"])
class ApprovalItemListView(generics.ListAPIView):
    serializer_class = ApprovalItemSerializer

    def get_queryset(self):
        return (
            ApprovalItem.objects.select_related("department")
            .prefetch_related(
                Prefetch(
                    "service_types", queryset=ServiceType.objects.filter(is_active=True).order_by("code")
                )
            )
            .order_by("department__code", "code")
        )


@extend_schema(tags=["catalogue"])
class QualificationTypeListView(generics.ListAPIView):
    serializer_class = QualificationTypeSerializer

    def get_queryset(self):
        return QualificationType.objects.prefetch_related("levels").order_by("code")
