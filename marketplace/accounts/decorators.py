from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def role_required(*roles):
    """The active membership must have one of ``roles`` (else 403); anonymous users log in first."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = request.membership
            if membership is None or membership.role not in roles:
                raise PermissionDenied(_("当前身份无权访问此页面。请切换到相应机构身份。"))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
