import base64
from io import BytesIO

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from marketplace.core.views import call_service

from . import services
from .decorators import role_required
from .forms import OwnerSignupForm, StaffAccountForm, ThrottledLoginForm, TokenForm
from .middleware import NO_DEVICE_SESSION_KEY, SESSION_KEY
from .models import Role
from .selectors import memberships_for, user_requires_2fa


class LoginView(auth_views.LoginView):
    form_class = ThrottledLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if not user_requires_2fa(user) and not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            self.request.session[NO_DEVICE_SESSION_KEY] = user.pk
        return response


def signup(request):
    """Choose: intermediary (入驻) or project owner; owners register here."""
    if request.user.is_authenticated:
        return redirect("accounts:dashboard")
    form = OwnerSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        membership = call_service(
            form,
            services.user_signup,
            username=data["username"],
            email=data["email"],
            password=data["password"],
            full_name=data["full_name"],
            phone=data["phone"],
            role=Role.OWNER,
            organisation_name=data["organisation_name"],
            uscc=data["uscc"],
        )
        if membership is not None:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功。"))
            return redirect("accounts:dashboard")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def dashboard(request):
    from django.utils import timezone

    from marketplace.core.workdays import year_is_known

    membership = request.membership
    context = {
        "memberships": memberships_for(request.user),
        "membership": membership,
        "calendar_warning": membership is not None
        and membership.is_staff_role
        and not year_is_known(timezone.localdate().year + (1 if timezone.localdate().month == 12 else 0)),
    }
    return render(request, "accounts/dashboard.html", context)


@require_POST
@login_required
def switch(request):
    try:
        wanted = int(request.POST.get("membership_id", ""))
    except ValueError:
        return HttpResponseBadRequest(_("无效的机构身份。"))
    if not memberships_for(request.user).filter(pk=wanted).exists():
        return HttpResponseBadRequest(_("无效的机构身份。"))
    request.session[SESSION_KEY] = wanted
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse_lazy("accounts:dashboard")
    return redirect(next_url)


def _qr_data_uri(url: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def twofactor_setup(request):
    """Set up a TOTP device (regulators and operators must; others may)."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("accounts:2fa-verify" if not request.user.is_verified() else "accounts:dashboard")
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=request.user, name="totp", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session.pop(NO_DEVICE_SESSION_KEY, None)
            messages.success(request, _("双因素认证已启用。"))
            return redirect("accounts:dashboard")
        form.add_error("token", _("验证码不正确或已过期。"))
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/2fa_setup.html",
        {
            "form": form,
            "qr": _qr_data_uri(device.config_url),
            "secret": secret,
            "required": user_requires_2fa(request.user),
        },
    )


@login_required
def twofactor_verify(request):
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect("accounts:2fa-setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                next_url = request.GET.get("next", "")
                if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
                    next_url = "accounts:dashboard"
                return redirect(next_url)
        form.add_error("token", _("验证码不正确或已过期。"))
    return render(request, "accounts/2fa_verify.html", {"form": form})


@role_required(Role.OPERATOR)
def staff_create(request):
    form = StaffAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def create():
            with transaction.atomic():
                organisation = data["organisation"] or services.organisation_create(
                    actor=request.user, kind=data["new_kind"], name=data["new_name"]
                )
                return services.staff_account_create(
                    actor=request.user,
                    organisation=organisation,
                    username=data["username"],
                    email=data["email"],
                    full_name=data["full_name"],
                    is_manager=data["is_manager"],
                )

        membership = call_service(form, create)
        if membership is not None:
            services.staff_invite_send(
                user=membership.user, domain=request.get_host(), use_https=request.is_secure()
            )
            messages.success(
                request,
                _("账号 %(user)s 已创建，设置密码的邮件已发送至 %(email)s。")
                % {"user": membership.user.username, "email": membership.user.email},
            )
            return redirect("accounts:staff-create")
    return render(request, "accounts/staff_create.html", {"form": form}, status=400 if form.errors else 200)
