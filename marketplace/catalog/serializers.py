"""Renderers for the catalogue API. Read-only: the catalogue is maintained by operators in admin.

Bilingual objects carry ``name`` in the request's language (as the pages do, following
Accept-Language); top-level catalogue resources add ``name_zh`` and ``name_en``.
"""

from rest_framework import serializers

from .models import (
    AffiliatedEntity,
    ApprovalItem,
    Department,
    PriceBand,
    QualificationLevel,
    QualificationType,
    ServiceCategory,
    ServiceType,
    ServiceTypeQualification,
)


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceCategory
        fields = ["code", "name"]


class ServiceTypeRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ServiceType
        fields = ["code", "name"]


class QualificationTypeRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualificationType
        fields = ["code", "name"]


class QualificationLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualificationLevel
        fields = ["id", "code", "name", "rank"]


class DepartmentRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["code", "name"]


class AllowedQualificationSerializer(serializers.ModelSerializer):
    qualification_type = QualificationTypeRefSerializer()
    standard_level = QualificationLevelSerializer(allow_null=True)

    class Meta:
        model = ServiceTypeQualification
        fields = ["qualification_type", "standard_level"]


class PriceBandSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceBand
        fields = ["scale_from", "scale_to", "fee_min", "fee_max", "basis"]


class ServiceTypeSerializer(serializers.ModelSerializer):
    category = CategoryRefSerializer()
    pricing_regime_display = serializers.CharField(source="get_pricing_regime_display")
    allowed_qualifications = AllowedQualificationSerializer(many=True)
    price_bands = PriceBandSerializer(many=True)

    class Meta:
        model = ServiceType
        fields = [
            "code",
            "name",
            "name_zh",
            "name_en",
            "category",
            "legal_basis",
            "pricing_regime",
            "pricing_regime_display",
            "qualification_required",
            "standard_practitioners",
            "allowed_qualifications",
            "price_bands",
        ]


class ServiceTypeListSerializer(ServiceTypeSerializer):
    offer_count = serializers.IntegerField(help_text="Active offers of listed intermediaries.")

    class Meta(ServiceTypeSerializer.Meta):
        fields = [*ServiceTypeSerializer.Meta.fields, "offer_count"]


class ApprovalItemRefSerializer(serializers.ModelSerializer):
    department = DepartmentRefSerializer()

    class Meta:
        model = ApprovalItem
        fields = ["code", "name", "department"]


class ServiceTypeDetailSerializer(ServiceTypeSerializer):
    approval_items = ApprovalItemRefSerializer(many=True)

    class Meta(ServiceTypeSerializer.Meta):
        fields = [*ServiceTypeSerializer.Meta.fields, "description", "pricing_basis", "approval_items"]


class AffiliateSerializer(serializers.ModelSerializer):
    class Meta:
        model = AffiliatedEntity
        fields = ["id", "kind", "name", "uscc", "phone", "address"]


class DepartmentSerializer(serializers.ModelSerializer):
    affiliates = AffiliateSerializer(many=True)

    class Meta:
        model = Department
        fields = ["code", "name", "name_zh", "name_en", "region", "phone", "address", "email", "affiliates"]


class ApprovalItemSerializer(serializers.ModelSerializer):
    department = DepartmentRefSerializer()
    service_types = ServiceTypeRefSerializer(many=True)

    class Meta:
        model = ApprovalItem
        fields = ["code", "name", "name_zh", "name_en", "department", "service_types"]


class QualificationTypeSerializer(serializers.ModelSerializer):
    levels = QualificationLevelSerializer(many=True)

    class Meta:
        model = QualificationType
        fields = ["code", "name", "name_zh", "name_en", "authority", "legal_basis", "levels"]
