"""Writes for accounts: sign-up, staff accounts, memberships, login throttling."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from marketplace.core.audit import audit_record, snapshot
from marketplace.core.errors import DomainError, NotAllowed, ValidationFailed
from marketplace.core.validators import clean_uscc

from .models import SELF_SERVICE_ROLES, Membership, Organisation, Role, User

USER_FIELDS = ["id", "username", "email", "full_name", "phone", "is_active"]


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not username:
        raise DomainError(_("请填写用户名。"), field="username")
    if len(username) > 150:
        raise DomainError(_("用户名不得超过150个字符。"), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("用户名“%(name)s”已被使用。") % {"name": username}, field="username")
    return username


def _check_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed({"password": list(exc.messages)}) from exc


def _check_org_uscc(code: str) -> str:
    code = clean_uscc(code)
    if Organisation.objects.filter(uscc=code).exists():
        raise DomainError(
            _("统一社会信用代码 %(code)s 已注册：同一机构只能注册一次。") % {"code": code},
            field="uscc",
        )
    return code


@transaction.atomic
def user_signup(
    *,
    username: str,
    email: str,
    password: str,
    full_name: str,
    phone: str,
    role: str,
    organisation_name: str,
    uscc: str,
) -> Membership:
    """An intermediary or a project owner registers itself and its first user (机构管理员)."""
    if role not in SELF_SERVICE_ROLES:
        raise DomainError(_("只有中介机构和项目业主可以自行注册。"), field="role")
    name = (organisation_name or "").strip()
    if not name:
        raise DomainError(_("请填写机构名称。"), field="organisation_name")
    user = User(
        username=_check_username(username),
        email=(email or "").strip(),
        full_name=(full_name or "").strip(),
        phone=(phone or "").strip(),
    )
    _check_password(password, user)
    code = _check_org_uscc(uscc)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            org = Organisation.objects.create(name=name, kind=role, uscc=code)
    except IntegrityError as exc:  # a concurrent sign-up took the name or code first
        raise DomainError(_("用户名或统一社会信用代码已被注册，请重试。")) from exc
    membership = Membership.objects.create(user=user, organisation=org, role=role, is_manager=True)
    audit_record(actor=user, action="user.signup", obj=user, after=snapshot(user, USER_FIELDS))
    audit_record(actor=user, action="organisation.create", obj=org, after=snapshot(org))
    return membership


def _require_operator(actor: User) -> None:
    if not actor.is_authenticated or not actor.memberships.filter(role=Role.OPERATOR).exists():
        raise NotAllowed(_("只有平台运营人员可以执行此操作。"))


@transaction.atomic
def organisation_create(*, actor: User, kind: str, name: str, uscc: str = "") -> Organisation:
    """Operators create departments, regulators and operator organisations."""
    _require_operator(actor)
    if kind not in Role.values:
        raise DomainError(_("未知的机构类型。"), field="kind")
    name = (name or "").strip()
    if not name:
        raise DomainError(_("请填写机构名称。"), field="name")
    code = _check_org_uscc(uscc) if uscc else None
    org = Organisation.objects.create(name=name, kind=kind, uscc=code)
    audit_record(actor=actor, action="organisation.create", obj=org, after=snapshot(org))
    return org


@transaction.atomic
def staff_account_create(
    *,
    actor: User,
    organisation: Organisation,
    username: str,
    email: str,
    full_name: str,
    is_manager: bool = False,
) -> Membership:
    """An operator creates an account for a department, regulator or operator organisation.

    The account has no usable password: the person sets one through the reset e-mail.
    """
    _require_operator(actor)
    if organisation.kind in SELF_SERVICE_ROLES:
        raise DomainError(_("中介机构和项目业主的账号由其自行注册。"), field="organisation")
    if not (email or "").strip():
        raise DomainError(_("请填写电子邮箱，用于设置密码。"), field="email")
    user = User(username=_check_username(username), email=email.strip(), full_name=full_name.strip())
    user.set_unusable_password()
    user.save()
    membership = Membership.objects.create(
        user=user, organisation=organisation, role=organisation.kind, is_manager=is_manager
    )
    audit_record(actor=actor, action="user.create", obj=user, after=snapshot(user, USER_FIELDS))
    audit_record(
        actor=actor,
        action="membership.create",
        obj=membership,
        after=snapshot(membership, ["user_id", "organisation_id", "role", "is_manager"]),
    )
    return membership


@transaction.atomic
def membership_grant(
    *, actor: User, user: User, organisation: Organisation, is_manager: bool = False
) -> Membership:
    """Lets an existing person act for another organisation too (operators, or the
    organisation's own managers for intermediaries and owners)."""
    is_operator = actor.memberships.filter(role=Role.OPERATOR).exists()
    is_org_manager = actor.memberships.filter(organisation=organisation, is_manager=True).exists()
    if not (is_operator or (is_org_manager and organisation.kind in SELF_SERVICE_ROLES)):
        raise NotAllowed(_("您无权为该机构添加成员。"))
    if Membership.objects.filter(user=user, organisation=organisation).exists():
        raise DomainError(_("该用户已是此机构的成员。"), field="user")
    membership = Membership.objects.create(
        user=user, organisation=organisation, role=organisation.kind, is_manager=is_manager
    )
    audit_record(
        actor=actor,
        action="membership.create",
        obj=membership,
        after=snapshot(membership, ["user_id", "organisation_id", "role", "is_manager"]),
    )
    return membership


def staff_invite_send(*, user: User, domain: str, use_https: bool) -> None:
    """E-mail a new staff account the link to set its first password (the account has none).
    Call it after the account is committed."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    context = {
        "user": user,
        "domain": domain,
        "protocol": "https" if use_https else "http",
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
    subject = "".join(render_to_string("accounts/password_reset_subject.txt", context).splitlines())
    body = render_to_string("accounts/password_reset_email.txt", context)
    send_mail(subject, body, None, [user.email])


# --- login throttling -------------------------------------------------------------------------


def _throttle_keys(username: str, client_ip: str) -> list[str]:
    return [f"login-fail:u:{(username or '').lower()[:150]}", f"login-fail:ip:{client_ip}"]


def login_is_throttled(*, username: str, client_ip: str) -> bool:
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    return any((cache.get(key) or 0) >= limit for key in _throttle_keys(username, client_ip))


def login_failed(*, username: str, client_ip: str) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    for key in _throttle_keys(username, client_ip):
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, window)


def login_succeeded(*, username: str, client_ip: str) -> None:
    cache.delete(_throttle_keys(username, client_ip)[0])
