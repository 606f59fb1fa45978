"""Writes for the portal outside Wagtail's own admin: who may edit, and the English pages.

Page edits, moderation, scheduling and revisions are Wagtail's (``/cms-admin/``). What the
portal adds is the rule that only operators edit: ``portal_editor_grant`` puts an operator in
one of Wagtail's two editor groups ("Editors" write and submit for moderation, "Moderators"
also approve and publish), and the admin gate (``cms.middleware``) refuses everyone else.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _
from wagtail.models import Locale, Page

from marketplace.accounts.models import Role, User
from marketplace.core.audit import audit_record
from marketplace.core.errors import DomainError

# Wagtail creates these groups with page permissions on the whole tree and admin access;
# its default workflow ("Moderators approval") makes an Editors' page wait for a Moderator.
EDITOR_GROUP = "Editors"
PUBLISHER_GROUP = "Moderators"


def portal_editor_grant(*, actor: User | None, user: User, publisher: bool) -> None:
    """Let an operator edit the portal (and publish, when ``publisher``)."""
    if not user.memberships.filter(role=Role.OPERATOR).exists():
        raise DomainError(_("只有平台运营人员可以编辑门户网站。"), code="not_operator")
    wanted = PUBLISHER_GROUP if publisher else EDITOR_GROUP
    with transaction.atomic():
        group = Group.objects.get(name=wanted)
        before = sorted(
            user.groups.filter(name__in=(EDITOR_GROUP, PUBLISHER_GROUP)).values_list("name", flat=True)
        )
        user.groups.remove(
            *Group.objects.filter(name__in=(EDITOR_GROUP, PUBLISHER_GROUP)).exclude(pk=group.pk)
        )
        user.groups.add(group)
        audit_record(
            actor=actor,
            action="cms.editor.grant",
            obj=user,
            before={"groups": before},
            after={"groups": [wanted]},
        )


def portal_editor_revoke(*, actor: User | None, user: User) -> None:
    with transaction.atomic():
        groups = Group.objects.filter(name__in=(EDITOR_GROUP, PUBLISHER_GROUP))
        before = sorted(user.groups.filter(pk__in=groups).values_list("name", flat=True))
        user.groups.remove(*groups)
        audit_record(actor=actor, action="cms.editor.revoke", obj=user, before={"groups": before}, after={})


def page_translate(*, page: Page, language_code: str, fields: dict, publish: bool = True) -> Page:
    """The translation of ``page`` into ``language_code`` (created if missing, its parent's
    translation first), with ``fields`` set and, when ``publish``, published."""
    locale = Locale.objects.get(language_code=language_code)
    translation = page.get_translation_or_none(locale)
    if translation is None:
        translation = page.copy_for_translation(locale, copy_parents=True)
    translation = translation.specific
    for name, value in fields.items():
        setattr(translation, name, value)
    revision = translation.save_revision()
    if publish:
        revision.publish()
    return translation
