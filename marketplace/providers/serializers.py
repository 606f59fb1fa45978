"""Parsers and renderers for the intermediaries API. Every write goes through ``services``.

Input serializers only convert types and resolve references; the business rules (and their
user-facing messages) are the services'. Text fields therefore accept blanks, so that an empty
required value gets the service's message rather than a generic one.

Output serializers never expose certificate files or ID-number hashes.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.catalog.models import (
    AffiliatedEntity,
    Department,
    QualificationLevel,
    QualificationType,
    ServiceType,
)
from marketplace.catalog.serializers import (
    CategoryRefSerializer,
    DepartmentRefSerializer,
    PriceBandSerializer,
    QualificationLevelSerializer,
    QualificationTypeRefSerializer,
    ServiceTypeRefSerializer,
)

from .models import (
    DeclaredTie,
    FeeSchedule,
    Intermediary,
    Offer,
    Practitioner,
    Qualification,
    Shareholder,
)
from .services import ReviewDecision, onboarding_checklist


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, allow_blank=True, **kwargs)


# --- output: fees -----------------------------------------------------------------------------


class FeeSerializer(serializers.ModelSerializer):
    """One fee version (收费标准)."""

    basis_display = serializers.CharField(source="get_basis_display")

    class Meta:
        model = FeeSchedule
        fields = ["version", "basis", "basis_display", "rate", "unit", "fee_min", "fee_max", "effective_from"]


class FeeVersionSerializer(FeeSerializer):
    class Meta(FeeSerializer.Meta):
        fields = [*FeeSerializer.Meta.fields, "note"]


class IntermediaryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Intermediary
        fields = ["id", "name"]


# --- output: public directory and profile -----------------------------------------------------


class DirectoryOfferSerializer(serializers.ModelSerializer):
    service_type = ServiceTypeRefSerializer()
    current_fee = FeeSerializer(allow_null=True)

    class Meta:
        model = Offer
        fields = ["id", "service_type", "current_fee"]


class DirectoryEntrySerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")
    offer_count = serializers.IntegerField()
    offers = DirectoryOfferSerializer(source="active_offers", many=True)

    class Meta:
        model = Intermediary
        fields = [
            "id",
            "name",
            "uscc",
            "status",
            "status_display",
            "listed_at",
            "rating_score",
            "offer_count",
            "offers",
        ]


class QualificationSerializer(serializers.ModelSerializer):
    qualification_type = QualificationTypeRefSerializer()
    level = QualificationLevelSerializer(allow_null=True)
    is_expired = serializers.SerializerMethodField()

    class Meta:
        model = Qualification
        fields = [
            "id",
            "qualification_type",
            "level",
            "number",
            "authority",
            "valid_from",
            "valid_until",
            "is_expired",
        ]

    @extend_schema_field(serializers.BooleanField())
    def get_is_expired(self, obj: Qualification) -> bool:
        return obj.valid_until < timezone.localdate()


class PublicPractitionerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Practitioner
        fields = ["name", "title"]


class PublicTieSerializer(serializers.ModelSerializer):
    department = DepartmentRefSerializer()
    # A plain string here: the kind enum is documented once, on Tie (one name per choice set).
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = DeclaredTie
        fields = ["department", "kind", "kind_display"]


class ProfileServiceTypeSerializer(ServiceTypeRefSerializer):
    category = CategoryRefSerializer()

    class Meta(ServiceTypeRefSerializer.Meta):
        fields = [*ServiceTypeRefSerializer.Meta.fields, "category"]


class ProfileOfferSerializer(serializers.ModelSerializer):
    service_type = ProfileServiceTypeSerializer()
    current_fee = FeeSerializer(allow_null=True)

    class Meta:
        model = Offer
        fields = ["id", "service_type", "description", "included", "service_days", "current_fee"]


class PublicProfileSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")
    offers = ProfileOfferSerializer(source="active_offers", many=True)
    qualifications = QualificationSerializer(many=True)
    practitioners = PublicPractitionerSerializer(many=True)
    declared_ties = PublicTieSerializer(many=True)

    class Meta:
        model = Intermediary
        fields = [
            "id",
            "name",
            "uscc",
            "status",
            "status_display",
            "is_sole_proprietor",
            "legal_representative",
            "address",
            "phone",
            "website",
            "description",
            "listed_at",
            "commitment_signed_at",
            "commitment_signed_by",
            "rating_score",
            "offers",
            "qualifications",
            "practitioners",
            "declared_ties",
        ]


# --- output: fee disclosure and history -------------------------------------------------------


class DisclosedScheduleSerializer(serializers.ModelSerializer):
    offer_id = serializers.IntegerField(source="pk")
    intermediary = IntermediaryRefSerializer()
    current_fee = FeeSerializer(allow_null=True)
    version_count = serializers.IntegerField()

    class Meta:
        model = Offer
        fields = ["offer_id", "intermediary", "current_fee", "version_count"]


class FeeDisclosureSerializer(serializers.Serializer):
    service_type = ServiceTypeRefSerializer()
    pricing_regime = serializers.CharField(source="service_type.pricing_regime")
    pricing_regime_display = serializers.CharField(source="service_type.get_pricing_regime_display")
    bands = PriceBandSerializer(many=True)
    schedules = DisclosedScheduleSerializer(many=True)


class FeeHistoryOfferSerializer(serializers.ModelSerializer):
    intermediary = IntermediaryRefSerializer()
    service_type = ServiceTypeRefSerializer()
    current_version = serializers.IntegerField(source="current_fee.version", allow_null=True)

    class Meta:
        model = Offer
        fields = ["id", "intermediary", "service_type", "is_active", "current_version"]


class FeeHistorySerializer(serializers.Serializer):
    offer = FeeHistoryOfferSerializer()
    versions = FeeVersionSerializer(many=True)


# --- the acting firm's workspace -------------------------------------------------------------
# Shareholders and ties have one serializer that parses and renders: one name per choice set.


class OwnPractitionerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Practitioner
        fields = ["id", "name", "id_last4", "title", "certificate_number", "insured_since"]


class ShareholderSerializer(serializers.Serializer):
    """Parses a new shareholder and renders one (the ID number is never rendered)."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=Shareholder.Kind.choices)
    name = _text(200)
    share = serializers.DecimalField(max_digits=7, decimal_places=3)
    id_number = _text(30, default="", write_only=True, help_text="For a person; only a keyed hash is stored.")
    uscc = _text(30, default="", help_text="For a firm.")


