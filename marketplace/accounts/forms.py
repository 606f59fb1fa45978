from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.utils.translation import gettext_lazy as _

from marketplace.core.forms import BootstrapFormMixin, Form

from .models import Organisation, Role
from .services import login_failed, login_is_throttled, login_succeeded


class ThrottledLoginForm(BootstrapFormMixin, AuthenticationForm):
    """Refuses further attempts for a username or client address after repeated failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": _("登录失败次数过多，请 15 分钟后再试。"),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        client_ip = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if login_is_throttled(username=username, client_ip=client_ip):
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failed(username=username, client_ip=client_ip)
            raise
        login_succeeded(username=username, client_ip=client_ip)
        return cleaned


class OwnerSignupForm(Form):
    organisation_name = forms.CharField(label=_("单位名称"), max_length=200)
    uscc = forms.CharField(label=_("统一社会信用代码"), max_length=30, help_text=_("18位，含校验位"))
    full_name = forms.CharField(label=_("联系人姓名"), max_length=100)
    phone = forms.CharField(label=_("手机号"), max_length=20)
    email = forms.EmailField(label=_("电子邮箱"))
    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, strip=False)


class TokenForm(Form):
    token = forms.RegexField(
        label=_("动态验证码"),
        regex=r"^\d{6}$",
        error_messages={"invalid": _("请输入6位数字验证码。")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


STAFF_KINDS = [(r.value, r.label) for r in Role if r not in (Role.INTERMEDIARY, Role.OWNER)]


class StaffAccountForm(Form):
    organisation = forms.ModelChoiceField(
        label=_("现有机构"),
        queryset=Organisation.objects.filter(kind__in=[k for k, _ in STAFF_KINDS]),
        required=False,
        help_text=_("选择已有机构，或在下方新建。"),
    )
    new_kind = forms.ChoiceField(label=_("新机构类型"), choices=[("", "---")] + STAFF_KINDS, required=False)
    new_name = forms.CharField(label=_("新机构名称"), max_length=200, required=False)
    username = forms.CharField(label=_("用户名"), max_length=150)
    email = forms.EmailField(label=_("电子邮箱"), help_text=_("系统将发送设置密码的邮件。"))
    full_name = forms.CharField(label=_("姓名"), max_length=100)
    is_manager = forms.BooleanField(label=_("机构管理员"), required=False)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("organisation") and not (cleaned.get("new_kind") and cleaned.get("new_name")):
            raise forms.ValidationError(_("请选择现有机构，或填写新机构的类型和名称。"))
        return cleaned


class StyledPasswordChangeForm(BootstrapFormMixin, PasswordChangeForm):
    pass


class StyledPasswordResetForm(BootstrapFormMixin, PasswordResetForm):
    pass


class StyledSetPasswordForm(BootstrapFormMixin, SetPasswordForm):
    pass
