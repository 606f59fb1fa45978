"""The seeded walk's first hop looks up the parties sharing a seed firm's contacts by the keys
the firms' query read (``graph._seed_firms``), rather than joining on normalised keys: the same
contact edges as the SQL walk, through the expression indexes."""

from __future__ import annotations

import pytest

from marketplace.oversight import graph
from tests.conftest import requires_postgres
from tests.factories import DepartmentFactory, IntermediaryFactory
from tests.oversight.test_graph import affiliate, holds, person, staff

pytestmark = pytest.mark.django_db

CONTACT_WALKS = [
    (graph.EDGE_KINDS, 3),
    ((graph.CONTACT, graph.STAFF, graph.AFFILIATION), 1),
    ((graph.CONTACT, graph.SHAREHOLDING, graph.STAFF, graph.AFFILIATION), 2),
]


def contacts_market():
    """A seed firm sharing each kind of contact with each kind of party, one whose phone is too
    short to count, and a firm reached only through a holding that shares a phone (its contacts
    are found by the join, not by key)."""
    department = DepartmentFactory(phone="0632-7770001", email="Desk@QQ.gov.cn", address="人民路 9 号")
    official = staff(department, person(), phone="(0632)7770002", email="chief@qq.gov.cn")
    affiliate(department, uscc="", phone="0632 7770003", address="人民路 11 号")
    holder = IntermediaryFactory(phone="0632-7770002")
    firms = [
        IntermediaryFactory(phone="06327770001", email=" desk@qq.gov.cn", address="人民路9号"),
        IntermediaryFactory(phone="0632 777 0002", email="CHIEF@qq.gov.cn"),
        IntermediaryFactory(phone="0632-7770003", address="人民路11号"),
        IntermediaryFactory(phone="123"),
    ]
    DepartmentFactory(phone="123")
    holds(firms[3], uscc=holder.uscc, share="40")
    return department, official, [f.pk for f in firms]


@pytest.mark.parametrize(("kinds", "hops"), CONTACT_WALKS)
def test_the_seed_firms_contacts_give_the_edges_of_the_sql_walk(kinds, hops):
    department, _, firms = contacts_market()

    seeded = graph.paths_to_department(firms, hops, kinds=kinds, seeded=True)
    walked = graph.paths_to_department(firms, hops, kinds=kinds, seeded=False)

    assert seeded == walked
    assert {firm for firm, found in seeded if found == department.pk} >= set(firms[:3])
    assert all(
        edge.contact_field != "phone" or edge.detail != "phone=123"
        for paths in seeded.values()
        for path in paths
        for edge in path.edges
    )


def test_the_seed_firms_read_their_contacts_that_count():
    _, _, firms = contacts_market()

    found = graph._seed_firms(firms)

    assert found[firms[0]].values == {
        "phone": ("06327770001", "06327770001"),
        "email": ("desk@qq.gov.cn", " desk@qq.gov.cn"),
        "address": ("人民路9号", "人民路9号"),
    }
    assert "phone" not in found[firms[3]].values  # three digits do not count


@requires_postgres
def test_the_seed_firms_contacts_are_looked_up_through_the_expression_indexes():
    from django.db import connection

    _, _, firms = contacts_market()
    seeds = graph._seed_firms(firms)
    known = {firm.node[2:]: firm for firm in seeds.values()}
    selects, params = graph._near_contact_selects(graph._Frontier.of(f.node for f in seeds.values()), known)

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + " UNION ALL ".join(selects), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "staff_phone_key" in plan and "staff_email_key" in plan
    # No join on normalised keys from the known firms' side.
    assert not any('"providers_intermediary" x WHERE x.uscc IN' in select for select in selects)