class TieSerializer(serializers.Serializer):
    """Parses a declared tie and renders one; the department is referred to by its code."""

    id = serializers.IntegerField(read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.all())
    affiliate = serializers.PrimaryKeyRelatedField(
        queryset=AffiliatedEntity.objects.all(), allow_null=True, default=None
    )
    kind = serializers.ChoiceField(choices=DeclaredTie.Kind.choices)
    person_name = _text(100, default="")
    ended_on = serializers.DateField(allow_null=True, default=None)
    description = serializers.CharField(allow_blank=True)
    declared_at = serializers.DateTimeField(read_only=True)


class ChecklistSerializer(serializers.Serializer):
    profile = serializers.BooleanField()
    qualifications = serializers.BooleanField()
    practitioners = serializers.BooleanField()
    shareholders = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField())
    complete = serializers.BooleanField()


class IntermediaryStatusSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = Intermediary
        fields = [
            "id",
            "status",
            "status_display",
            "listed_at",
            "review_due",
            "reviewed_at",
            "review_note",
            "commitment_signed_at",
            "commitment_signed_by",
            "commitment_version",
        ]


class OwnIntermediarySerializer(IntermediaryStatusSerializer):
    has_legal_representative_id = serializers.SerializerMethodField()
    qualifications = QualificationSerializer(many=True)
    practitioners = OwnPractitionerSerializer(many=True)
    shareholders = ShareholderSerializer(many=True)
    declared_ties = TieSerializer(many=True)
    checklist = serializers.SerializerMethodField()

    class Meta(IntermediaryStatusSerializer.Meta):
        fields = [
            *IntermediaryStatusSerializer.Meta.fields,
            "name",
            "uscc",
            "is_sole_proprietor",
            "legal_representative",
            "has_legal_representative_id",
            "address",
            "contact_name",
            "phone",
            "email",
            "website",
            "description",
            "rating_score",
            "qualifications",
            "practitioners",
            "shareholders",
            "declared_ties",
            "checklist",
        ]

    @extend_schema_field(serializers.BooleanField())
    def get_has_legal_representative_id(self, obj: Intermediary) -> bool:
        return bool(obj.legal_representative_id_hash)

    @extend_schema_field(ChecklistSerializer)
    def get_checklist(self, obj: Intermediary) -> dict:
        return ChecklistSerializer(onboarding_checklist(obj)).data


