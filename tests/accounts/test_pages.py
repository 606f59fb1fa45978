"""Accounts pages: authorisation matrix for every URL in marketplace/accounts/urls.py, two-factor
authentication for staff roles, login throttling, organisation switching, sign-up and staff
accounts."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from marketplace.accounts.models import Membership, Organisation, Role, User
from marketplace.core.models import AuditEvent
from tests.factories import MembershipFactory, OrganisationFactory, make_uscc

PERSONAS = ["anonymous", "intermediary", "other_intermediary", "owner", "department", "regulator", "operator"]
SIGNED_IN = PERSONAS[1:]
STAFF = ["regulator", "operator"]
PASSWORD = "Pa55word!2026"  # tests.factories.UserFactory's password
LOGIN = "login"


def _assert_outcome(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    elif isinstance(expected, str):
        assert response.status_code == 302 and response["Location"] == expected
    else:
        assert response.status_code == expected


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (User, Organisation, Membership, AuditEvent)}


def _token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


# --- matrix -----------------------------------------------------------------------------------

DASHBOARD = "/accounts/dashboard/"
SETUP = "/accounts/2fa/setup/"

# url -> expected outcome per persona; "*" is the outcome for every persona not named.
GET_PAGES = {
    "login": ("/accounts/login/", {"anonymous": 200, "*": DASHBOARD}),
    "signup": ("/accounts/signup/", {"anonymous": 200, "*": DASHBOARD}),
    "dashboard": (DASHBOARD, {"anonymous": LOGIN, "*": 200}),
    # Optional for other roles; staff who already have a verified device go back to the dashboard.
    "2fa-setup": (SETUP, {"anonymous": LOGIN, "regulator": DASHBOARD, "operator": DASHBOARD, "*": 200}),
    "2fa-verify": (
        "/accounts/2fa/verify/",
        {"anonymous": LOGIN, "regulator": 200, "operator": 200, "*": SETUP},
    ),
    "staff-create": ("/accounts/staff/new/", {"anonymous": LOGIN, "operator": 200, "*": 403}),
    "password-change": ("/accounts/password/change/", {"anonymous": LOGIN, "*": 200}),
    "password-change-done": ("/accounts/password/change/done/", {"anonymous": LOGIN, "*": 200}),
    "password-reset": ("/accounts/password/reset/", {"*": 200}),
    "password-reset-done": ("/accounts/password/reset/done/", {"*": 200}),
    "password-reset-confirm": ("/accounts/password/reset/MQ/bad-token/", {"*": 200}),
    "password-reset-complete": ("/accounts/password/reset/complete/", {"*": 200}),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", GET_PAGES)
def test_accounts_page_access(client, login, personas, page, persona):
    url, outcomes = GET_PAGES[page]
    login(client, personas.all()[persona])

    response = client.get(url)

    _assert_outcome(response, outcomes.get(persona, outcomes.get("*")))


def test_every_accounts_url_is_in_the_matrix():
    from marketplace.accounts.urls import urlpatterns

    names = {p.name for p in urlpatterns}
    assert names == {*GET_PAGES, "logout", "switch"}
    assert reverse("accounts:staff-create") == GET_PAGES["staff-create"][0]


@pytest.mark.parametrize("persona", PERSONAS)
def test_logout_signs_anyone_out(client, login, personas, persona):
    login(client, personas.all()[persona])

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("persona", PERSONAS)
def test_switch_to_ones_own_membership(client, login, personas, persona):
    user = personas.all()[persona]
    login(client, user)
    own = Membership.objects.filter(user=user).first()

    response = client.post(reverse("accounts:switch"), {"membership_id": own.pk if own else 1})

    _assert_outcome(response, LOGIN if user is None else DASHBOARD)


def test_staff_create_page_links_only_staff_kinds_of_organisation(client, login, personas):
    login(client, personas.operator)

    response = client.get(reverse("accounts:staff-create"))

    choices = list(response.context["form"].fields["organisation"].queryset.values_list("kind", flat=True))
    assert set(choices) <= {Role.DEPARTMENT, Role.REGULATOR, Role.OPERATOR}
    assert personas.firm.organisation.name not in response.content.decode()


# --- two-factor authentication ----------------------------------------------------------------


@pytest.mark.parametrize("persona", STAFF)
def test_staff_without_two_factor_are_sent_to_set_it_up(client, personas, persona):
    client.force_login(getattr(personas, persona))

    response = client.get(reverse("providers:directory"))

    assert response.status_code == 302 and response["Location"] == SETUP


@pytest.mark.parametrize("persona", STAFF)
def test_staff_without_two_factor_get_403_json_from_the_api(client, personas, persona):
    client.force_login(getattr(personas, persona))

    response = client.get("/api/schema/")

    assert response.status_code == 403
    assert response.json() == {"detail": "Two-factor authentication required.", "code": "2fa_required"}


@pytest.mark.parametrize("persona", ["intermediary", "owner", "department"])
def test_other_roles_need_no_two_factor(client, personas, persona):
    client.force_login(getattr(personas, persona))

    assert client.get(DASHBOARD).status_code == 200


@pytest.mark.parametrize("persona", STAFF)
def test_staff_get_through_after_setting_up_a_totp_device(client, personas, persona):
    user = getattr(personas, persona)
    client.force_login(user)
    assert client.get(SETUP).status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    response = client.post(SETUP, {"token": _token(device)})

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(DASHBOARD).status_code == 200
    assert client.get(reverse("providers:directory")).status_code == 200


def test_setup_with_a_wrong_token_shows_the_error_and_confirms_nothing(client, personas):
    client.force_login(personas.operator)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=personas.operator)
    wrong = f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"

    response = client.post(SETUP, {"token": wrong})

    assert response.status_code == 200
    assert "验证码不正确或已过期" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(DASHBOARD)["Location"] == SETUP


def _confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def test_staff_with_a_device_must_verify_on_each_new_login(client, personas):
    device = _confirmed_device(personas.regulator)
    client.force_login(personas.regulator)

    assert client.get(DASHBOARD)["Location"] == "/accounts/2fa/verify/"
    response = client.post("/accounts/2fa/verify/", {"token": _token(device)})

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    assert client.get(DASHBOARD).status_code == 200


def test_verify_does_not_redirect_to_another_site(client, personas):
    device = _confirmed_device(personas.regulator)
    client.force_login(personas.regulator)

    response = client.post("/accounts/2fa/verify/?next=https://evil.example/", {"token": _token(device)})

    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


def test_a_user_who_enabled_two_factor_is_asked_for_the_token_at_next_login(client, personas):
    client.force_login(personas.intermediary)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=personas.intermediary)
    assert client.post(SETUP, {"token": _token(device)}).status_code == 302
    client.logout()

    _login(client, personas.intermediary.username, PASSWORD)

    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/verify/"


# --- login throttling -------------------------------------------------------------------------


def _login(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_login_with_the_right_password_signs_in(client, personas):
    response = _login(client, personas.intermediary.username, PASSWORD)

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    assert client.session["_auth_user_id"] == str(personas.intermediary.pk)


def test_login_is_refused_even_with_the_right_password_after_repeated_failures(client, personas):
    username = personas.intermediary.username
    for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS):
        assert _login(client, username, "wrong-password").status_code == 200

    response = _login(client, username, PASSWORD)

    assert response.status_code == 200
    assert "登录失败次数过多，请 15 分钟后再试。" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_failures_below_the_limit_do_not_lock_the_account(client, personas):
    username = personas.intermediary.username
    for _ in range(settings.LOGIN_THROTTLE_ATTEMPTS - 1):
        _login(client, username, "wrong-password")

    response = _login(client, username, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(personas.intermediary.pk)


# --- organisation switching -------------------------------------------------------------------


@pytest.fixture
def two_hats(personas):
    """personas.intermediary also acts for a project owner."""
    owner_org = OrganisationFactory(kind=Role.OWNER, name="枣庄市某建设单位")
    MembershipFactory(user=personas.intermediary, organisation=owner_org)
    return personas.intermediary


def test_switching_makes_the_other_organisation_active_on_the_dashboard(client, login, two_hats):
    login(client, two_hats)
    first = client.get(DASHBOARD).context["membership"]
    other = Membership.objects.filter(user=two_hats).exclude(pk=first.pk).get()

    response = client.post(reverse("accounts:switch"), {"membership_id": other.pk})

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    page = client.get(DASHBOARD)
    assert page.context["membership"] == other
    assert f"{other.organisation.name} · {other.get_role_display()}" in page.content.decode()


def test_switching_changes_what_the_user_may_open(client, login, two_hats):
    login(client, two_hats)
    owner_membership = Membership.objects.get(user=two_hats, role=Role.OWNER)
    firm_membership = Membership.objects.get(user=two_hats, role=Role.INTERMEDIARY)

    client.post(reverse("accounts:switch"), {"membership_id": owner_membership.pk})
    assert client.get(reverse("providers:my-offers")).status_code == 403
    client.post(reverse("accounts:switch"), {"membership_id": firm_membership.pk})
    assert client.get(reverse("providers:my-offers")).status_code == 200


@pytest.mark.parametrize("value", ["someone-else", "not-a-number", ""])
def test_switching_to_a_membership_that_is_not_ones_own_is_400(client, login, personas, two_hats, value):
    login(client, two_hats)
    before = client.get(DASHBOARD).context["membership"]
    others = Membership.objects.get(user=personas.owner).pk
    membership_id = others if value == "someone-else" else value

    response = client.post(reverse("accounts:switch"), {"membership_id": membership_id})

    assert response.status_code == 400
    assert client.get(DASHBOARD).context["membership"] == before


def test_switch_ignores_a_next_url_on_another_site(client, login, two_hats):
    login(client, two_hats)
    membership = Membership.objects.filter(user=two_hats).last()

    response = client.post(
        reverse("accounts:switch"), {"membership_id": membership.pk, "next": "https://evil.example/"}
    )

    assert response["Location"] == DASHBOARD


@pytest.fixture
def orphan(db):
    """A user whose only organisation has been deactivated."""
    return MembershipFactory(organisation=OrganisationFactory(kind=Role.OWNER, is_active=False)).user


def test_dashboard_of_a_user_without_an_active_organisation_says_so(client, orphan):
    client.force_login(orphan)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert "您的账号尚未关联任何机构" in response.content.decode()


def test_role_page_for_a_user_without_an_active_organisation_is_403(client, orphan):
    client.force_login(orphan)

    assert client.get(reverse("providers:my-offers")).status_code == 403


# --- owner sign-up ----------------------------------------------------------------------------


def _signup_data(**overrides):
    return {
        "organisation_name": "枣庄市某建设单位",
        "uscc": make_uscc("12"),
        "full_name": "孙七",
        "phone": "13900000000",
        "email": "sun@example.cn",
        "username": "sunqi",
        "password": PASSWORD,
        **overrides,
    }


@pytest.mark.django_db
def test_owner_signup_creates_the_organisation_and_signs_in(client):
    data = _signup_data()

    response = client.post(reverse("accounts:signup"), data)

    assert response.status_code == 302 and response["Location"] == DASHBOARD
    org = Organisation.objects.get(uscc=data["uscc"])
    assert org.kind == Role.OWNER and org.name == "枣庄市某建设单位"
    membership = Membership.objects.get(organisation=org)
    assert membership.user.username == "sunqi" and membership.role == Role.OWNER and membership.is_manager
    assert client.session["_auth_user_id"] == str(membership.user.pk)
    assert client.get(DASHBOARD).context["membership"] == membership


@pytest.mark.django_db
def test_owner_signup_with_an_invalid_uscc_shows_the_error_and_creates_nothing(client):
    code = make_uscc("12")
    bad = code[:-1] + ("1" if code[-1] != "1" else "2")
    before = _counts()

    response = client.post(reverse("accounts:signup"), _signup_data(uscc=bad))

    assert response.status_code == 400
    assert f"统一社会信用代码“{bad}”无效" in response.content.decode()
    assert _counts() == before
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_owner_signup_with_a_registered_uscc_creates_nothing(client, personas):
    before = _counts()

    response = client.post(
        reverse("accounts:signup"), _signup_data(uscc=personas.owner.memberships.get().organisation.uscc)
    )

    assert response.status_code == 400
    assert "已注册" in response.content.decode()
    assert _counts() == before


# --- staff accounts ---------------------------------------------------------------------------


def _staff_post(kind, **overrides):
    return {
        "new_kind": kind,
        "new_name": "枣庄市发展和改革委员会",
        "username": "fgw-wang",
        "email": "wang@fgw.example.cn",
        "full_name": "王八",
        **overrides,
    }


@pytest.mark.parametrize("kind", [Role.DEPARTMENT, Role.REGULATOR])
def test_operator_creates_a_staff_account_in_a_new_organisation(client, login, personas, kind):
    login(client, personas.operator)

    response = client.post(reverse("accounts:staff-create"), _staff_post(kind))

    assert response.status_code == 302 and response["Location"] == reverse("accounts:staff-create")
    user = User.objects.get(username="fgw-wang")
    membership = user.memberships.get()
    assert membership.role == kind and membership.organisation.kind == kind
    assert not user.has_usable_password()


@pytest.mark.parametrize("kind", [Role.DEPARTMENT, Role.REGULATOR])
def test_operator_creating_a_staff_account_sends_a_password_reset_email(client, login, personas, kind):
    login(client, personas.operator)

    client.post(reverse("accounts:staff-create"), _staff_post(kind))

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["wang@fgw.example.cn"]
    assert "/accounts/password/reset/" in mail.outbox[0].body


def test_staff_account_in_an_existing_organisation(client, login, personas):
    login(client, personas.operator)
    department_org = personas.department.memberships.get().organisation

    response = client.post(
        reverse("accounts:staff-create"),
        _staff_post("", new_name="", organisation=department_org.pk, username="dept-2"),
    )

    assert response.status_code == 302
    assert User.objects.get(username="dept-2").memberships.get().organisation == department_org


@pytest.mark.parametrize("persona", ["anonymous", "intermediary", "owner", "department", "regulator"])
def test_staff_account_creation_by_a_non_operator_creates_nothing(client, login, personas, persona):
    login(client, personas.all()[persona])
    before = _counts()

    response = client.post(reverse("accounts:staff-create"), _staff_post(Role.DEPARTMENT))

    _assert_outcome(response, LOGIN if persona == "anonymous" else 403)
    assert _counts() == before
    assert mail.outbox == []


def test_staff_account_with_a_taken_username_shows_the_error_and_creates_nothing(client, login, personas):
    login(client, personas.operator)
    before = _counts()

    response = client.post(
        reverse("accounts:staff-create"), _staff_post(Role.DEPARTMENT, username=personas.owner.username)
    )

    assert response.status_code == 400
    assert "已被使用" in response.content.decode()
    assert _counts() == before
