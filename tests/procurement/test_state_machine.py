"""The project state machine: one table of allowed transitions (states.TRANSITIONS)."""

from __future__ import annotations

from collections import deque

import pytest

from marketplace.core.errors import DomainError
from marketplace.core.models import AuditEvent
from marketplace.procurement.models import Project, Status
from marketplace.procurement.states import TERMINAL, TRANSITIONS, can_transition, transition

from .factories import published_project

ALL = list(Status.values)
FORBIDDEN = [(a, b) for a in ALL for b in ALL if b not in TRANSITIONS[a]]


def test_the_table_covers_every_status_and_only_statuses():
    assert set(TRANSITIONS) == set(ALL)
    assert all(targets <= set(ALL) for targets in TRANSITIONS.values())
    assert not any(status in TRANSITIONS[status] for status in ALL)  # no self-loops


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_every_transition_not_in_the_table_is_refused_with_the_chinese_message(current, target):
    project = Project(status=current)  # refused before anything is saved: no database needed
    assert not can_transition(current, target)
    with pytest.raises(DomainError) as excinfo:
        transition(project, target, actor=None, action="test")
    assert excinfo.value.code == "transition"
    assert str(excinfo.value) == (
        f"项目当前状态为“{Status(current).label}”，不能变更为“{Status(target).label}”。"
    )
    assert project.status == current


def test_terminal_states_have_no_exits():
    assert TERMINAL == {Status.CLOSED, Status.CANCELLED, Status.RELAUNCHED}
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()
        assert not any(can_transition(status, target) for target in ALL)


def test_every_status_is_reachable_from_draft():
    seen, queue = {Status.DRAFT}, deque([Status.DRAFT])
    while queue:
        for target in TRANSITIONS[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    assert seen == set(ALL)


def test_every_non_terminal_status_can_reach_a_terminal_one():
    reverse: dict[str, set[str]] = {s: set() for s in ALL}
    for source, targets in TRANSITIONS.items():
        for target in targets:
            reverse[target].add(source)
    seen, queue = set(TERMINAL), deque(TERMINAL)
    while queue:
        for source in reverse[queue.popleft()]:
            if source not in seen:
                seen.add(source)
                queue.append(source)
    assert seen == set(ALL)


@pytest.mark.django_db
def test_an_allowed_transition_saves_and_is_audited():
    project = published_project()
    transition(project, Status.CANCELLED, actor=project.created_by, action="project.cancel", note="测试")
    project.refresh_from_db()
    assert project.status == Status.CANCELLED
    event = AuditEvent.objects.filter(action="project.cancel").get()
    assert event.before == {"status": "published"} and event.after == {"status": "cancelled", "note": "测试"}


@pytest.mark.django_db
def test_a_refused_transition_writes_nothing():
    project = published_project()
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError):
        transition(project, Status.CLOSED, actor=project.created_by, action="project.close")
    project.refresh_from_db()
    assert project.status == Status.PUBLISHED and AuditEvent.objects.count() == events