class OwnOfferSerializer(serializers.ModelSerializer):
    service_type = ServiceTypeRefSerializer()
    current_fee = FeeSerializer(allow_null=True)
    practitioners = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    qualifications = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Offer
        fields = [
            "id",
            "service_type",
            "description",
            "included",
            "service_days",
            "is_active",
            "practitioners",
            "qualifications",
            "current_fee",
            "created_at",
            "updated_at",
        ]


# --- output: operator review ------------------------------------------------------------------


class ReviewQueueEntrySerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display")
    qualification_count = serializers.IntegerField()
    practitioner_count = serializers.IntegerField()

    class Meta:
        model = Intermediary
        fields = [
            "id",
            "name",
            "uscc",
            "status",
            "status_display",
            "listed_at",
            "review_due",
            "commitment_signed_at",
            "qualification_count",
            "practitioner_count",
        ]


# --- input ------------------------------------------------------------------------------------


class ProfileInputSerializer(serializers.Serializer):
    name = _text(200)
    is_sole_proprietor = serializers.BooleanField(default=False)
    legal_representative = _text(100)
    legal_representative_id_number = _text(
        30, default="", help_text="Only a keyed hash is stored; leave empty to keep the one on file."
    )
    address = _text(200)
    contact_name = _text(100)
    phone = _text(40)
    email = serializers.EmailField(allow_blank=True, default="")
    website = serializers.URLField(allow_blank=True, default="")
    description = serializers.CharField(allow_blank=True, default="")


class QualificationInputSerializer(serializers.Serializer):
    qualification_type = serializers.SlugRelatedField(
        slug_field="code", queryset=QualificationType.objects.all()
    )
    level = serializers.PrimaryKeyRelatedField(
        queryset=QualificationLevel.objects.all(), allow_null=True, default=None
    )
    number = _text(80)
    authority = _text(200)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField()
    certificate = serializers.FileField(allow_null=True, default=None, help_text="PDF, PNG or JPEG.")


class PractitionerInputSerializer(serializers.Serializer):
    name = _text(100)
    id_number = _text(30, help_text="Resident ID number; only a keyed hash is stored.")
    title = _text(100)
    certificate_number = _text(80)
    certificate = serializers.FileField(allow_null=True, default=None, help_text="PDF, PNG or JPEG.")
    insured_since = serializers.DateField()
    social_insurance_proof = serializers.FileField(
        allow_null=True, default=None, help_text="PDF, PNG or JPEG."
    )


class CommitmentInputSerializer(serializers.Serializer):
    signer_name = _text(100)
    accept = serializers.BooleanField(default=False)


class FeeInputSerializer(serializers.Serializer):
    """Fields of ``services.FeeInput``."""

    basis = serializers.ChoiceField(choices=FeeSchedule.Basis.choices)
    rate = serializers.DecimalField(max_digits=18, decimal_places=4)
    unit = _text(40, default="")
    fee_min = serializers.DecimalField(max_digits=16, decimal_places=2)
    fee_max = serializers.DecimalField(max_digits=16, decimal_places=2)


class FeeChangeInputSerializer(FeeInputSerializer):
    note = _text(200, default="")


class _OfferLinksMixin(serializers.Serializer):
    """Practitioners and qualifications, resolved among the acting firm's own (``context["firm"]``)."""

    practitioners = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Practitioner.objects.none(), default=list
    )
    qualifications = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Qualification.objects.none(), default=list
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        firm = self.context.get("firm")
        if firm is not None:
            self.fields["practitioners"].child_relation.queryset = firm.practitioners.all()
            self.fields["qualifications"].child_relation.queryset = firm.qualifications.select_related(
                "qualification_type"
            )


class OfferCreateInputSerializer(_OfferLinksMixin):
    service_type = serializers.SlugRelatedField(slug_field="code", queryset=ServiceType.objects.all())
    description = serializers.CharField(allow_blank=True)
    included = serializers.CharField(allow_blank=True)
    service_days = serializers.IntegerField()
    fee = FeeInputSerializer()


class OfferUpdateInputSerializer(_OfferLinksMixin):
    description = serializers.CharField(allow_blank=True)
    included = serializers.CharField(allow_blank=True)
    service_days = serializers.IntegerField()
    is_active = serializers.BooleanField()


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.ALL)
    note = serializers.CharField(allow_blank=True, default="")


class ReviewQueueQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Intermediary.Status.choices, required=False)
