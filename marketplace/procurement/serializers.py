"""Parsers and renderers for the procurement API. Every write goes through ``services``.

Input serializers only convert types and resolve references (codes, USCCs, ids); the business
rules and their user-facing messages are the services'. Text fields therefore accept blanks, so
that a missing reason gets the service's message ("取消项目须说明理由。") rather than a generic one.

Sealed quotes: no output here reads ``Application.quote_amount`` directly. The amount, the list
of applicants and even their number are rendered only once ``applicants_disclosed`` says
registration has closed, whoever asks (the operator, the owner and the firm itself included).

Status-like fields (project ``status``, application ``state``, ...) are plain strings with a
``*_display`` label: an enum named ``status`` already documents the intermediaries' states, and
one field name with two choice sets would make drf-spectacular rename both.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.accounts.models import Organisation
from marketplace.catalog.models import ApprovalItem, QualificationLevel, QualificationType, ServiceType
from marketplace.catalog.serializers import (
    ApprovalItemRefSerializer,
    DepartmentRefSerializer,
    QualificationLevelSerializer,
    QualificationTypeRefSerializer,
    ServiceTypeRefSerializer,
)
from marketplace.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from marketplace.providers.models import Intermediary

from .models import (
    Amendment,
    Application,
    Contract,
    Delivery,
    Exclusion,
    FundingSource,
    Method,
    Notification,
    Objection,
    Project,
    Rating,
    Requirement,
    Selection,
    Status,
    WalkAway,
)
from .selectors import applicants_disclosed

SEALED = _("已密封")
QUALIFICATION_RULES = [("any", _("具备其一即可")), ("all", _("须全部具备"))]


def _text(max_length: int | None = None, **kwargs) -> serializers.CharField:
    if max_length is not None:
        kwargs["max_length"] = max_length
    return serializers.CharField(allow_blank=True, **kwargs)


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs
    )


def _state(help_text: str) -> serializers.CharField:
    return serializers.CharField(read_only=True, help_text=help_text)


# --- output: references -----------------------------------------------------------------------


class OrganisationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "name"]


class FirmRefSerializer(serializers.ModelSerializer):
    """An intermediary as the public record names it (the USCC keys the draw record)."""

    class Meta:
        model = Intermediary
        fields = ["id", "name", "uscc"]


class ProjectRefSerializer(serializers.ModelSerializer):
    status = _state("Project status code; see ``status_display``.")
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Project
        fields = ["id", "public_number", "title", "status", "status_display", "registration_deadline"]


# --- output: projects -------------------------------------------------------------------------


class ProjectListSerializer(serializers.ModelSerializer):
    """One announcement. ``application_count`` stays null until registration has closed."""

    owner = OrganisationRefSerializer()
    service_type = ServiceTypeRefSerializer()
    department = DepartmentRefSerializer(allow_null=True)
    funding_source_display = serializers.CharField(source="get_funding_source_display")
    method_display = serializers.CharField(source="get_method_display")
    status = _state(", ".join(Status.values))
    status_display = serializers.CharField(source="get_status_display")
    application_count = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "public_number",
            "title",
            "owner",
            "service_type",
            "department",
            "funding_source",
            "funding_source_display",
            "scale",
            "price_floor",
            "price_ceiling",
            "method",
            "method_display",
            "status",
            "status_display",
            "published_at",
            "registration_deadline",
            "selection_time",
            "application_count",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_application_count(self, obj: Project) -> int | None:
        # How many firms applied is itself sealed until the deadline (no one may size up the field).
        if not applicants_disclosed(obj):
            return None
        return getattr(obj, "application_count", None)


class OpportunitySerializer(ProjectListSerializer):
    """A project open for registration, with why the acting firm may not apply (if it may not)."""

    eligible = serializers.SerializerMethodField()
    ineligibility_reasons = serializers.SerializerMethodField()
    applied = serializers.SerializerMethodField()

    class Meta(ProjectListSerializer.Meta):
        fields = [*ProjectListSerializer.Meta.fields, "eligible", "ineligibility_reasons", "applied"]

    def _reasons(self, obj: Project) -> list[str]:
        return [str(r) for r in self.context["reasons"].get(obj.pk, [])]

    @extend_schema_field(serializers.BooleanField())
    def get_eligible(self, obj: Project) -> bool:
        return not self._reasons(obj)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_ineligibility_reasons(self, obj: Project) -> list[str]:
        return self._reasons(obj)

    @extend_schema_field(serializers.BooleanField(help_text="The acting firm has a live application."))
    def get_applied(self, obj: Project) -> bool:
        return obj.pk in self.context["applied"]


class RequirementSerializer(serializers.ModelSerializer):
    qualification_type = QualificationTypeRefSerializer()
    min_level = QualificationLevelSerializer(allow_null=True)

    class Meta:
        model = Requirement
        fields = ["qualification_type", "min_level"]


class ExclusionSerializer(serializers.ModelSerializer):
    intermediary = FirmRefSerializer()

    class Meta:
        model = Exclusion
        fields = ["intermediary", "reason"]


class ApplicantSerializer(serializers.Serializer):
    """A row of ``selectors.project_detail``: rendered only after registration has closed."""

    id = serializers.IntegerField(source="application.pk")
    firm = FirmRefSerializer()
    quote = _money(allow_null=True)
    state = serializers.CharField(source="application.state", help_text="valid or disqualified")
    state_display = serializers.CharField(source="state")
    disqualification_reason = serializers.CharField(source="application.disqualification_reason")


class SelectionSerializer(serializers.ModelSerializer):
    winner = FirmRefSerializer(source="winner.intermediary", allow_null=True)
    shortlist = serializers.SerializerMethodField()

    class Meta:
        model = Selection
        fields = ["round", "method", "performed_at", "winner", "reason", "shortlist", "annulled"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_shortlist(self, obj: Selection) -> list[str]:
        """USCCs the owner may pick from (direct selection, credit preference)."""
        return list((obj.details or {}).get("shortlist") or [])


class AmendmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Amendment
        fields = ["id", "old_amount", "new_amount", "reason", "created_at"]


class ContractSerializer(serializers.ModelSerializer):
    """The public contract record; the signed document itself is not published here."""

    intermediary = FirmRefSerializer()
    amendments = AmendmentSerializer(many=True)

    class Meta:
        model = Contract
        fields = [
            "amount",
            "intermediary",
            "uploaded_at",
            "confirmed_at",
            "pay_after_acceptance",
            "amendments",
        ]


class ObjectionSerializer(serializers.ModelSerializer):
    firm = FirmRefSerializer(source="application.intermediary")
    outcome = _state("pending, rejected or upheld")
    outcome_display = serializers.CharField(source="get_outcome_display")

    class Meta:
        model = Objection
        fields = ["id", "firm", "text", "filed_at", "outcome", "outcome_display", "answer", "answered_at"]


class DeliverySerializer(serializers.ModelSerializer):
    decision = _state("pending, accepted or returned")
    decision_display = serializers.CharField(source="get_decision_display")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "note",
            "delivered_at",
            "decision",
            "decision_display",
            "decision_reason",
            "decided_at",
        ]


class RatingSerializer(serializers.ModelSerializer):
    direction = _state("owner_rates_firm or firm_rates_owner")
    direction_display = serializers.CharField(source="get_direction_display")
    scores = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        model = Rating
        fields = [
            "id",
            "direction",
            "direction_display",
            "scores",
            "overall",
            "comment",
            "amount",
            "created_at",
            "dispute_reason",
            "disputed_at",
            "dispute_outcome",
        ]


class WalkAwaySerializer(serializers.ModelSerializer):
    intermediary = FirmRefSerializer()

    class Meta:
        model = WalkAway
        fields = ["intermediary", "reason", "recorded_at"]


class ProjectLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "public_number"]


class ProjectDetail:
    """``selectors.project_detail`` read as one object: its keys first, then the project's
    attributes, so that the detail renders flat (the project's fields beside its records)."""

    def __init__(self, detail: dict[str, Any]):
        self._detail = detail

    def __getattr__(self, name: str) -> Any:
        detail = self.__dict__["_detail"]
        if name in detail:
            return detail[name]
        return getattr(detail["project"], name)


class ProjectDetailSerializer(ProjectListSerializer):
    """The public announcement and its record. ``applications`` is empty and ``quotes_open``
    false until registration has closed; then every applicant and quote is shown."""

    approval_item = ApprovalItemRefSerializer(allow_null=True)
    qualification_rule_display = serializers.CharField(source="get_qualification_rule_display")
    commitment = serializers.CharField(
        source="secret_commitment", help_text="SHA-256 of the draw secret, published with the project."
    )
    relaunch_of = ProjectLinkSerializer(allow_null=True)
    requirements = RequirementSerializer(many=True)
    exclusions = ExclusionSerializer(many=True)
    quotes_open = serializers.SerializerMethodField()
    applications = serializers.SerializerMethodField()
    selections = SelectionSerializer(many=True)
    result = SelectionSerializer(source="selection", allow_null=True)
    contract = ContractSerializer(allow_null=True)
    objections = ObjectionSerializer(many=True)
    deliveries = DeliverySerializer(many=True)
    ratings = RatingSerializer(many=True)
    relaunches = ProjectLinkSerializer(many=True)

    class Meta(ProjectListSerializer.Meta):
        fields = [
            *ProjectListSerializer.Meta.fields,
            "investment_project_code",
            "approval_case_number",
            "approval_item",
            "service_content",
            "service_days",
            "required_practitioners",
            "qualification_rule",
            "qualification_rule_display",
            "method_reason",
            "price_weight",
            "check_note",
            "commitment",
            "result_published_at",
            "publicity_ends_on",
            "contract_due",
            "delivery_due",
            "acceptance_due",
            "failure_reason",
            "relaunch_of",
            "requirements",
            "exclusions",
            "quotes_open",
            "applications",
            "selections",
            "result",
            "contract",
            "objections",
            "deliveries",
            "ratings",
            "relaunches",
        ]

    @extend_schema_field(serializers.BooleanField(help_text="Applicants and quotes are disclosed."))
    def get_quotes_open(self, obj: ProjectDetail) -> bool:
        return applicants_disclosed(obj.project)

    @extend_schema_field(ApplicantSerializer(many=True))
    def get_applications(self, obj: ProjectDetail) -> list[dict[str, Any]]:
        if not applicants_disclosed(obj.project):
            return []
        return ApplicantSerializer(obj.applications, many=True).data

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_application_count(self, obj: ProjectDetail) -> int | None:
        return len(obj.applications) if applicants_disclosed(obj.project) else None


# --- output: the acting firm's applications ---------------------------------------------------


class OwnApplicationSerializer(serializers.ModelSerializer):
    """The acting firm's application. Its own quote stays sealed until registration closes:
    the platform cannot decrypt it before, so it cannot show it even to the firm."""

    project = ProjectRefSerializer()
    state = _state("submitted, withdrawn, valid or disqualified")
    state_display = serializers.CharField(source="get_state_display")
    quote = serializers.SerializerMethodField()
    quote_display = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "project",
            "submitted_at",
            "state",
            "state_display",
            "disqualification_reason",
            "withdrawn_at",
            "proposal",
            "quote",
            "quote_display",
        ]

    def _quote(self, obj: Application):
        return obj.quote_amount if applicants_disclosed(obj.project) else None

    @extend_schema_field(_money(allow_null=True))
    def get_quote(self, obj: Application) -> str | None:
        amount = self._quote(obj)
        return None if amount is None else f"{amount:.2f}"

    @extend_schema_field(serializers.CharField(help_text="The amount, or 已密封 while sealed."))
    def get_quote_display(self, obj: Application) -> str:
        amount = self._quote(obj)
        return str(SEALED) if amount is None else f"{amount:.2f}"


