"""Demo cases, credit, blacklist and inspections (``seed_demo`` calls ``seed_cases`` last).

Built through the real services from what the monitoring scan flagged in the demo market:
a concluded case with a credit deduction (remedied and published), a blacklisted firm (its case
in the remedy period), an open case awaiting the firm's answer, a random inspection with its
draw and published results, and a published plan awaiting its draw."""

from __future__ import annotations

import random
from typing import Any

from django.db import transaction
from stdnum.cn import ric

from marketplace.accounts.models import Membership, User
from marketplace.catalog.models import Department
from marketplace.procurement.services.contracts import winning_application

from .cases import credit, inspections, services
from .cases.models import Case, InspectionPlan, ViolationType
from .models import Flag

SEED = 2019
INSPECTORS = ["赵国栋", "钱立新", "孙志强", "李秀英", "周文博", "吴海燕", "郑建军"]


class CasesAlreadySeeded(Exception):
    pass


def _id_number(rng: random.Random) -> str:
    """An invented resident ID number that passes validation (drawn again until it does)."""
    while True:
        body = f"370402{rng.randint(1965, 1995)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return number


def _member(firm) -> User | None:
    membership = (
        Membership.objects.filter(organisation_id=firm.organisation_id).select_related("user").first()
    )
    return membership.user if membership else None


def _flagged_awards(limit: int) -> list[tuple[Flag, Any]]:
    """Open project flags whose project has a winner, one per firm, heaviest first."""
    chosen, firms = [], set()
    for flag in Flag.objects.filter(status=Flag.Status.OPEN, project__isnull=False).select_related("project"):
        try:
            firm = winning_application(flag.project).intermediary
        except Exception:  # noqa: S112 - a flag on a project without a winner is skipped
            continue
        if firm.pk in firms or _member(firm) is None:
            continue
        firms.add(firm.pk)
        chosen.append((flag, firm))
        if len(chosen) == limit:
            break
    return chosen


@transaction.atomic
def seed_cases() -> dict[str, Any]:
    if Case.objects.exists() or InspectionPlan.objects.exists():
        raise CasesAlreadySeeded
    regulator = User.objects.filter(username="regulator").first()
    if regulator is None:
        raise CasesAlreadySeeded
    rng = random.Random(SEED)  # noqa: S311 - invented, reproducible demo ID numbers
    manifest: dict[str, Any] = {}
    awards = _flagged_awards(3)
    if len(awards) < 3:
        raise RuntimeError("the demo market has fewer than 3 flagged awards to open cases from")

    (fee_flag, fee_firm), (tie_flag, tie_firm), (open_flag, open_firm) = awards
    v02, v04 = ViolationType.objects.get(code="V02"), ViolationType.objects.get(code="V04")

    case = services.case_open(
        actor=regulator,
        title="中选报价超出本机构公示收费标准",
        summary=f"风险提示 {fee_flag.rule}：项目 {fee_flag.project.public_number} 的报价与公示收费不符，立案核查。",
        flags=[fee_flag],
    )
    services.case_conclude(
        actor=regulator,
        case=case,
        violation=True,
        violation_type=v02,
        legal_basis="《中华人民共和国价格法》第十三条、第三十九条",
        conclusion="经核查，该机构在本项目中的收费超出其在平台公示的收费标准，构成违规收费。责令退还多收费用。",
    )
    services.case_remedy_report(
        actor=_member(fee_firm), case=case, report="已向业主退还多收费用并更新收费公示，附退款凭证。"
    )
    services.case_close(actor=regulator, case=case)
    manifest["concluded"] = case.number

    case = services.case_open(
        actor=regulator,
        title="隐瞒与审批部门的关联关系",
        summary=f"风险提示 {tie_flag.rule}：中选机构与审批部门存在未申报的关联。",
        flags=[tie_flag],
    )
    services.case_conclude(
        actor=regulator,
        case=case,
        violation=True,
        violation_type=v04,
        legal_basis="《国务院办公厅关于清理规范国务院部门行政审批中介服务的通知》（国办发〔2015〕31号）第三条",
        conclusion="该机构股东为审批部门所属单位，入驻时未如实申报关联关系，列入黑名单180天。",
    )
    manifest["blacklisted"] = tie_firm.name

    case = services.case_open(
        actor=regulator,
        title="选取结果异常",
        summary=f"风险提示 {open_flag.rule}：请中选机构说明情况。",
        flags=[open_flag],
    )
    services.explanation_request(
        actor=regulator,
        case=case,
        party="intermediary",
        question="请说明本项目报价的构成及与其他报名机构的联系情况，并提供报价测算依据。",
    )
    manifest["awaiting_answer"] = case.number

    departments = list(Department.objects.order_by("code")[:2])
    pool = []
    for index, name in enumerate(INSPECTORS, start=1):
        pool.append(
            inspections.inspector_add(
                actor=regulator,
                code=f"ZZSJ{index:04d}",
                name=name,
                id_number=_id_number(rng),
                department=departments[index % 2] if index <= 2 and departments else None,
            )
        )
    plan = inspections.plan_create(
        actor=regulator,
        title="2026年第一批中介机构“双随机”抽查",
        scope_text="收费公示执行情况、从业人员社保缴纳、服务成果质量。",
        population_kind=InspectionPlan.Population.FIRMS,
        sample_size=5,
        inspectors=pool,
        inspectors_per_target=2,
    )
    plan = inspections.plan_draw(actor=regulator, plan=plan)
    for index, target in enumerate(plan.targets.order_by("order")):
        problem = index == 0
        inspections.finding_record(
            actor=regulator,
            target=target,
            result="problem" if problem else "no_problem",
            finding="两名从业人员近3个月无本单位社保缴纳记录。" if problem else "未发现问题。",
        )
    inspections.plan_results_publish(actor=regulator, plan=plan)
    manifest["inspection_concluded"] = plan.number
    plan = inspections.plan_create(
        actor=regulator,
        title="2026年第二批已完工项目“双随机”抽查",
        scope_text="合同签订、服务时限、验收与付款。",
        population_kind=InspectionPlan.Population.FIRMS,
        sample_size=3,
        inspectors=pool,
        inspectors_per_target=2,
    )
    manifest["inspection_published"] = plan.number
    manifest["credit_changed"] = credit.credit_recompute()
    return manifest


def seed_into(stdout) -> None:
    """What ``seed_demo`` runs after the monitoring scan (idempotent: skipped when seeded)."""
    try:
        manifest = seed_cases()
    except CasesAlreadySeeded:
        stdout.write("The demo cases and inspections are there already: nothing to do.")
        return
    stdout.write(
        "Cases: concluded {concluded}, awaiting an answer {awaiting_answer}; blacklisted {blacklisted}; "
        "inspections {inspection_concluded} (results published), {inspection_published} (awaiting its draw)".format(
            **manifest
        )
    )
