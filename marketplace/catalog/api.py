"""Read-only API for the catalogue: service types, departments, approval items, qualifications."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound

from . import selectors
from .models import (
    ServiceType,
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
        return selectors.service_types_with_rules(self.request.query_params.get("category") or None)


@extend_schema(tags=["catalogue"])
class ServiceTypeDetailView(generics.RetrieveAPIView):
    serializer_class = ServiceTypeDetailSerializer
    lookup_field = "code"

    def get_object(self) -> ServiceType:
        try:
            return selectors.service_type_detail(self.kwargs["code"])
        except ServiceType.DoesNotExist:
            raise NotFound from None


@extend_schema(tags=["catalogue"])
class DepartmentListView(generics.ListAPIView):
    """Departments with the institutions, associations and enterprises they run or supervise."""

    serializer_class = DepartmentSerializer

    def get_queryset(self):
        return selectors.departments()


@extend_schema(tags=["catalogue"])
class ApprovalItemListView(generics.ListAPIView):
    serializer_class = ApprovalItemSerializer

    def get_queryset(self):
        return selectors.approval_items()


@extend_schema(tags=["catalogue"])
class QualificationTypeListView(generics.ListAPIView):
    serializer_class = QualificationTypeSerializer

    def get_queryset(self):
        return selectors.qualification_types()