# --- output: draw record ----------------------------------------------------------------------


class DrawCandidateSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The firm's USCC.")
    quote = serializers.CharField()
    credit = serializers.CharField(allow_null=True)
    proposal_score = serializers.CharField(allow_null=True)


class DrawParamsSerializer(serializers.Serializer):
    long_list = serializers.IntegerField()
    short_list = serializers.IntegerField()
    price_weight = serializers.IntegerField()


class DrawVerificationSerializer(serializers.Serializer):
    commitment_ok = serializers.BooleanField(
        help_text="SHA-256 of the revealed secret equals the commitment."
    )
    recomputed_winner = serializers.CharField(allow_null=True)
    ok = serializers.BooleanField(
        help_text="Recomputing from the published inputs gives the recorded result."
    )


class DrawRecordSerializer(serializers.Serializer):
    """``verify.draw_record`` of one round: every input needed to recompute it."""

    project = serializers.CharField(help_text="The project's public number.")
    round = serializers.IntegerField()
    method = serializers.ChoiceField(choices=Method.choices)
    commitment = serializers.CharField()
    secret = serializers.CharField()
    candidates = DrawCandidateSerializer(many=True)
    params = DrawParamsSerializer()
    details = serializers.DictField(help_text="Method-specific intermediate results.")
    winner = serializers.CharField(allow_null=True)
    annulled = serializers.BooleanField()
    verification = DrawVerificationSerializer()


