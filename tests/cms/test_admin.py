"""The editors' admin (/cms-admin/): operators only, after 2FA; Wagtail's groups decide who may
publish; every other role is refused even if someone put it in an editor group."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from cms.models import NoticePage
from cms.services import EDITOR_GROUP, PUBLISHER_GROUP, portal_editor_grant, portal_editor_revoke
from marketplace.core.errors import DomainError
from marketplace.core.models import AuditEvent

from ..conftest import login_as
from .conftest import notice

OTHER_ROLES = ["intermediary", "owner", "department", "regulator"]


def _notice_form(title: str, action: str | None) -> dict:
    data = {
        "title": title,
        "slug": "new-notice",
        "date": "2026-11-30",
        "kind": "notice",
        "summary": "摘要",
        "body-count": "0",
        "comments-TOTAL_FORMS": "0",
        "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0",
        "comments-MAX_NUM_FORMS": "1000",
    }
    if action:
        data[action] = "on"
    return data


def test_anonymous_visitor_is_sent_to_the_site_login(client, db):
    response = client.get("/cms-admin/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_other_roles_are_refused_even_in_an_editor_group(client, personas, portal, role):
    user = getattr(personas, role)
    user.groups.add(Group.objects.get(name=PUBLISHER_GROUP))
    login_as(client, user)

    dashboard = client.get("/cms-admin/")
    publish = client.post(
        f"/cms-admin/pages/add/cms/noticepage/{portal.news.pk}/", _notice_form("越权通知", "action-publish")
    )

    assert dashboard.status_code == 403 and publish.status_code == 403
    assert not NoticePage.objects.filter(title="越权通知").exists()


def test_operator_must_pass_two_factor_first(client, personas):
    client.force_login(personas.operator)

    response = client.get("/cms-admin/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/")


def test_operator_outside_the_editor_groups_cannot_use_the_admin(client, personas, portal):
    login_as(client, personas.operator)

    response = client.get("/cms-admin/")

    assert response.status_code != 200


def test_editor_writes_a_draft_and_submits_it_for_moderation_but_cannot_publish(client, personas, portal):
    portal_editor_grant(actor=None, user=personas.operator, publisher=False)
    login_as(client, personas.operator)

    response = client.post(
        f"/cms-admin/pages/add/cms/noticepage/{portal.news.pk}/", _notice_form("编辑的通知", "action-publish")
    )
    page = NoticePage.objects.get(title="编辑的通知")

    assert response.status_code == 302
    assert not page.live and client.get("/news/new-notice/").status_code == 404

    client.post(f"/cms-admin/pages/{page.pk}/edit/", _notice_form("编辑的通知", "action-submit"))
    page.refresh_from_db()
    assert page.workflow_in_progress and not page.live
    assert not page.permissions_for_user(personas.operator).can_publish()


def test_publisher_publishes_a_notice_that_visitors_then_see(client, personas, portal):
    portal_editor_grant(actor=None, user=personas.operator, publisher=True)
    login_as(client, personas.operator)

    response = client.post(
        f"/cms-admin/pages/add/cms/noticepage/{portal.news.pk}/", _notice_form("发布的通知", "action-publish")
    )
    login_as(client, None)

    assert response.status_code == 302
    assert NoticePage.objects.get(title="发布的通知").live
    assert "发布的通知" in client.get("/news/").content.decode()
    assert client.get("/news/new-notice/").status_code == 200


def test_publisher_approves_an_editors_submission(client, personas, portal):
    from marketplace.accounts.models import Role

    from ..factories import MembershipFactory

    editor = MembershipFactory(
        organisation=personas.operator.memberships.get().organisation, role=Role.OPERATOR
    ).user
    portal_editor_grant(actor=None, user=editor, publisher=False)
    portal_editor_grant(actor=None, user=personas.operator, publisher=True)
    page = notice(portal.news, "待审通知", "pending", publish=False)
    page.get_workflow().start(page, editor)
    state = page.current_workflow_task_state

    login_as(client, personas.operator)
    response = client.post(
        f"/cms-admin/pages/workflow/action/{page.pk}/approve/{state.pk}/", {"comment": "同意发布"}
    )
    page.refresh_from_db()

    assert response.status_code in (200, 302)
    assert page.live and not page.workflow_in_progress


def test_revisions_are_kept_for_each_edit(portal):
    page = notice(portal.news)
    page.title = "修改后的标题"
    page.save_revision().publish()

    assert page.revisions.count() == 2
    assert page.revisions.order_by("created_at").first().as_object().title == "关于开展中介服务专项检查的通知"


def test_only_operators_can_be_made_editors_and_grants_are_audited(personas):
    with pytest.raises(DomainError):
        portal_editor_grant(actor=personas.operator, user=personas.regulator, publisher=False)
    assert not personas.regulator.groups.exists()

    portal_editor_grant(actor=None, user=personas.operator, publisher=False)
    portal_editor_grant(actor=None, user=personas.operator, publisher=True)
    assert list(personas.operator.groups.values_list("name", flat=True)) == [PUBLISHER_GROUP]
    portal_editor_revoke(actor=None, user=personas.operator)

    assert not personas.operator.groups.filter(name__in=(EDITOR_GROUP, PUBLISHER_GROUP)).exists()
    assert AuditEvent.objects.filter(action__startswith="cms.editor.").count() == 3


def test_admin_pages_get_their_own_security_headers(client, personas, portal):
    portal_editor_grant(actor=None, user=personas.operator, publisher=True)
    login_as(client, personas.operator)

    admin = client.get("/cms-admin/")
    public = client.get("/news/")

    assert admin.status_code == 200
    assert (
        "frame-ancestors 'self'" in admin["Content-Security-Policy"]
        and admin["X-Frame-Options"] == "SAMEORIGIN"
    )
    assert "script-src 'self';" in public["Content-Security-Policy"] and public["X-Frame-Options"] == "DENY"
