"""API permissions by the role of the active membership (shared by every app's API)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.request import Request


class ActiveRole(permissions.BasePermission):
    """The active membership (``request.membership``) has one of ``roles``. Anonymous users get
    403: session authentication sends no WWW-Authenticate challenge, so DRF cannot answer 401."""

    roles: tuple[str, ...] = ()
    message = _("当前身份无权进行此操作。请切换到相应机构身份。")

    def has_permission(self, request: Request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        return getattr(getattr(request, "membership", None), "role", None) in self.roles
