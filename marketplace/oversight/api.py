"""API for approval systems: they post which intermediary's report was filed with an approval
case (FA06 compares it with what was procured on the platform).

Thin: parse with a serializer, call ``intake.filed_report_receive`` (which checks that the actor
is an account of an approving department and is idempotent), render. A ``DomainError`` becomes a
400 with its message and ``NotAllowed`` a 403, through the project's exception handler.

Machine clients may use HTTP Basic authentication on this view (and only here), throttled like
the login page so that it cannot be used to guess passwords.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import BasicScheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.models import Membership, Role
from marketplace.accounts.services import login_failed, login_is_throttled, login_succeeded

from . import intake
from .models import FiledReport


class ThrottledBasicAuthentication(BasicAuthentication):
    """HTTP Basic authentication that counts failures with the login page's throttle: after
    repeated failures for a username or a client address, further attempts are refused."""

    def authenticate_credentials(self, userid, password, request=None):
        client_ip = request.META.get("REMOTE_ADDR", "") if request is not None else ""
        if login_is_throttled(username=userid, client_ip=client_ip):
            raise AuthenticationFailed(_("登录失败次数过多，请 15 分钟后再试。"))
        try:
            result = super().authenticate_credentials(userid, password, request)
        except AuthenticationFailed:
            login_failed(username=userid, client_ip=client_ip)
            raise
        login_succeeded(username=userid, client_ip=client_ip)
        return result


class ThrottledBasicScheme(BasicScheme):
    """Documents ``ThrottledBasicAuthentication`` in the OpenAPI schema as plain HTTP Basic."""

    target_class = ThrottledBasicAuthentication


class IsDepartmentAccount(permissions.BasePermission):
    """The user is a member of a department organisation. Checked on the user's memberships, not
    the session's active one (a Basic-authenticated request has no session); the service checks
    the rest (a catalogue department linked to that organisation)."""

    message = _("只有审批部门的系统账号可以报送备案的中介报告。")

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        return bool(
            user.is_authenticated and Membership.objects.filter(user=user, role=Role.DEPARTMENT).exists()
        )


class FiledReportInputSerializer(serializers.Serializer):
    approval_case_number = serializers.CharField(
        max_length=60, help_text="审批事项办件号 (the approval case number)."
    )
    service_type_code = serializers.CharField(max_length=60, help_text="Service type code of the catalogue.")
    # Checked by the service (checksum), so that a bad code gets its specific message.
    intermediary_uscc = serializers.CharField(
        max_length=40, help_text="Unified social credit code of the firm that wrote the report."
    )
    filed_on = serializers.DateField(
        help_text="The day the report was filed with the case (not in the future)."
    )
    investment_project_code = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="投资项目代码, where there is one.",
    )


class FiledReportSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = FiledReport
        fields = [
            "id",
            "department",
            "approval_case_number",
            "investment_project_code",
            "service_type_code",
            "intermediary_uscc",
            "filed_on",
            "received_at",
        ]
        read_only_fields = fields


class FiledReportCreateView(APIView):
    """An approval system reports an intermediary's report filed with an approval case.

    Idempotent: posting the same (case, service type, firm) again returns the stored record with
    200 instead of 201."""

    authentication_classes = [SessionAuthentication, ThrottledBasicAuthentication]
    permission_classes = [IsDepartmentAccount]

    @extend_schema(
        tags=["oversight"],
        operation_id="filed_report_create",
        summary="Report an intermediary's report filed with an approval case",
        request=FiledReportInputSerializer,
        responses={
            201: FiledReportSerializer,
            200: OpenApiResponse(FiledReportSerializer, description="Already reported: the stored record."),
            400: OpenApiResponse(
                description="Invalid input (USCC checksum, unknown service type, future date)."
            ),
            403: OpenApiResponse(description="Not authenticated, or not an approving department's account."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = FiledReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A record received during this call is new; an older one was already reported. (Counting
        # rows before and after would misreport when another approval system posts meanwhile.)
        started = timezone.now()
        report = intake.filed_report_receive(actor=request.user, **serializer.validated_data)
        created = report.received_at >= started
        return Response(
            FiledReportSerializer(report).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
