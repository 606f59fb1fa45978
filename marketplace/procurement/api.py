"""API for procurement: public announcements, results and draw records; the owners' projects
from posting to rating; the firms' applications, contracts and deliveries; the operator's check
and the regulator's rating disputes.

Thin like the pages: parse with a serializer, call a selector or a service, render. Visibility
(``get_project_for``: 404 when not visible, 403 when not writable) and every business rule are
the selectors' and services' (a ``DomainError`` becomes a 400 with its message, ``NotAllowed`` a
403, through the project's exception handler). The permission classes here only check the role
of the active membership, as ``role_required`` does for the pages; owner actions also require
the project to belong to the active organisation, and a firm acts only for the firm of its
active membership.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from marketplace.accounts.api import ActiveRole
from marketplace.accounts.models import Role
from marketplace.core.errors import NotAllowed
from marketplace.core.parsers import FormParser, MultiPartParser
from marketplace.providers.models import Intermediary
from marketplace.providers.selectors import intermediary_for_membership

from . import selectors, services
from .models import Application, Method, Notification, Project, Rating, Status
from .serializers import (
    AmendInputSerializer,
    AmendmentSerializer,
    ApplyInputSerializer,
    CheckInputSerializer,
    ContractInputSerializer,
    ContractSerializer,
    DeliveryDecisionInputSerializer,
    DeliveryInputSerializer,
    DeliverySerializer,
    DisputeDecisionInputSerializer,
    DrawRecordSerializer,
    NotificationSerializer,
    ObjectionAnswerInputSerializer,
    ObjectionInputSerializer,
    ObjectionSerializer,
    OpportunitySerializer,
    OwnApplicationSerializer,
    PickInputSerializer,
    ProjectDetail,
    ProjectDetailSerializer,
    ProjectInputSerializer,
    ProjectListSerializer,
    RatingInputSerializer,
    RatingSerializer,
    ReasonInputSerializer,
    RelaunchInputSerializer,
    ScoresInputSerializer,
    ScoresRecordedSerializer,
    SelectionSerializer,
    WalkAwaySerializer,
)
from .verify import draw_record, verify_selection


def _parse(serializer_class, data, **kwargs) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- permissions ------------------------------------------------------------------------------


class ActsAsOwner(ActiveRole):
    roles = (Role.OWNER,)


class ActsForIntermediary(ActiveRole):
    roles = (Role.INTERMEDIARY,)


class ActsAsParty(ActiveRole):
    """Either side of a contract; the service decides which side (if any) the user is on."""

    roles = (Role.OWNER, Role.INTERMEDIARY)


class ActsAsOperator(ActiveRole):
    roles = (Role.OPERATOR,)


class ActsAsRegulator(ActiveRole):
    roles = (Role.REGULATOR,)


class ActsForOrganisation(ActiveRole):
    roles = tuple(Role.values)


# --- shared helpers ---------------------------------------------------------------------------


class _ProjectMixin:
    request: Request

    def project(self, pk: int, *, write: bool = False) -> Project:
        """The project if visible (else 404); with ``write``, only the active owner's (else 403)."""
        project = selectors.get_project_for(self.request.user, pk, write=write)
        # get_project_for accepts any owner membership of the user: hold the API to the active one.
        if write and project.owner_id != self.request.membership.organisation_id:
            raise NotAllowed
        return project

    def detail(self, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
        detail = selectors.project_detail(self.request.user, pk)
        return Response(ProjectDetailSerializer(ProjectDetail(detail)).data, status=status_code)

    def acting_firm(self) -> Intermediary:
        if not hasattr(self, "_acting_firm"):
            self._acting_firm = intermediary_for_membership(self.request.membership)
        if self._acting_firm is None:
            raise NotFound(_("当前机构尚未登记为中介机构。"))
        return self._acting_firm


def _project_input(values: dict[str, Any]) -> services.ProjectInput:
    values = dict(values)
    requirements = [(r["qualification_type"], r["min_level"]) for r in values.pop("requirements", [])]
    exclusions = [(e["uscc"], e["reason"]) for e in values.pop("exclusions", [])]
    return services.ProjectInput(**values, requirements=requirements, exclusions=exclusions)


def _project_values(project: Project) -> dict[str, Any]:
    """The project as ``ProjectInputSerializer`` would parse it: a PATCH fills what it omits."""
    names = [
        "title",
        "service_type",
        "investment_project_code",
        "approval_case_number",
        "approval_item",
        "funding_source",
        "scale",
        "price_floor",
        "price_ceiling",
        "service_content",
        "service_days",
        "required_practitioners",
        "qualification_rule",
        "method",
        "method_reason",
        "price_weight",
        "registration_deadline",
        "selection_time",
    ]
    values = {name: getattr(project, name) for name in names}
    values["requirements"] = [
        {"qualification_type": r.qualification_type, "min_level": r.min_level}
        for r in project.requirements.select_related("qualification_type", "min_level")
    ]
    values["exclusions"] = [
        {"uscc": e.intermediary, "reason": e.reason}
        for e in project.exclusions.select_related("intermediary")
    ]
    return values


# --- public announcements and the owner's posting ---------------------------------------------

ANNOUNCEMENT_PARAMETERS = [
    OpenApiParameter(
        "q", str, description="Title (contains) or exact public number; at most 100 characters."
    ),
    OpenApiParameter("service_type", str, description="Service type code."),
    OpenApiParameter("department", str, description="Approving department code."),
    OpenApiParameter("method", str, enum=Method.values, description="Selection method."),
    OpenApiParameter("funding_source", str, enum=["fiscal", "private"], description="Funding source."),
    OpenApiParameter("status", str, enum=Status.values, description="Project status."),
    OpenApiParameter("published_from", OpenApiTypes.DATE, description="Published on or after."),
    OpenApiParameter("published_to", OpenApiTypes.DATE, description="Published on or before."),
]


class ProjectListView(_ProjectMixin, generics.ListAPIView):
    """采购公告: published projects, newest first; an owner POSTs a new project (a draft)."""

    serializer_class = ProjectListSerializer

    def get_permissions(self):
        if self.request.method == "POST":
            return [ActsAsOwner()]
        return [permissions.AllowAny()]

    def get_queryset(self):
        filterset, queryset = selectors.announcements(self.request.query_params)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return queryset

    @extend_schema(tags=["projects"], parameters=ANNOUNCEMENT_PARAMETERS)
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["owner"], request=ProjectInputSerializer, responses={201: ProjectDetailSerializer})
    def post(self, request: Request) -> Response:
        data = _parse(ProjectInputSerializer, request.data)
        project = services.project_create(
            actor=request.user, data=_project_input(data), owner=request.membership.organisation
        )
        return self.detail(project.pk, status_code=status.HTTP_201_CREATED)


