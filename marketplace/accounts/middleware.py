from django.shortcuts import redirect
from django_otp.plugins.otp_totp.models import TOTPDevice

from .selectors import memberships_for, user_requires_2fa

SESSION_KEY = "active_membership_id"
NO_DEVICE_SESSION_KEY = "no_otp_device"


def _active_membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = list(memberships_for(user))
    if not memberships:
        return None
    wanted = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.pk == wanted:
            return membership
    return memberships[0]


class ActiveMembershipMiddleware:
    """``request.membership``: the organisation and role the user is acting for right now, or
    None (anonymous, or no membership)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = _active_membership(request)
        return self.get_response(request)


# Paths a regulator or operator may reach before completing two-factor authentication.
_2FA_EXEMPT = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/i18n/", "/favicon")


class StaffTwoFactorMiddleware:
    """Regulators and operators must set up and pass TOTP before using the site while logged in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not request.path.startswith(_2FA_EXEMPT) and not user.is_verified():
            # Staff must use a second factor; anyone else who set one up is asked for it too.
            # "No device" is remembered for the session (devices are only added by the setup
            # page, which verifies the session at once), so ordinary users pay no query.
            if request.session.get(NO_DEVICE_SESSION_KEY) == user.pk:
                return self.get_response(request)
            has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
            if not has_device and not user_requires_2fa(user):
                request.session[NO_DEVICE_SESSION_KEY] = user.pk
                return self.get_response(request)
            target = "accounts:2fa-verify" if has_device else "accounts:2fa-setup"
            if request.path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse(
                    {"detail": "Two-factor authentication required.", "code": "2fa_required"},
                    status=403,
                )
            return redirect(target)
        return self.get_response(request)
