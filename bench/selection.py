"""How long closing registration and selecting take with 1,000 applicants, per method."""

from __future__ import annotations

import random
import time
from decimal import Decimal

from django.db import transaction

APPLICANTS = 1000


def _market(service_type, n: int):
    from django.utils import timezone

    from marketplace.accounts.models import Membership, Organisation, Role, User
    from marketplace.providers.models import Intermediary
    from tests.factories import make_uscc

    orgs = Organisation.objects.bulk_create(
        Organisation(name=f"基准测试机构{i:04d}", kind=Role.INTERMEDIARY, uscc=make_uscc()) for i in range(n)
    )
    firms = Intermediary.objects.bulk_create(
        Intermediary(
            organisation=o,
            name=o.name,
            uscc=o.uscc,
            status=Intermediary.Status.LISTED,
            listed_at=timezone.now(),
            credit_score=Decimal(random.randint(60, 100)),
        )
        for o in orgs
    )
    users = User.objects.bulk_create(User(username=f"bench{i:04d}") for i in range(n))
    Membership.objects.bulk_create(
        Membership(user=u, organisation=o, role=Role.INTERMEDIARY) for u, o in zip(users, orgs, strict=True)
    )
    return list(zip(firms, users, strict=True))


def _one(method: str, firms_users, **overrides) -> tuple[float, float, float, int]:
    from marketplace.procurement import services
    from marketplace.procurement.models import EvaluatorScore
    from tests.procurement.factories import pass_deadline, published_project

    service_type = overrides.pop("service_type")
    project = published_project(method=method, service_type=service_type, **overrides)
    rng = random.Random(7)
    t0 = time.perf_counter()
    for firm, user in firms_users:
        quote = project.price_floor if method == "random_draw" else Decimal(rng.randint(50000, 100000))
        services.application_submit(actor=user, project=project, quote=quote, firm=firm)
    t1 = time.perf_counter()
    pass_deadline(project)
    services.registration_close(project=project)
    t2 = time.perf_counter()
    if method == "scored_comparison":
        with transaction.atomic():
            EvaluatorScore.objects.bulk_create(
                EvaluatorScore(application=a, evaluator="评审甲", score=Decimal(rng.randint(60, 100)))
                for a in project.applications.all()
            )
    t3 = time.perf_counter()
    selection = services.selection_run(project=project)
    t4 = time.perf_counter()
    return t1 - t0, t2 - t1, t4 - t3, len(selection.candidates)


def run() -> list[tuple[str, str, str]]:
    from tests.factories import ServiceTypeFactory

    random.seed(2024)
    service_type = ServiceTypeFactory()
    firms_users = _market(service_type, APPLICANTS)
    rows = []
    for method, extra in [
        ("lowest_price", {}),
        ("reference_price", {}),
        ("random_draw", {"price_floor": Decimal("80000"), "price_ceiling": Decimal("80000")}),
        ("credit_preference", {}),
        ("scored_comparison", {"price_weight": 40}),
    ]:
        apply_s, close_s, select_s, n = _one(method, firms_users, service_type=service_type, **extra)
        rows.append((f"selection {method} ({n} applicants)", f"{select_s * 1000:.0f} ms", "select only"))
        rows.append(
            (f"  close + unseal {n} quotes", f"{close_s * 1000:.0f} ms", f"{apply_s:.1f} s to submit them")
        )
    return rows
