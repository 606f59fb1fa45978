from .selectors import memberships_for


def membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"active_membership": None, "all_memberships": []}
    return {
        "active_membership": request.membership,
        "all_memberships": memberships_for(user),
    }
