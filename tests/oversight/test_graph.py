"""The related-party graph: paths from firms to departments through the recursive walk."""

from datetime import date
from decimal import Decimal

import pytest

from marketplace.catalog.models import AffiliatedEntity
from marketplace.core.validators import id_hash
from marketplace.oversight import graph
from marketplace.oversight.models import DepartmentStaff, StaffRelative
from marketplace.providers.models import Shareholder
from tests.conftest import requires_postgres
from tests.factories import (
    DepartmentFactory,
    IntermediaryFactory,
    PractitionerFactory,
    make_id_number,
    make_uscc,
)

pytestmark = pytest.mark.django_db


def person() -> str:
    return id_hash(make_id_number())


def affiliate(department, **kwargs):
    values = {"kind": "institution", "name": "测试事业单位", "uscc": make_uscc("12")}
    values.update(kwargs)
    return AffiliatedEntity.objects.create(department=department, **values)


def holds(firm, *, share="30", uscc="", person_hash="", name="股东"):
    kind = Shareholder.Kind.PERSON if person_hash else Shareholder.Kind.FIRM
    return Shareholder.objects.create(
        intermediary=firm, kind=kind, name=name, uscc=uscc, id_hash=person_hash, share=Decimal(share)
    )


def staff(department, person_hash, *, started=date(2015, 1, 1), ended=None, **kwargs):
    return DepartmentStaff.objects.create(
        department=department,
        name="工作人员",
        id_hash=person_hash,
        started_on=started,
        ended_on=ended,
        **kwargs,
    )


def test_an_affiliate_holding_shares_in_the_firm_is_one_hop():
    department, firm = DepartmentFactory(), IntermediaryFactory()
    institute = affiliate(department, name="市规划研究院")
    holds(firm, uscc=institute.uscc, name="市规划研究院", share="40")

    paths = graph.paths_to_department([firm.pk])[(firm.pk, department.pk)]

    assert [(p.hops, p.kinds) for p in paths] == [(1, (graph.SHAREHOLDING, graph.AFFILIATION))]
    evidence = paths[0].as_evidence()
    assert [n["label"] for n in evidence["nodes"]] == [firm.name, "市规划研究院", department.name_zh]
    assert evidence["edges"][0]["share"] == "40" and evidence["edges"][0]["label"] == "持股 40%"


def test_a_holding_firm_owned_by_an_affiliate_is_two_hops():
    department, firm, holding = DepartmentFactory(), IntermediaryFactory(), IntermediaryFactory()
    association = affiliate(department, kind="association", name="市测绘协会")
    holds(firm, uscc=holding.uscc, name=holding.name, share="60")
    holds(holding, uscc=association.uscc, name="市测绘协会", share="51")

    paths = graph.paths_to_department([firm.pk])[(firm.pk, department.pk)]

    assert [p.hops for p in paths] == [2]
    assert [n.label for n in paths[0].nodes] == [firm.name, holding.name, "市测绘协会", department.name_zh]


def test_a_person_shareholder_on_the_department_staff_is_one_hop():
    department, firm = DepartmentFactory(), IntermediaryFactory()
    official = person()
    holds(firm, person_hash=official, name="王五")
    staff(department, official, position="科长")

    paths = graph.paths_to_department([firm.pk])[(firm.pk, department.pk)]

    assert [(p.hops, p.kinds) for p in paths] == [(1, (graph.SHAREHOLDING, graph.STAFF))]
    person_node = paths[0].as_evidence()["nodes"][1]
    assert person_node["type"] == "person" and official not in str(paths[0].as_evidence())


def test_a_four_hop_path_is_not_found_within_three_hops():
    department, firm = DepartmentFactory(), IntermediaryFactory()
    chain = [firm, IntermediaryFactory(), IntermediaryFactory(), IntermediaryFactory()]
    for owned, owner in zip(chain, chain[1:], strict=False):
        holds(owned, uscc=owner.uscc, name=owner.name)
    institute = affiliate(department)
    holds(chain[-1], uscc=institute.uscc, name=institute.name)

    assert graph.paths_to_department([firm.pk], 3) == {}
    assert [p.hops for p in graph.paths_to_department([firm.pk], 4)[(firm.pk, department.pk)]] == [4]


def test_cross_holdings_terminate_and_no_path_repeats_a_node():
    department = DepartmentFactory()
    a, b, c = IntermediaryFactory(), IntermediaryFactory(), IntermediaryFactory()
    holds(a, uscc=b.uscc, name=b.name)
    holds(b, uscc=a.uscc, name=a.name)
    holds(b, uscc=c.uscc, name=c.name)
    holds(c, uscc=a.uscc, name=a.name)
    institute = affiliate(department)
    holds(c, uscc=institute.uscc, name=institute.name)

    paths = graph.paths_to_department([a.pk, b.pk, c.pk])

    for found in paths.values():
        for path in found:
            ids = [n.id for n in path.nodes]
            assert len(ids) == len(set(ids)) and path.hops <= 3
    assert sorted(p.hops for p in paths[(c.pk, department.pk)]) == [1]
    assert sorted(p.hops for p in paths[(a.pk, department.pk)]) == [2, 3, 3]