# --- output: notifications --------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    project = ProjectLinkSerializer(allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "message", "project", "created_at", "read_at"]


# --- input ------------------------------------------------------------------------------------


class _WholeItem(serializers.Serializer):
    """An item of a list that replaces the whole list: complete even inside a PATCH (where DRF
    would otherwise skip its missing fields and their defaults)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {}
        for name, item_field in self.fields.items():
            if item_field.read_only or name in attrs:
                continue
            if item_field.required:
                errors[name] = [item_field.error_messages["required"]]
            else:
                default = item_field.default
                attrs[name] = default() if callable(default) else default
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RequirementInputSerializer(_WholeItem):
    qualification_type = serializers.SlugRelatedField(
        slug_field="code", queryset=QualificationType.objects.all()
    )
    min_level = serializers.PrimaryKeyRelatedField(
        queryset=QualificationLevel.objects.all(),
        allow_null=True,
        default=None,
        help_text="Qualification level id; null: any level.",
    )


class ExclusionInputSerializer(_WholeItem):
    uscc = serializers.SlugRelatedField(
        slug_field="uscc",
        queryset=Intermediary.objects.all(),
        help_text="The excluded firm's USCC.",
        error_messages={"does_not_exist": _("没有统一社会信用代码为“{value}”的中介机构。")},
    )
    reason = _text(default="")


class ProjectInputSerializer(serializers.Serializer):
    """A project as the owner posts it (采购公告). Requirements and exclusions replace the
    current ones when sent."""

    title = _text(200)
    service_type = serializers.SlugRelatedField(
        slug_field="code", queryset=ServiceType.objects.all(), help_text="Service type code."
    )
    investment_project_code = _text(40, default="")
    approval_case_number = _text(60, default="")
    approval_item = serializers.SlugRelatedField(
        slug_field="code",
        queryset=ApprovalItem.objects.all(),
        allow_null=True,
        default=None,
        help_text="Approval item code; sets the department.",
    )
    funding_source = serializers.ChoiceField(choices=FundingSource.choices)
    scale = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Investment, 10,000 yuan.")
    price_floor = _money()
    price_ceiling = _money()
    service_content = _text()
    service_days = serializers.IntegerField(help_text="Working days.")
    required_practitioners = serializers.IntegerField(default=0)
    qualification_rule = serializers.ChoiceField(choices=QUALIFICATION_RULES, default="any")
    method = serializers.ChoiceField(choices=Method.choices)
    method_reason = _text(default="")
    price_weight = serializers.IntegerField(
        default=0, help_text="Scored comparison: price weight, 10-90 (%)."
    )
    registration_deadline = serializers.DateTimeField()
    selection_time = serializers.DateTimeField()
    requirements = RequirementInputSerializer(many=True, default=list)
    exclusions = ExclusionInputSerializer(many=True, default=list)


class ReasonInputSerializer(serializers.Serializer):
    reason = _text(default="")


class RelaunchInputSerializer(serializers.Serializer):
    registration_deadline = serializers.DateTimeField()
    selection_time = serializers.DateTimeField()
    method = serializers.ChoiceField(
        choices=Method.choices, allow_null=True, default=None, help_text="Null: keep the method."
    )


class CheckInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    note = _text(default="")


class PickInputSerializer(serializers.Serializer):
    application = serializers.PrimaryKeyRelatedField(
        queryset=Application.objects.none(), help_text="An application id from the short list."
    )
    reason = _text(default="")

    def __init__(self, *args, project: Project | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            self.fields["application"].queryset = project.applications.select_related("intermediary")


class ScoreInputSerializer(serializers.Serializer):
    application = serializers.PrimaryKeyRelatedField(queryset=Application.objects.none())
    evaluator = _text(100)
    score = serializers.DecimalField(max_digits=5, decimal_places=2)


class ScoresInputSerializer(serializers.Serializer):
    scores = ScoreInputSerializer(many=True, allow_empty=False)

    def __init__(self, *args, project: Project | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            self.fields["scores"].child.fields["application"].queryset = project.applications.all()


class ScoresRecordedSerializer(serializers.Serializer):
    recorded = serializers.IntegerField()


class ObjectionInputSerializer(serializers.Serializer):
    text = _text(default="")


class ObjectionAnswerInputSerializer(serializers.Serializer):
    upheld = serializers.BooleanField()
    answer = _text(default="")


class ContractInputSerializer(serializers.Serializer):
    document = serializers.FileField(allow_null=True, default=None, help_text="The signed contract (PDF).")
    pay_after_acceptance = serializers.BooleanField(default=True)


class AmendInputSerializer(serializers.Serializer):
    new_amount = _money()
    reason = _text(default="")


class DeliveryInputSerializer(serializers.Serializer):
    document = serializers.FileField(allow_null=True, default=None, help_text="The delivered result (PDF).")
    note = _text(default="")


class DeliveryDecisionInputSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    reason = _text(default="")


class RatingInputSerializer(serializers.Serializer):
    scores = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="1-5 each. Owner: quality, timeliness, attitude, fee_compliance, conduct. "
        "Firm: payment_timeliness, non_interference.",
    )
    comment = _text(default="")


class ApplyInputSerializer(serializers.Serializer):
    quote = _money(help_text="Sealed until the registration deadline.")
    proposal = _text(default="")


class DisputeDecisionInputSerializer(serializers.Serializer):
    uphold = serializers.BooleanField()
