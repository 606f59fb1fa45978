"""Only operators with a verified second factor reach the Wagtail admin (``/cms-admin/``).

Wagtail's own checks (the ``access_admin`` permission and page permissions from the editor
groups) still apply after this one: this gate keeps every other role out even if someone put
their account in an editor group, and refuses staff who have not passed 2FA. The site's
``StaffTwoFactorMiddleware`` runs first and sends unverified operators to the 2FA step.
"""

from django.core.exceptions import PermissionDenied

from marketplace.core.admin import is_operator

ADMIN_PREFIX = "/cms-admin/"
# Wagtail's admin runs a few inline scripts and previews pages in a same-origin frame; it still
# loads nothing from another origin (WAGTAIL_GRAVATAR_PROVIDER_URL is off).
ADMIN_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class EditorAdminAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ADMIN_PREFIX) and request.user.is_authenticated:
            if not (is_operator(request.user) and request.user.is_verified()):
                raise PermissionDenied
        response = self.get_response(request)
        if request.path.startswith(ADMIN_PREFIX):
            response["Content-Security-Policy"] = ADMIN_CSP
            response["X-Frame-Options"] = "SAMEORIGIN"
        return response
