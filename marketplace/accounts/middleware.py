from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject

from .selectors import memberships_for, user_requires_2fa

SESSION_KEY = "active_membership_id"


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
    """``request.membership``: the organisation and role the user is acting for right now."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _active_membership(request))
        return self.get_response(request)


# Paths a regulator or operator may reach before completing two-factor authentication.
_2FA_EXEMPT = ("/accounts/2fa/", "/accounts/logout/", "/static/", "/i18n/", "/favicon")


class StaffTwoFactorMiddleware:
    """Regulators and operators must set up and pass TOTP before using the site while logged in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_2FA_EXEMPT)
            and not user.is_verified()
            and user_requires_2fa(user)
        ):
            from django_otp import devices_for_user

            has_device = any(True for _ in devices_for_user(user, confirmed=True))
            target = "accounts:2fa-verify" if has_device else "accounts:2fa-setup"
            if request.path.startswith("/api/"):
                from django.http import JsonResponse

                return JsonResponse(
                    {"detail": "Two-factor authentication required.", "code": "2fa_required"},
                    status=403,
                )
            return redirect(target)
        return self.get_response(request)