def test_a_declared_relative_of_staff_links_through_the_staff_member():
    department, firm = DepartmentFactory(), IntermediaryFactory(legal_representative_id_hash=person())
    official = staff(department, person())
    StaffRelative.objects.create(
        staff=official, name="赵六", id_hash=firm.legal_representative_id_hash, relation="配偶"
    )

    paths = graph.paths_to_department([firm.pk])[(firm.pk, department.pk)]

    assert [p.kinds for p in paths] == [(graph.LEGAL_REPRESENTATIVE, graph.RELATIVE, graph.STAFF)]
    assert paths[0].hops == 2 and "配偶" in paths[0].edges[1].label()


def test_contacts_match_after_normalisation():
    DepartmentFactory(phone="(0632) 331-2345", email="Office@ZZ.gov.cn", address="市中区 光明路 8 号")
    by_phone = IntermediaryFactory(phone="0632-3312345", email="a@example.cn", address="别处1号")
    by_email = IntermediaryFactory(phone="0632-9999999", email=" office@zz.gov.cn", address="别处2号")
    by_address = IntermediaryFactory(phone="0632-8888888", email="b@example.cn", address="市中区光明路8号")
    unrelated = IntermediaryFactory(phone="0632-7777777", email="c@example.cn", address="别处3号")
    ids = [by_phone.pk, by_email.pk, by_address.pk, unrelated.pk]

    paths = graph.paths_to_department(ids, 1, kinds=[graph.CONTACT])

    fields = {firm: [p.edges[0].contact_field for p in found] for (firm, _), found in paths.items()}
    assert fields == {by_phone.pk: ["phone"], by_email.pk: ["email"], by_address.pk: ["address"]}


def test_a_shared_phone_with_a_staff_member_or_an_affiliate_is_one_hop():
    department = DepartmentFactory()
    firm = IntermediaryFactory(phone="13905321234")
    staff(department, person(), phone="139 0532 1234")
    other = IntermediaryFactory(phone="0632-5550000")
    affiliate(department, phone="06325550000", uscc="")

    paths = graph.paths_to_department([firm.pk, other.pk], 1)

    assert [p.kinds for p in paths[(firm.pk, department.pk)]] == [(graph.CONTACT, graph.STAFF)]
    assert [p.kinds for p in paths[(other.pk, department.pk)]] == [(graph.CONTACT, graph.AFFILIATION)]


def test_the_walk_does_not_continue_through_a_department():
    first, second, firm = DepartmentFactory(), DepartmentFactory(), IntermediaryFactory()
    official = person()
    holds(firm, person_hash=official)
    staff(first, official)
    # The same person's department has nothing to do with the second department's affiliate.
    affiliate(second)
    AffiliatedEntity.objects.create(department=first, kind="institution", name="x", uscc=make_uscc("12"))

    paths = graph.paths_to_department([firm.pk])

    assert set(paths) == {(firm.pk, first.pk)}


def test_min_share_drops_small_holdings():
    department, firm = DepartmentFactory(), IntermediaryFactory()
    institute = affiliate(department)
    holds(firm, uscc=institute.uscc, share="5")

    assert graph.paths_to_department([firm.pk], min_share=Decimal("5"))
    assert graph.paths_to_department([firm.pk], min_share=Decimal("10")) == {}


def test_the_walk_takes_the_same_queries_for_any_number_of_firms(django_assert_max_num_queries):
    department = DepartmentFactory()
    institute = affiliate(department)
    firms = []
    for size in (2, 12):
        while len(firms) < size:
            firm = IntermediaryFactory()
            holds(firm, uscc=institute.uscc)
            firms.append(firm)
        with django_assert_max_num_queries(graph.WALK_QUERIES):
            found = graph.paths_to_department([f.pk for f in firms])
        assert len(found) == size


def test_the_edge_list_is_one_query_over_every_tie(django_assert_num_queries):
    department = DepartmentFactory(phone="0632-1111111")
    firm = IntermediaryFactory(phone="0632-1111111", legal_representative_id_hash=person())
    holds(firm, person_hash=person())
    affiliate(department)
    staff(department, person())

    with django_assert_num_queries(1):
        kinds = {e.kind for e in graph.edge_list()}

    assert kinds == {
        graph.SHAREHOLDING,
        graph.LEGAL_REPRESENTATIVE,
        graph.AFFILIATION,
        graph.STAFF,
        graph.CONTACT,
    }


# --- the seeded walk gives the paths of the SQL walk -------------------------------------------