class ProjectDetailView(_ProjectMixin, generics.GenericAPIView):
    """A project with its requirements, exclusions and record. Applicants and quotes appear only
    once registration has closed. The owner may PATCH a draft or a returned project."""

    serializer_class = ProjectDetailSerializer

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [ActsAsOwner()]
        return [permissions.AllowAny()]

    @extend_schema(tags=["projects"])
    def get(self, request: Request, pk: int) -> Response:
        return self.detail(pk)

    @extend_schema(tags=["owner"], request=ProjectInputSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        project = self.project(pk, write=True)
        data = _parse(ProjectInputSerializer, request.data, partial=True)
        values = _project_values(project)
        values.update(data)
        services.project_update(actor=request.user, project=project, data=_project_input(values))
        return self.detail(pk)


@extend_schema(tags=["projects"])
class ProjectDrawView(_ProjectMixin, generics.GenericAPIView):
    """The published record of every selection round, with its recomputation (404 before any)."""

    queryset = Project.objects.none()  # names the path's id for the schema; never read
    serializer_class = DrawRecordSerializer
    pagination_class = None

    @extend_schema(responses=DrawRecordSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        selections = selectors.selection_record(project)
        if not selections:
            raise NotFound(_("该项目尚未进行选取。"))
        records = []
        for selection in selections:
            check = verify_selection(selection)
            records.append(
                {
                    **draw_record(selection),
                    "verification": {
                        "commitment_ok": check.commitment_ok,
                        "recomputed_winner": check.recomputed_winner,
                        "ok": check.ok,
                    },
                }
            )
        return Response(DrawRecordSerializer(records, many=True).data)


# --- the owner's steps ------------------------------------------------------------------------


@extend_schema(tags=["owner"])
class OwnerProjectListView(_ProjectMixin, generics.ListAPIView):
    """The active owner's projects, drafts included, newest first."""

    permission_classes = [ActsAsOwner]
    serializer_class = ProjectListSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        # owner_projects joins only the service type; the list also renders owner and department.
        return selectors.owner_projects(self.request.membership.organisation_id).select_related(
            "owner", "department"
        )


@extend_schema(tags=["owner"])
class ProjectSubmitView(_ProjectMixin, generics.GenericAPIView):
    """Submit a draft (or a returned project) for the operator's check."""

    permission_classes = [ActsAsOwner]
    serializer_class = ProjectDetailSerializer

    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        services.project_submit(actor=request.user, project=self.project(pk, write=True))
        return self.detail(pk)


@extend_schema(tags=["owner"])
class ProjectCancelView(_ProjectMixin, generics.GenericAPIView):
    """Cancel a project before the registration deadline, with a reason."""

    permission_classes = [ActsAsOwner]
    serializer_class = ProjectDetailSerializer

    @extend_schema(request=ReasonInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk, write=True)
        data = _parse(ReasonInputSerializer, request.data)
        services.project_cancel(actor=request.user, project=project, **data)
        return self.detail(pk)


@extend_schema(tags=["owner"])
class ProjectRelaunchView(_ProjectMixin, generics.GenericAPIView):
    """Post a failed project again as a new draft, with new dates (and a new method if allowed)."""

    permission_classes = [ActsAsOwner]
    serializer_class = ProjectDetailSerializer

    @extend_schema(request=RelaunchInputSerializer, responses={201: ProjectDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk, write=True)
        data = _parse(RelaunchInputSerializer, request.data)
        new = services.project_relaunch(actor=request.user, project=project, **data)
        return self.detail(new.pk, status_code=status.HTTP_201_CREATED)


@extend_schema(tags=["owner"])
class ProjectPickView(_ProjectMixin, generics.GenericAPIView):
    """The owner's choice (direct selection or credit preference's short list), with a reason."""

    permission_classes = [ActsAsOwner]
    serializer_class = SelectionSerializer

    @extend_schema(request=PickInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk, write=True)
        data = _parse(PickInputSerializer, request.data, project=project)
        selection = services.selection_pick(actor=request.user, project=project, **data)
        return Response(SelectionSerializer(selection).data)


@extend_schema(tags=["owner"])
class ProjectScoresView(_ProjectMixin, generics.GenericAPIView):
    """Named evaluators' proposal scores (0-100) for a scored comparison, before it runs."""

    permission_classes = [ActsAsOwner]
    serializer_class = ScoresRecordedSerializer

    @extend_schema(request=ScoresInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk, write=True)
        data = _parse(ScoresInputSerializer, request.data, project=project)
        rows = [(s["application"], s["evaluator"], s["score"]) for s in data["scores"]]
        recorded = services.scores_record(actor=request.user, project=project, scores=rows)
        return Response(ScoresRecordedSerializer({"recorded": recorded}).data)


@extend_schema(tags=["owner"])
class ObjectionAnswerView(_ProjectMixin, generics.GenericAPIView):
    """The owner answers an objection; upheld, the winner is disqualified and selection reruns."""

    permission_classes = [ActsAsOwner]
    serializer_class = ObjectionSerializer

    @extend_schema(request=ObjectionAnswerInputSerializer)
    def post(self, request: Request, pk: int, oid: int) -> Response:
        project = self.project(pk, write=True)
        objection = project.objections.select_related("application__intermediary").filter(pk=oid).first()
        if objection is None:
            raise NotFound
        data = _parse(ObjectionAnswerInputSerializer, request.data)
        objection = services.objection_answer(actor=request.user, objection=objection, **data)
        return Response(ObjectionSerializer(objection).data)


@extend_schema(tags=["owner"])
class ContractAmendView(_ProjectMixin, generics.GenericAPIView):
    """A change of the contract amount, with a reason; every amendment is public."""

    permission_classes = [ActsAsOwner]
    serializer_class = AmendmentSerializer

    @extend_schema(request=AmendInputSerializer, responses={201: AmendmentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk, write=True)
        data = _parse(AmendInputSerializer, request.data)
        amendment = services.contract_amend(actor=request.user, project=project, **data)
        return Response(AmendmentSerializer(amendment).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["owner"])
class DeliveryDecideView(_ProjectMixin, generics.GenericAPIView):
    """Accept the delivered result, or return it with reasons."""

    permission_classes = [ActsAsOwner]
    serializer_class = DeliverySerializer

    @extend_schema(request=DeliveryDecisionInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk, write=True)
        data = _parse(DeliveryDecisionInputSerializer, request.data)
        delivery = services.delivery_decide(actor=request.user, project=project, **data)
        return Response(DeliverySerializer(delivery).data)


# --- both sides of the contract ---------------------------------------------------------------


@extend_schema(tags=["contract"])
class ContractUploadView(_ProjectMixin, generics.GenericAPIView):
    """The owner or the winner uploads the signed contract (multipart); the other side confirms.
    Its amount is the winning quote."""

    permission_classes = [ActsAsParty]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = ContractSerializer

    @extend_schema(request=ContractInputSerializer, responses={201: ContractSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        data = _parse(ContractInputSerializer, request.data)
        contract = services.contract_upload(actor=request.user, project=project, **data)
        return Response(ContractSerializer(contract).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["contract"])
class ContractConfirmView(_ProjectMixin, generics.GenericAPIView):
    """The side that did not upload the contract confirms it; the service period starts."""

    permission_classes = [ActsAsParty]
    serializer_class = ContractSerializer

    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        contract = services.contract_confirm(actor=request.user, project=self.project(pk))
        return Response(ContractSerializer(contract).data)


@extend_schema(tags=["contract"])
class RatingSubmitView(_ProjectMixin, generics.GenericAPIView):
    """好差评 after acceptance: the owner rates the firm, the firm rates the owner, once each."""

    permission_classes = [ActsAsParty]
    serializer_class = RatingSerializer

    @extend_schema(request=RatingInputSerializer, responses={201: RatingSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        data = _parse(RatingInputSerializer, request.data)
        rating = services.rating_submit(actor=request.user, project=project, **data)
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["contract"])
class RatingDisputeView(generics.GenericAPIView):
    """The rated side disputes a rating once, with a reason, for a regulator to decide."""

    permission_classes = [ActsAsParty]
    serializer_class = RatingSerializer

    @extend_schema(request=ReasonInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        rating = _rating(request, pk)
        data = _parse(ReasonInputSerializer, request.data)
        rating = services.rating_dispute(actor=request.user, rating=rating, **data)
        return Response(RatingSerializer(rating).data)


def _rating(request: Request, pk: int) -> Rating:
    rating = (
        Rating.objects.filter(pk=pk, project__in=selectors.visible_projects(request.user))
        .select_related("project")
        .first()
    )
    if rating is None:
        raise NotFound
    return rating


# --- the acting firm --------------------------------------------------------------------------


@extend_schema(tags=["firm"])
class OpportunityListView(_ProjectMixin, generics.ListAPIView):
    """Projects open for registration in the service types the acting firm offers, each with
    the reasons (if any) why the firm may not apply."""

    permission_classes = [ActsForIntermediary]
    serializer_class = OpportunitySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        # open_projects_for joins service type and owner; the list also renders the department.
        return selectors.open_projects_for(self.acting_firm()).select_related("department")

    def list(self, request: Request, *args, **kwargs) -> Response:
        firm = self.acting_firm()
        page = self.paginate_queryset(self.get_queryset())
        # check_eligibility reads per project (a few queries each): bounded by the page size.
        reasons = {project.pk: services.check_eligibility(project, firm) for project in page}
        applied = set(
            selectors.firm_applications(firm)
            .filter(project__in=[p.pk for p in page])
            .exclude(state=Application.State.WITHDRAWN)
            .values_list("project_id", flat=True)
        )
        context = {**self.get_serializer_context(), "reasons": reasons, "applied": applied}
        serializer = self.get_serializer(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)


@extend_schema(tags=["firm"])
class FirmApplicationListView(_ProjectMixin, generics.ListAPIView):
    """The acting firm's applications. Its own quotes read 已密封 until registration closes."""

    permission_classes = [ActsForIntermediary]
    serializer_class = OwnApplicationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        return selectors.firm_applications(self.acting_firm())


@extend_schema(tags=["firm"])
class ApplyView(_ProjectMixin, generics.GenericAPIView):
    """报名 with a sealed quote inside the project's floor and ceiling."""

    permission_classes = [ActsForIntermediary]
    serializer_class = OwnApplicationSerializer

    @extend_schema(request=ApplyInputSerializer, responses={201: OwnApplicationSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        firm = self.acting_firm()
        data = _parse(ApplyInputSerializer, request.data)
        application = services.application_submit(
            actor=request.user, project=project, firm=firm, client_ip=request.META.get("REMOTE_ADDR"), **data
        )
        return Response(OwnApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["firm"])
class WithdrawView(_ProjectMixin, generics.GenericAPIView):
    """Withdraw the acting firm's application before the registration deadline."""

    permission_classes = [ActsForIntermediary]
    serializer_class = OwnApplicationSerializer

    @extend_schema(request=None)
    def post(self, request: Request, pk: int) -> Response:
        application = selectors.firm_applications(self.acting_firm()).filter(pk=pk).first()
        if application is None:
            raise NotFound
        application = services.application_withdraw(actor=request.user, application=application)
        return Response(OwnApplicationSerializer(application).data)


@extend_schema(tags=["firm"])
class ObjectView(_ProjectMixin, generics.GenericAPIView):
    """异议: an applicant objects to the result during its publicity."""

    permission_classes = [ActsForIntermediary]
    serializer_class = ObjectionSerializer

    @extend_schema(request=ObjectionInputSerializer, responses={201: ObjectionSerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        data = _parse(ObjectionInputSerializer, request.data)
        objection = services.objection_file(actor=request.user, project=project, **data)
        return Response(ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["firm"])
class DeclineView(_ProjectMixin, generics.GenericAPIView):
    """The winner walks away, with a reason (a credit violation; the round fails)."""

    permission_classes = [ActsForIntermediary]
    serializer_class = WalkAwaySerializer

    @extend_schema(request=ReasonInputSerializer, responses={201: WalkAwaySerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        data = _parse(ReasonInputSerializer, request.data)
        walkaway = services.winner_decline(actor=request.user, project=project, **data)
        return Response(WalkAwaySerializer(walkaway).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["firm"])
class DeliverView(_ProjectMixin, generics.GenericAPIView):
    """The winner uploads its result (multipart) for the owner's acceptance."""

    permission_classes = [ActsForIntermediary]
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DeliverySerializer

    @extend_schema(request=DeliveryInputSerializer, responses={201: DeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        data = _parse(DeliveryInputSerializer, request.data)
        delivery = services.delivery_submit(actor=request.user, project=project, **data)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)


# --- operator and regulator -------------------------------------------------------------------


@extend_schema(tags=["check"])
class CheckQueueView(generics.ListAPIView):
    """Projects awaiting the operator's check, oldest first."""

    permission_classes = [ActsAsOperator]
    serializer_class = ProjectListSerializer

    def get_queryset(self):
        # check_queue joins owner and service type; the list also renders the department.
        return selectors.check_queue().select_related("department")


@extend_schema(tags=["check"])
class ProjectCheckView(_ProjectMixin, generics.GenericAPIView):
    """The operator publishes a project (committing to its draw secret) or returns it with reasons."""

    permission_classes = [ActsAsOperator]
    serializer_class = ProjectDetailSerializer

    @extend_schema(request=CheckInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        project = self.project(pk)
        data = _parse(CheckInputSerializer, request.data)
        services.project_check(actor=request.user, project=project, **data)
        return self.detail(pk)


@extend_schema(tags=["check"])
class RatingDisputeDecideView(generics.GenericAPIView):
    """A regulator decides a rating dispute; an upheld one no longer counts."""

    permission_classes = [ActsAsRegulator]
    serializer_class = RatingSerializer

    @extend_schema(request=DisputeDecisionInputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        rating = _rating(request, pk)
        data = _parse(DisputeDecisionInputSerializer, request.data)
        rating = services.rating_dispute_decide(actor=request.user, rating=rating, **data)
        return Response(RatingSerializer(rating).data)


# --- notifications ----------------------------------------------------------------------------


@extend_schema(tags=["notifications"])
class NotificationListView(generics.ListAPIView):
    """The active organisation's latest notifications (at most 50), newest first."""

    permission_classes = [ActsForOrganisation]
    serializer_class = NotificationSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notifications_for(self.request.membership.organisation_id)
