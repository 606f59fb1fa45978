"""Only operators with a verified second factor reach the Wagtail admin (``/cms-admin/``).

Wagtail's own checks (the ``access_admin`` permission and page permissions from the editor
groups) still apply after this one: this gate keeps every other role out even if someone put
their account in an editor group, and refuses staff who have not passed 2FA. The site's
``StaffTwoFactorMiddleware`` runs first and sends unverified operators to the 2FA step.
"""

from django.core.exceptions import PermissionDenied

from marketplace.core.admin import is_operator

ADMIN_PREFIX = "/cms-admin/"


class EditorAdminAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ADMIN_PREFIX) and request.user.is_authenticated:
            if not (is_operator(request.user) and request.user.is_verified()):
                raise PermissionDenied
        return self.get_response(request)