def a_tangled_market():
    """Every kind of tie, in both directions, with dead ends and look-alikes: a department with
    an affiliate (with and without a USCC), staff in post, a former one and a relative; firms
    held by the affiliate, by each other and by staff; shared contacts from both sides."""
    department, other = DepartmentFactory(phone="0632-1230001", email="Office@ZZ.gov.cn"), DepartmentFactory()
    institute = affiliate(department)
    affiliate(department, uscc="", phone="0632 1230002", address="光明路 1 号")
    boss, former, spouse, clerk = person(), person(), person(), person()
    official = staff(department, boss, phone="(0632)1230003", email="Boss@zz.gov.cn")
    staff(department, former, ended=date(2020, 1, 1))
    staff(other, clerk, phone="0632-1230004")
    StaffRelative.objects.create(staff=official, name="配偶", id_hash=spouse, relation="配偶")
    firms = [
        IntermediaryFactory(legal_representative_id_hash=spouse, phone="0632 123 0003"),
        IntermediaryFactory(legal_representative_id_hash=former, address="光明路1号"),
        IntermediaryFactory(email=" office@zz.gov.cn"),
        IntermediaryFactory(phone="06321230004"),
        IntermediaryFactory(),
        IntermediaryFactory(),
    ]
    holds(firms[0], uscc=institute.uscc, share="35")
    holds(firms[1], uscc=firms[0].uscc, share="5")
    holds(firms[2], uscc=firms[1].uscc, share="60")
    holds(firms[0], uscc=firms[2].uscc, share="20")
    holds(firms[3], person_hash=boss, share="10")
    holds(firms[4], person_hash=clerk, share="50")
    holds(firms[5], person_hash=spouse, share="15")
    PractitionerFactory(intermediary=firms[4], id_hash=boss)
    PractitionerFactory(intermediary=firms[5], id_hash=former)
    return department, [f.pk for f in firms]


WALKS = [
    (graph.EDGE_KINDS, 3, None),
    (graph.EDGE_KINDS, 2, Decimal("10")),
    ((graph.SHAREHOLDING, graph.STAFF, graph.AFFILIATION), 3, None),
    ((graph.SHAREHOLDING, graph.STAFF, graph.AFFILIATION), 3, Decimal("20")),
    ((*graph.PERSON_ROLES, graph.STAFF, graph.RELATIVE), 2, None),
    ((*graph.PERSON_ROLES, graph.STAFF), 1, None),
    ((graph.CONTACT, graph.STAFF, graph.AFFILIATION), 1, None),
    ((graph.CONTACT,), 0, None),
]


@pytest.mark.parametrize(("kinds", "hops", "min_share"), WALKS)
def test_the_seeded_walk_finds_the_paths_of_the_sql_walk(kinds, hops, min_share):
    _, firms = a_tangled_market()

    seeded = graph.paths_to_department(firms, hops, kinds=kinds, min_share=min_share, seeded=True)
    walked = graph.paths_to_department(firms, hops, kinds=kinds, min_share=min_share, seeded=False)

    assert seeded == walked
    assert seeded or hops == 0


def test_one_neighbourhood_serves_every_walk_it_plans():
    _, firms = a_tangled_market()
    plan = [graph.request(kinds, hops, share) for kinds, hops, share in WALKS]
    memo: dict = {}
    near = graph.neighbourhood(firms, plan, memo=memo)

    for kinds, hops, share in WALKS:
        assert near.covers(firms[:2], graph.request(kinds, hops, share))
        found = graph.paths_to_department(firms[1:], hops, kinds=kinds, min_share=share, memo=memo)
        assert found == graph.paths_to_department(firms[1:], hops, kinds=kinds, min_share=share, seeded=False)
    assert not near.covers(firms, graph.request([graph.CONTACT], 4))
    narrow = graph.neighbourhood(firms, [graph.request([graph.SHAREHOLDING], 2, Decimal("20"))])
    assert not narrow.covers(firms, graph.request([graph.SHAREHOLDING], 2, Decimal("10")))
    assert not narrow.covers(firms, graph.request([graph.SHAREHOLDING, graph.STAFF], 2, Decimal("20")))
    assert narrow.covers(firms, graph.request([graph.SHAREHOLDING], 1, Decimal("30")))
    assert not near.covers([0, *firms], graph.request((graph.CONTACT,), 1))


def test_the_seeded_walk_takes_one_query_per_hop(django_assert_max_num_queries):
    _, firms = a_tangled_market()

    with django_assert_max_num_queries(1 + 3 + 1):
        graph.paths_to_department(firms, 3, seeded=True)
    memo: dict = {}
    graph.neighbourhood(firms, [graph.request(graph.EDGE_KINDS, 3)], memo=memo)
    with django_assert_max_num_queries(0):
        graph.paths_to_department(firms, 2, kinds=[graph.CONTACT, graph.STAFF], memo=memo)


@requires_postgres
def test_contacts_are_matched_through_the_expression_indexes():
    from django.db import connection

    department = DepartmentFactory()
    official = staff(department, person(), phone="0632-1230003", email="boss@zz.gov.cn")
    firm = IntermediaryFactory(phone="(0632) 1230003")
    near = graph._Frontier.of(
        [f"p:{official.id_hash}", f"a:{affiliate(department, uscc='').pk}", f"o:{firm.uscc}"]
    )
    selects, params = graph._near_contact_selects(near)

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + " UNION ALL ".join(selects), params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    for index in (
        "intermediary_phone_key",
        "intermediary_email_key",
        "intermediary_address_key",
        "staff_phone_key",
        "staff_email_key",
    ):
        assert index in plan
