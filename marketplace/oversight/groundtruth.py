"""Ground truth for the monitoring rules: a synthetic market with planted violations.

``build_small_market(seed=...)`` writes a background market of Zaozhuang (firms, owners and about a
hundred projects across methods and states, built to be clean: several valid applicants with
spread quotes, contracts equal to the winning quote, work delivered and accepted on time, every
payment tied to a contract line) and then, for every rule of DESIGN section 4, at least one
planted case: a small scenario of rows that breaks that rule. Beside them it plants look-alikes:
scenarios that resemble a violation but are legitimate, which the named rule must not flag (an
old declared tie past its cooling-off period, a quote low because the project is small, a firm
that wins often because it is the only one qualified, identical quotes in a random draw at the
owner's fixed price, and one per rule where natural).

The rows are written with the ORM in bulk: the procurement services refuse most planted
irregularities on purpose (and would make the market slow to build). Every row is valid for the
models and realistic: USCCs and ID numbers carry valid check digits, quotes are sealed with the
project's key, every selection is recomputable from its record (``procurement.verify``: the
methods of ``marketplace.procurement.methods`` choose every winner except the owner's own picks),
and dates follow the platform's working-day calendar, relative to the moment of the build.

The background is balanced so that it stays clean: no three firms bid together in more than
three price-competing rounds (CO05), every frequent bidder wins now and then (CO09), no owner
picks one firm a third time (FA02, FA09), prices and the winner's lead over the second quote are
spread evenly over each peer group (the statistical rules CO04, FE07, FE08 see a market, not
outliers), and the owners' disqualification rates are spread evenly (CO08).

The ``Manifest`` lists the planted cases (``{"rule", "subject_type", "subject_id", "note"}``), the
look-alikes in the same form (that rule must not flag that subject), and the flags a planted
scenario is expected to raise besides its own rule (``side_effects``, e.g. CO01 on the round of
CO07, where every other applicant was disqualified), so that a precision report can tell them
from flags on the background.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone
from stdnum.cn import ric
from stdnum.cn import uscc as uscc_number

from billing.models import LedgerEntry
from marketplace.accounts.models import Membership, Organisation, Role, User
from marketplace.catalog.models import (
    AffiliatedEntity,
    ApprovalItem,
    Department,
    QualificationLevel,
    QualificationType,
    ServiceType,
    ServiceTypeQualification,
)
from marketplace.core.validators import id_hash
from marketplace.core.workdays import add_working_days, is_working_day
from marketplace.procurement import draw, sealing
from marketplace.procurement.methods import Candidate, method_for
from marketplace.procurement.models import (
    Amendment,
    Application,
    Contract,
    Delivery,
    EvaluatorScore,
    Method,
    Objection,
    Project,
    Rating,
    Requirement,
    Selection,
    WalkAway,
)
from marketplace.providers.models import (
    COMMITMENT_VERSION,
    DeclaredTie,
    FeeSchedule,
    Intermediary,
    Offer,
    Practitioner,
    Qualification,
    Shareholder,
)

from .models import Complaint, DepartmentStaff, FiledReport, StaffRelative

D = Decimal
V = Application.State
M = Method
NUMBER_PREFIX = "GT"
RULE_CODES = tuple(
    [f"FA{i:02d}" for i in range(1, 10)]
    + [f"RP{i:02d}" for i in range(1, 7)]
    + [f"FE{i:02d}" for i in range(1, 11)]
    + [f"CO{i:02d}" for i in range(1, 10)]
    + [f"PR{i:02d}" for i in range(1, 7)]
)
# Methods in which the quoted price competes (the competition rules' PRICE_COMPETES).
PRICE_COMPETES = (M.LOWEST_PRICE, M.REFERENCE_PRICE, M.CREDIT_PREFERENCE, M.SCORED_COMPARISON)
OWNER_PICKS = (M.DIRECT, M.CREDIT_PREFERENCE)
DISCRETIONARY = (M.CREDIT_PREFERENCE, M.SCORED_COMPARISON)
STAGES = (
    "published",
    "deadline",
    "result",
    "contracting",
    "uploaded",
    "confirmed",
    "delivered",
    "accepted",
    "paid",
    "rated",
    "closed",
)
STATUS_AT = {
    "published": "published",
    "deadline": "registration_closed",
    "result": "selected",
    "contracting": "contracting",
    "uploaded": "contracting",
    "confirmed": "in_service",
    "delivered": "delivered",
    "accepted": "accepted",
    "paid": "accepted",
    "rated": "rated",
    "closed": "closed",
}
PDF = "groundtruth/{kind}/{name}.pdf"


class AlreadySeeded(RuntimeError):
    """The database holds a synthetic market already (its project numbers start with GT)."""


# --- the manifest -------------------------------------------------------------------------------


@dataclass
class Manifest:
    """What was planted where: ``planted`` (each rule must flag its subject), ``look_alikes``
    (that rule must not flag that subject) and ``side_effects`` (other flags a planted scenario
    is expected to raise), each a list of ``{"rule", "subject_type", "subject_id", "note"}``."""

    seed: int
    scale: str = "small"
    planted: list[dict] = field(default_factory=list)
    look_alikes: list[dict] = field(default_factory=list)
    side_effects: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def planted_by_rule(self) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = defaultdict(list)
        for case in self.planted:
            grouped[case["rule"]].append(case)
        return dict(grouped)

    def look_alikes_by_rule(self) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = defaultdict(list)
        for case in self.look_alikes:
            grouped[case["rule"]].append(case)
        return dict(grouped)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "scale": self.scale,
            "seconds": round(self.seconds, 2),
            "counts": self.counts,
            "planted": self.planted,
            "look_alikes": self.look_alikes,
            "side_effects": self.side_effects,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)

    def summary_lines(self) -> list[str]:
        """A short table: planted cases and look-alikes per rule, then the row counts."""
        planted, alikes = self.planted_by_rule(), self.look_alikes_by_rule()
        lines = [f"{'rule':<6}{'planted':>8}{'look-alikes':>13}"]
        for code in RULE_CODES:
            lines.append(f"{code:<6}{len(planted.get(code, [])):>8}{len(alikes.get(code, [])):>13}")
        lines.append(
            f"{'total':<6}{len(self.planted):>8}{len(self.look_alikes):>13}"
            f"   (expected side effects: {len(self.side_effects)})"
        )
        lines.append(", ".join(f"{name} {count}" for name, count in self.counts.items()))
        return lines


# --- the catalogue slice the market uses --------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """How a service is bought here: its approval item, the usual price range of a project
    (yuan), the service time (working days) and the project scales (10,000 yuan)."""

    item: str
    price: tuple[int, int]
    days: int
    scale: tuple[int, int] = (1000, 9000)


LINES = {
    "eia_report": Line("eia_document_approval", (60000, 84000), 30),
    "soil_water_conservation_plan": Line("soil_water_plan_approval", (30000, 42000), 25),
    "land_survey_boundary": Line("construction_land_approval", (20000, 27000), 15, (1200, 4800)),
    "cost_consulting": Line("gov_preliminary_design", (20000, 29000), 20),
    "feasibility_study": Line("gov_feasibility_study", (45000, 63000), 30),
    "traffic_impact_assessment": Line("construction_planning_permit", (35000, 49000), 25),
    "geotechnical_survey": Line("construction_permit", (50000, 70000), 25),
    "safety_pre_assessment": Line("hazchem_safety_conditions", (40000, 56000), 30),
    "lightning_risk_assessment": Line("lightning_design_review", (8000, 11500), 10),
    "special_equipment_inspection": Line("special_equipment_registration", (6000, 10000), 5, (120, 480)),
}
# Small boundary surveys: the government-guided band for projects under 10,000,000 yuan.
SMALL_SURVEY = Line("construction_land_approval", (5500, 8000), 10, (200, 900))

# Firm profiles of the background: (trade, service types, number of firms).
PROFILES = (
    ("环境科技", ("eia_report", "soil_water_conservation_plan"), 11),
    ("环境安全咨询", ("eia_report", "safety_pre_assessment"), 3),
    ("测绘地理信息", ("land_survey_boundary",), 12),
    ("工程咨询", ("cost_consulting", "feasibility_study", "traffic_impact_assessment"), 11),
    ("岩土工程勘察", ("geotechnical_survey",), 10),
    ("安全技术服务", ("safety_pre_assessment", "lightning_risk_assessment"), 9),
    ("防雷技术", ("lightning_risk_assessment",), 6),
    ("水土保持技术", ("soil_water_conservation_plan",), 3),
    ("交通规划设计", ("traffic_impact_assessment", "cost_consulting"), 6),
)
# Background projects: service type -> {method: count}.
BACKGROUND = {
    "eia_report": {
        M.LOWEST_PRICE: 7,
        M.REFERENCE_PRICE: 3,
        M.RANDOM_DRAW: 3,
        M.SCORED_COMPARISON: 2,
        M.CREDIT_PREFERENCE: 1,
    },
    "soil_water_conservation_plan": {
        M.LOWEST_PRICE: 4,
        M.REFERENCE_PRICE: 2,
        M.RANDOM_DRAW: 3,
        M.CREDIT_PREFERENCE: 2,
    },
    "land_survey_boundary": {
        M.LOWEST_PRICE: 4,
        M.RANDOM_DRAW: 3,
        M.REFERENCE_PRICE: 2,
        M.SCORED_COMPARISON: 1,
    },
    "cost_consulting": {M.DIRECT: 4, M.LOWEST_PRICE: 4, M.RANDOM_DRAW: 3, M.CREDIT_PREFERENCE: 2},
    "feasibility_study": {
        M.SCORED_COMPARISON: 3,
        M.CREDIT_PREFERENCE: 2,
        M.LOWEST_PRICE: 2,
        M.RANDOM_DRAW: 1,
    },
    "traffic_impact_assessment": {
        M.LOWEST_PRICE: 3,
        M.RANDOM_DRAW: 2,
        M.SCORED_COMPARISON: 2,
        M.REFERENCE_PRICE: 1,
    },
    "geotechnical_survey": {
        M.LOWEST_PRICE: 4,
        M.REFERENCE_PRICE: 2,
        M.RANDOM_DRAW: 2,
        M.SCORED_COMPARISON: 2,
    },
    "safety_pre_assessment": {
        M.LOWEST_PRICE: 4,
        M.RANDOM_DRAW: 3,
        M.SCORED_COMPARISON: 2,
        M.CREDIT_PREFERENCE: 2,
    },
}
SMALL_SURVEYS = {M.LOWEST_PRICE: 3, M.RANDOM_DRAW: 2, M.REFERENCE_PRICE: 1}

OWNERS = (
    # name, funding, disqualifications per round: the owners' shares of disqualified
    # applicants spread evenly over a realistic range (CO08 judges owners against each other)
    ("枣庄市市中区城市建设投资有限公司", "fiscal", 0.1),
    ("枣庄高新区建设投资有限公司", "fiscal", 0.2),
    ("滕州市城市建设综合开发有限公司", "fiscal", 0.3),
    ("枣庄市薛城区教育和体育局", "fiscal", 0.4),
    ("山亭区水务发展有限公司", "fiscal", 0.5),
    ("台儿庄区交通投资有限公司", "fiscal", 0.6),
    ("枣庄市立医院", "fiscal", 0.7),
    ("山东鲁南新材料股份有限公司", "private", 0.15),
    ("枣庄市恒泰置业有限公司", "private", 0.35),
    ("峄城区石榴园文化旅游开发有限公司", "private", 0.55),
    ("滕州市鑫源化工有限公司", "private", 0.75),
)

TITLES = {
    "eia_report": "{place}{thing}环境影响评价报告书编制",
    "soil_water_conservation_plan": "{place}{thing}水土保持方案编制",
    "land_survey_boundary": "{place}{thing}用地勘测定界",
    "cost_consulting": "{place}{thing}工程造价咨询",
    "feasibility_study": "{place}{thing}可行性研究报告编制",
    "traffic_impact_assessment": "{place}{thing}交通影响评价",
    "geotechnical_survey": "{place}{thing}岩土工程勘察",
    "safety_pre_assessment": "{place}{thing}安全预评价",
    "lightning_risk_assessment": "{place}{thing}雷电灾害风险评估",
    "special_equipment_inspection": "{place}{thing}特种设备定期检验",
}
CONTENT = {
    "eia_report": "开展现状调查与监测，编制环境影响报告书，配合生态环境部门技术评估并按意见修改完善。",
    "soil_water_conservation_plan": "编制水土保持方案报告书，提出防治措施和监测方案，配合水行政主管部门审查。",
    "land_survey_boundary": "实地测定用地界址，编制勘测定界报告及图件，配合用地报批。",
    "cost_consulting": "编制工程量清单及招标控制价，提供概算审核和造价咨询意见。",
    "feasibility_study": "开展项目建设必要性和可行性论证，编制可行性研究报告并配合评审。",
    "traffic_impact_assessment": "调查周边道路交通现状，预测项目交通影响，提出改善措施并编制评价报告。",
    "geotechnical_survey": "完成钻探、原位测试和土工试验，提交岩土工程勘察报告。",
    "safety_pre_assessment": "辨识危险有害因素，评价安全条件，编制安全预评价报告并配合审查。",
    "lightning_risk_assessment": "开展雷电灾害风险调查与评估，提出防护措施建议，编制评估报告。",
    "special_equipment_inspection": "对在用锅炉、压力容器和电梯进行定期检验，出具检验报告。",
}
PLACES = tuple(
    "市中区 薛城区 峄城区 台儿庄区 山亭区 滕州市 枣庄高新区 薛城区新城 市中区光明路 滕州市北辛街道".split()
)
THINGS = tuple(
    "城市更新改造项目 污水处理厂扩建工程 道路改造工程 综合管廊工程 学校新建工程 物流园建设项目 安置房建设项目 新材料产业园项目 热电联产项目 医院门诊楼工程 商业综合体项目 农贸市场改造工程 厂房扩建项目 水库除险加固工程 公园提升工程".split()
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = tuple(
    "伟 芳 娜 敏 静 强 磊 军 洋 勇 艳 杰 涛 明 超 霞 平 刚 建华 志强 晓东 海燕 红梅 文博 国庆 立新 春雷 玉兰 振华 宏伟 德胜 秀云".split()
)
WORDS = tuple(
    "恒信 博远 中正 华拓 鑫源 泰和 宏图 天诚 金诚 众合 德润 瑞丰 汇通 同创 广源 晟达 启明 昊天 致远 联创 安泰 正元 卓越 明远 鼎盛 诚信 永安 国泰 华诚 兴业 长城 银河 海岳 金鼎 丰泽 润达 信达 瑞通 正弘 东岳".split()
)
CITIES = (
    ("枣庄", "枣庄市市中区", "0632"),
    ("枣庄", "枣庄市薛城区", "0632"),
    ("滕州", "滕州市", "0632"),
    ("济南", "济南市历下区", "0531"),
    ("临沂", "临沂市兰山区", "0539"),
    ("徐州", "江苏省徐州市云龙区", "0516"),
    ("济宁", "济宁市任城区", "0537"),
)
ROADS = ("光明路", "文化路", "建设路", "民生路", "泰山路", "长江路", "黄河路", "青檀路", "振兴路", "北辛路")
DQ_REASONS = (
    "资质证书已过有效期。",
    "未提供近3个月社会保险缴纳证明。",
    "营业执照经营范围不含本项服务。",
    "从业人员数量不满足项目要求。",
    "报名材料未按要求加盖公章。",
)
ID_AREAS = ("370402", "370403", "370404", "370405", "370406")


# --- handles ------------------------------------------------------------------------------------


@dataclass(eq=False)
class FirmH:
    obj: Intermediary
    user: User
    services: tuple[str, ...]
    ip: str
    background: bool = True


@dataclass(eq=False)
class OwnerH:
    obj: Organisation
    user: User
    funding: str
    dq_rate: float = 0.0
    background: bool = False
    dq_due: float = 0.5


@dataclass(eq=False)
class Bid:
    firm: FirmH
    quote: Decimal
    state: str = V.VALID
    reason: str = ""
    submitted: datetime | None = None
    proposal: Decimal | None = None


@dataclass(eq=False)
class RoundH:
    project: Project
    apps: dict[FirmH, Application]
    winner: FirmH | None
    stage: str
    selection: Selection | None = None
    contract: Contract | None = None
    times: dict[str, Any] = field(default_factory=dict)


def _round(value: Decimal | float, step: int) -> Decimal:
    return (D(str(value)) / step).quantize(D("1"), rounding=ROUND_HALF_UP) * step


def _money(value: Decimal | float | int) -> Decimal:
    return D(str(value)).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def _step(value: Decimal | float) -> int:
    return 10 if D(str(value)) < 20000 else 100


def _subject_type(subject: Any) -> str:
    if isinstance(subject, Project):
        return "project"
    if isinstance(subject, Intermediary):
        return "intermediary"
    if isinstance(subject, Organisation):
        return "owner"
    if isinstance(subject, Department):
        return "department"
    raise TypeError(f"not a flag subject: {subject!r}")


# --- the builder ----------------------------------------------------------------------------------


class _Builder:
    def __init__(self, seed: int, now: datetime | None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 (synthetic data, reproducible from the seed)
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self._n: Counter[str] = Counter()
        self._uscc_base = 700_000_000 + (seed % 97) * 1_000_000
        self._ids: set[str] = set()
        self.firms: list[FirmH] = []
        self.names: set[str] = set()
        self.decks: dict[Any, list[float]] = {}
        self.owners: list[OwnerH] = []
        self.rows: dict[type[models.Model], list[Any]] = defaultdict(list)
        self.relaunches: list[tuple[Project, Project]] = []
        self.sealed: list[tuple[Application, Decimal]] = []
        self.offers: list[tuple[Offer, list[FeeSchedule]]] = []
        self.entries: dict[str, list[tuple[str, Any, str]]] = {"planted": [], "look_alikes": [], "side": []}
        # Statistics the background is balanced on (see ``choose`` and ``prefer``).
        self.triples: Counter = Counter()  # rounds three firms bid in together (CO05)
        self.bids: Counter = Counter()  # valid price-competing bids with a result (CO09)
        self.wins: Counter = Counter()
        self.picks: Counter = Counter()  # (owner, firm, kind) of direct and discretionary awards
        self.department_wins: Counter = Counter()
        self.department_awards: Counter = Counter()

    # --- catalogue --------------------------------------------------------------------------

    def load_catalogue(self) -> None:
        self.service = {s.code: s for s in ServiceType.objects.filter(code__in=list(LINES))}
        missing = set(LINES) - set(self.service)
        if missing:
            raise RuntimeError(f"the service catalogue lacks {sorted(missing)}: run the migrations first")
        self.items = {i.code: i for i in ApprovalItem.objects.select_related("department")}
        self.departments = {d.code: d for d in Department.objects.all()}
        self.affiliates = {a.name: a for a in AffiliatedEntity.objects.select_related("department")}
        codes = {s.pk: code for code, s in self.service.items()}
        self.allowed: dict[str, list[ServiceTypeQualification]] = defaultdict(list)
        for stq in ServiceTypeQualification.objects.filter(service_type_id__in=codes).select_related(
            "qualification_type", "standard_level"
        ):
            self.allowed[codes[stq.service_type_id]].append(stq)
        self.qtypes = {q.code: q for q in QualificationType.objects.all()}
        self.levels = {
            (lv.qualification_type.code, lv.code): lv
            for lv in QualificationLevel.objects.select_related("qualification_type")
        }

    @staticmethod
    def expect(condition: bool, message: str) -> None:
        if not condition:
            raise RuntimeError(message)

    # --- identities -------------------------------------------------------------------------

    def next(self, name: str) -> int:
        self._n[name] += 1
        return self._n[name]

    def uscc(self, prefix: str = "91") -> str:
        body = f"{prefix}370400{self._uscc_base + self.next('uscc'):09d}"[:17]
        return body + uscc_number.calc_check_digit(body)

    def person(self) -> tuple[str, str]:
        """A name and the keyed hash of an invented resident ID number with a valid check digit."""
        while True:
            # The district codes of the city as stdnum knows them (assigned from 1984).
            born = date(1984, 3, 1) + timedelta(days=self.rng.randrange(0, 13 * 365))
            body = f"{self.rng.choice(ID_AREAS)}{born:%Y%m%d}{self.rng.randrange(1, 999):03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self._ids:
                self._ids.add(number)
                break
        name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
        return name, id_hash(number)

    def phone(self, area: str = "0632") -> str:
        return f"{area}-{5100000 + self.next('phone') * 37:07d}"

    def mobile(self) -> str:
        return f"139{self.seed % 100:02d}{600000 + self.next('mobile'):06d}"

    def ip(self) -> str:
        n = self.next("ip")
        return f"10.{60 + self.seed % 100}.{n // 200}.{n % 200 + 20}"

    # --- parties ----------------------------------------------------------------------------

    def user(self, organisation: Organisation, role: str, name: str) -> User:
        n = self.next("user")
        user = User(
            username=f"gt{self.seed}_{role[:5]}{n:04d}",
            full_name=name,
            email=f"gt{self.seed}.{n:04d}@example.cn",
            password=make_password(None),
        )
        self.rows[User].append(user)
        self.rows[Membership].append(
            Membership(user=user, organisation=organisation, role=role, is_manager=True)
        )
        return user

    def owner(self, name: str, funding: str, *, dq_rate: float = 0.0, background: bool = False) -> OwnerH:
        organisation = Organisation(
            name=name, kind=Role.OWNER, uscc=self.uscc("12" if funding == "fiscal" else "91")
        )
        self.rows[Organisation].append(organisation)
        handle = OwnerH(
            organisation,
            self.user(organisation, Role.OWNER, self.person()[0]),
            funding,
            dq_rate,
            background,
        )
        self.owners.append(handle)
        return handle

    def firm(
        self,
        services: Iterable[str],
        *,
        trade: str = "技术服务",
        name: str | None = None,
        uscc: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        address: str | None = None,
        representative: tuple[str, str] | None = None,
        shareholders: list[dict] | None = None,
        practitioners: list[tuple[str, str]] | None = None,
        fee_max: dict[str, Decimal] | None = None,
        fee_history: dict[str, list[tuple[datetime, Decimal, Decimal]]] | None = None,
        background: bool = True,
        ip: str | None = None,
    ) -> FirmH:
        services = tuple(services)
        n = self.next("firm")
        city, district, area = CITIES[0 if n % 3 else self.rng.randrange(len(CITIES))]
        while name is None or name in self.names:
            name = f"{city}{self.rng.choice(WORDS)}{trade}有限公司"
        self.names.add(name)
        uscc = uscc or self.uscc()
        organisation = Organisation(name=name, kind=Role.INTERMEDIARY, uscc=uscc)
        self.rows[Organisation].append(organisation)
        rep_name, rep_hash = representative or self.person()
        listed = self.now - timedelta(days=self.rng.randrange(500, 1400))
        firm = Intermediary(
            organisation=organisation,
            name=name,
            uscc=uscc,
            legal_representative=rep_name,
            legal_representative_id_hash=rep_hash,
            address=address or f"{district}{self.rng.choice(ROADS)}{100 + self.next('address') * 7}号",
            contact_name=self.person()[0],
            phone=phone or self.phone(area),
            email=email or f"bid{self.seed % 100:02d}{n:03d}@firm{n:03d}.com.cn",
            description=f"从事{trade}等中介服务。",
            status=Intermediary.Status.LISTED,
            commitment_signed_at=listed - timedelta(days=3),
            commitment_signed_by=rep_name,
            commitment_version=COMMITMENT_VERSION,
            listed_at=listed,
            review_due=timezone.localdate(listed) + timedelta(days=3),
            reviewed_at=listed + timedelta(days=2),
            credit_score=_money(self.rng.uniform(72, 96)),
            credit_grade="A",
        )
        self.rows[Intermediary].append(firm)
        holders = shareholders or [
            {"kind": "person", "name": rep_name, "id_hash": rep_hash, "share": D("70")},
            {
                "kind": "person",
                **dict(zip(("name", "id_hash"), self.person(), strict=True)),
                "share": D("30"),
            },
        ]
        for holder in holders:
            self.rows[Shareholder].append(
                Shareholder(
                    intermediary=firm,
                    kind=holder["kind"],
                    name=holder["name"],
                    id_hash=holder.get("id_hash", ""),
                    uscc=holder.get("uscc", ""),
                    share=D(str(holder["share"])),
                )
            )
        for person in practitioners or [self.person(), self.person()]:
            p = self.next("practitioner")
            self.rows[Practitioner].append(
                Practitioner(
                    intermediary=firm,
                    name=person[0],
                    id_hash=person[1],
                    id_last4=f"{p % 10000:04d}",
                    title=self.rng.choice(
                        ("高级工程师", "注册环评工程师", "注册测绘师", "注册安全工程师", "工程师")
                    ),
                    certificate_number=f"GT-PR-{self.seed}-{p:05d}",
                    certificate=PDF.format(kind="practitioner", name=f"cert{p}"),
                    insured_since=self.today - timedelta(days=self.rng.randrange(200, 2000)),
                    social_insurance_proof=PDF.format(kind="practitioner", name=f"si{p}"),
                )
            )
        self._qualifications(firm, services)
        handle = FirmH(
            firm,
            self.user(organisation, Role.INTERMEDIARY, rep_name),
            services,
            ip or self.ip(),
            background,
        )
        for code in services:
            line = LINES[code]
            top = D(fee_max[code]) if fee_max and code in fee_max else _money(line.price[1] * 2)
            history = (fee_history or {}).get(code) or [(listed, _money(line.price[0] * 0.5), top)]
            offer = Offer(
                intermediary=firm,
                service_type=self.service[code],
                description=f"承接{self.service[code].name_zh}。",
                included="现场踏勘、资料收集、报告编制、配合评审及修改完善",
                service_days=line.days,
            )
            schedules = [
                FeeSchedule(
                    offer=offer,
                    version=i,
                    basis=FeeSchedule.Basis.FIXED,
                    rate=_money((low + high) / 2),
                    fee_min=low,
                    fee_max=high,
                    note="" if i == 1 else "调整收费标准",
                    effective_from=at,
                )
                for i, (at, low, high) in enumerate(history, start=1)
            ]
            self.offers.append((offer, schedules))
        self.firms.append(handle)
        return handle

    def _qualifications(self, firm: Intermediary, services: tuple[str, ...]) -> None:
        seen = set()
        for code in services:
            for stq in self.allowed.get(code, []):
                qt = stq.qualification_type
                if qt.code in seen:
                    continue
                seen.add(qt.code)
                q = self.next("qualification")
                self.rows[Qualification].append(
                    Qualification(
                        intermediary=firm,
                        qualification_type=qt,
                        level=stq.standard_level,
                        number=f"GT{self.seed}-{qt.code[:6].upper()}-{q:05d}",
                        authority="山东省相关主管部门",
                        valid_from=self.today - timedelta(days=900),
                        valid_until=self.today + timedelta(days=900),
                        certificate=PDF.format(kind="qualification", name=f"q{q}"),
                    )
                )

    def staff(
        self,
        department: str,
        *,
        person: tuple[str, str] | None = None,
        position: str = "科员",
        started: date | None = None,
        ended: date | None = None,
    ) -> DepartmentStaff:
        name, hashed = person or self.person()
        row = DepartmentStaff(
            department=self.departments[department],
            name=name,
            id_hash=hashed,
            position=position,
            phone=self.mobile(),
            email=f"staff{self.next('staff'):04d}@{department.replace('_', '')}.zaozhuang.example",
            started_on=started or self.today - timedelta(days=self.rng.randrange(1500, 6000)),
            ended_on=ended,
        )
        self.rows[DepartmentStaff].append(row)
        return row

    def declare(
        self,
        firm: FirmH,
        department: str,
        kind: str,
        description: str,
        *,
        affiliate: str | None = None,
        person: str = "",
        ended: date | None = None,
    ) -> None:
        self.rows[DeclaredTie].append(
            DeclaredTie(
                intermediary=firm.obj,
                department=self.departments[department],
                affiliate=self.affiliates[affiliate] if affiliate else None,
                kind=kind,
                person_name=person,
                ended_on=ended,
                description=description,
            )
        )

    # --- time -------------------------------------------------------------------------------

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_current_timezone())

    def workday(self, day: date) -> date:
        """``day`` or the working day before it."""
        while not is_working_day(day):
            day -= timedelta(days=1)
        return day

    def ago(self, days: int) -> date:
        return self.workday(self.today - timedelta(days=days))

    @staticmethod
    def back(day: date, count: int) -> date:
        """``count`` working days before ``day``."""
        while count:
            day -= timedelta(days=1)
            if is_working_day(day):
                count -= 1
        return day

    def timeline(
        self,
        deadline: date,
        days: int,
        owner_picks: bool,
        *,
        published_wd: int = 8,
        publicity_wd: int = 3,
        confirm_on_due: bool = False,
        deliver_late_wd: int | None = None,
        accept_on_due: bool = False,
        result_delay_wd: int = 0,
    ) -> dict[str, Any]:
        t: dict[str, Any] = {}
        t["published"] = self.at(self.back(deadline, published_wd), 9, 30)
        t["deadline"] = self.at(deadline, 17, 0)
        selection_day = add_working_days(deadline, 1)
        t["selection"] = self.at(selection_day, 9, 30)
        if result_delay_wd:
            t["result"] = self.at(add_working_days(selection_day, result_delay_wd), 10, 0)
        elif owner_picks:
            t["result"] = self.at(add_working_days(selection_day, 1), 15, 0)
        else:
            t["result"] = t["selection"] + timedelta(minutes=5)
        result_day = timezone.localdate(t["result"])
        t["publicity_ends_on"] = add_working_days(result_day, publicity_wd)
        t["contracting"] = self.at(t["publicity_ends_on"] + timedelta(days=1), 0, 30)
        t["contract_due"] = add_working_days(t["publicity_ends_on"], settings.CONTRACT_WORKING_DAYS)
        t["uploaded"] = self.at(add_working_days(t["publicity_ends_on"], 1), 10, 0)
        confirm_day = t["contract_due"] if confirm_on_due else add_working_days(t["publicity_ends_on"], 2)
        t["confirmed"] = self.at(confirm_day, 16 if confirm_on_due else 15, 0)
        t["delivery_due"] = add_working_days(confirm_day, days)
        if deliver_late_wd is not None:
            delivered = add_working_days(t["delivery_due"], deliver_late_wd)
        else:
            delivered = add_working_days(confirm_day, max(1, days - self.rng.randrange(0, 5)))
        t["delivered"] = self.at(delivered, 16, 0)
        t["acceptance_due"] = add_working_days(delivered, settings.ACCEPTANCE_WORKING_DAYS)
        accepted = (
            t["acceptance_due"] if accept_on_due else add_working_days(delivered, self.rng.randrange(2, 8))
        )
        t["accepted"] = self.at(accepted, 10, 0)
        t["paid"] = self.at(add_working_days(accepted, 3), 11, 0)
        t["rated"] = self.at(add_working_days(accepted, 5), 14, 0)
        t["closed"] = self.at(add_working_days(accepted, 15), 9, 0)
        return t

    # --- quotes -----------------------------------------------------------------------------

    def spread(self, key: Any, size: int = 12) -> float:
        """A fraction in [0, 1) from a shuffled deck of ``size`` evenly spaced ones per ``key``:
        a few dozen draws then cover the range evenly, so a small peer group looks like a
        market (wide Tukey fences) rather than a handful of random points."""
        deck = self.decks.setdefault(key, [])
        if not deck:
            deck += [(i + self.rng.uniform(0.2, 0.8)) / size for i in range(size)]
            self.rng.shuffle(deck)
        return deck.pop()

    def price(self, line: Line) -> Decimal:
        """A project's price level: the line's range, spread evenly over its projects."""
        low, high = line.price
        value = low + (high - low) * self.spread(("price", line))
        return _money(_round(value, _step(value)))

    def ladder(
        self, base: Decimal, n: int, service: str | None = None, method: str = M.LOWEST_PRICE
    ) -> list[Decimal]:
        """``n`` distinct quotes from ``base`` up, each 4% to 8% above the one before (the
        background's spread, so the gap rules see a regular market); the first step, the gap
        the winner keeps over the second, is spread evenly per service type and method."""
        quotes = [base]
        while len(quotes) < n:
            fraction = self.spread(("gap", service, method)) if len(quotes) == 1 else self.rng.random()
            value = quotes[-1] * D(str(1.04 + 0.04 * fraction))
            quotes.append(_money(_round(value, _step(value))))
        return quotes

    # --- applicants -------------------------------------------------------------------------

    def pool(self, service: str, exclude: Iterable[FirmH] = ()) -> list[FirmH]:
        excluded = set(exclude)
        return [f for f in self.firms if f.background and service in f.services and f not in excluded]

    def choose(
        self,
        service: str,
        n: int,
        method: str,
        *,
        exclude: Iterable[FirmH] = (),
        include: Iterable[FirmH] = (),
    ) -> list[FirmH]:
        """``n`` more applicants beside ``include`` (the firms already in the round), never
        making three firms bid together in a fourth price-competing round, so that no group of
        the background bids together often enough to look like a ring (CO05)."""
        include = list(include)
        chosen = list(include)
        candidates = self.pool(service, [*exclude, *chosen])
        self.rng.shuffle(candidates)
        # Firms that have bid often without a win are kept out of the losing seats (CO09).
        candidates.sort(
            key=lambda f: (self.wins[f] == 0 and self.bids[f] >= 4, self.bids[f] + self.rng.random())
        )
        competes = method in PRICE_COMPETES
        for firm in candidates:
            if len(chosen) >= n + len(include):
                break
            if competes and any(
                self.triples[self.key(firm, a, c)] >= 3 for i, a in enumerate(chosen) for c in chosen[i + 1 :]
            ):
                continue
            chosen.append(firm)
        return chosen[len(include) :]

    @staticmethod
    def key(*firms: FirmH) -> tuple[int, ...]:
        return tuple(sorted(id(f) for f in firms))

    def prefer(
        self,
        candidates: list[FirmH],
        owner: OwnerH,
        method: str,
        department: str | None,
        avoid: Iterable[FirmH] = (),
    ) -> FirmH:
        """The applicant the background lets win: the fewest wins for its bids, and never a
        third pick of one firm by one owner or a large share of a department's awards."""

        def key(firm: FirmH) -> tuple:
            kind = "direct" if method == M.DIRECT else "pick" if method in DISCRETIONARY else ""
            repeated = self.picks[(owner, firm, kind)] >= 2 if kind else False
            share = (
                self.department_wins[(department, firm)] / max(1, self.department_awards[department])
                if department
                else 0
            )
            return (
                repeated,
                share > 0.2,
                self.wins[firm] / (1 + self.bids[firm]),
                self.wins[firm],
                self.rng.random(),
            )

        avoid = set(avoid)
        return min([c for c in candidates if c not in avoid] or candidates, key=key)

    def auto_bids(
        self,
        service: str,
        method: str,
        owner: OwnerH,
        line: Line,
        *,
        n: int | None = None,
        extra: Iterable[FirmH] = (),
        exclude: Iterable[FirmH] = (),
        fixed: Decimal | None = None,
    ) -> list[Bid]:
        extra = list(extra)
        if n is None:
            sizes: dict[str, int] = {
                M.DIRECT: self.rng.choice((1, 1, 2)),
                M.RANDOM_DRAW: self.rng.randrange(3, 6),
                M.CREDIT_PREFERENCE: self.rng.randrange(4, 6),
                M.SCORED_COMPARISON: self.rng.randrange(3, 5),
                M.REFERENCE_PRICE: self.rng.randrange(3, 5),
            }
            n = sizes.get(method, self.rng.randrange(4, 6))
        exclude = [*exclude, *extra]
        if method == M.DIRECT:
            # An owner's direct pick goes to a firm it has picked twice at most (FA02).
            exclude += [f for f in self.pool(service) if self.picks[(owner, f, "direct")] >= 2]
        firms = self.choose(service, n, method, exclude=exclude)
        base = fixed if fixed is not None else self.price(line)
        if method == M.REFERENCE_PRICE:
            # The reference lands near the second quote: start lower so the winner is at the level.
            base = _money(_round(base / D("1.06"), _step(base)))
        if method == M.RANDOM_DRAW:
            quotes = [base] * len(firms)
        else:
            quotes = self.ladder(base, len(firms), service, method)
            self.rng.shuffle(quotes)
        bids = [Bid(f, q) for f, q in zip(firms, quotes, strict=True)]
        top = max(q for q in quotes) if quotes else base
        for firm in extra:
            top = _money(_round(top * D(str(1 + self.rng.uniform(0.04, 0.08))), _step(top)))
            bids.append(Bid(firm, top if method != M.RANDOM_DRAW else base, proposal=D("68")))
        return bids

    # --- rounds -----------------------------------------------------------------------------

    def number(self, deadline: date) -> str:
        return f"{NUMBER_PREFIX}{deadline:%y}-{self.seed % 100:02d}{self.next('project'):04d}"

    def round(
        self,
        service: str,
        owner: OwnerH,
        method: str,
        deadline: date,
        *,
        bids: list[Bid] | None = None,
        n: int | None = None,
        winner: FirmH | None = None,
        line: Line | None = None,
        scale: Decimal | None = None,
        funding: str | None = None,
        stop: str | None = None,
        title: str | None = None,
        content: str | None = None,
        item: str | None | bool = True,
        case: str = "",
        requirements: list[tuple[str, str | None]] | None = None,
        practitioners: int | None = None,
        floor: Decimal | None = None,
        ceiling: Decimal | None = None,
        extra: Iterable[FirmH] = (),
        exclude: Iterable[FirmH] = (),
        dq: bool | None = None,
        published_wd: int = 8,
        publicity_wd: int = 3,
        confirm_on_due: bool = False,
        deliver_late_wd: int | None = None,
        accept_on_due: bool = False,
        pay_after_acceptance: bool = True,
        contract_amount: Decimal | None = None,
        amendment: tuple[Decimal, str] | None = None,
        payments: list[tuple[str, Decimal, str, str]] | None = None,
        walkaway: str | None = None,
        relaunch_of: Project | None = None,
        relaunched: bool = False,
        annul: tuple[FirmH, str] | None = None,
        cancelled: str | None = None,
        objection: str | None = None,
        price_weight: int = 30,
    ) -> RoundH:
        line = line or LINES[service]
        funding = funding or owner.funding
        scale = scale if scale is not None else _money(_round(self.rng.uniform(*line.scale), 10))
        approval = self.items[item if isinstance(item, str) else line.item] if item else None
        if bids is None:
            fixed = self.price(line) if method == M.RANDOM_DRAW else None
            bids = self.auto_bids(
                service, method, owner, line, n=n, extra=extra, exclude=exclude, fixed=fixed
            )
            if winner is None and method in (M.LOWEST_PRICE, *DISCRETIONARY):
                winner = self._favour(bids, owner, method, approval, extra)
            if dq is None:
                # Spread evenly over the owner's rounds: its share stays near its rate.
                owner.dq_due += owner.dq_rate
                if owner.dq_due >= 1 and self._disqualify_top(bids, method, extra):
                    owner.dq_due -= 1
            elif dq:
                self._disqualify_top(bids, method, extra)
        number = self.number(deadline)
        times = self.timeline(
            deadline,
            line.days,
            method in OWNER_PICKS,
            published_wd=published_wd,
            publicity_wd=publicity_wd,
            confirm_on_due=confirm_on_due,
            deliver_late_wd=deliver_late_wd,
            accept_on_due=accept_on_due,
            result_delay_wd=3 if annul else 0,
        )
        reached = [s for s in STAGES if s != "published" and times[s] <= self.now]
        stage = "published"
        for s in STAGES[1:]:
            if s in reached:
                stage = s
            else:
                break
        if stop is not None and STAGES.index(stage) > STAGES.index(stop):
            stage = stop
        if cancelled:
            stage = "published"  # cancelled during registration: the quotes stay sealed
        quotes = [b.quote for b in bids]
        low, high = line.price
        if method == M.RANDOM_DRAW:
            floor = ceiling = quotes[0] if quotes else self.price(line)
        floor = (
            floor
            if floor is not None
            else _money(_round(min([low * 0.6, *[float(q) for q in quotes]]) * 0.9, 100))
        )
        ceiling = (
            ceiling
            if ceiling is not None
            else _money(_round(max([high * 1.5, *[float(q) for q in quotes]]) * 1.05, 100))
        )
        secret = f"{self.rng.getrandbits(256):064x}"
        project = Project(
            public_number=number,
            owner=owner.obj,
            created_by=owner.user,
            title=title
            or TITLES[service].format(place=self.rng.choice(PLACES), thing=self.rng.choice(THINGS)),
            service_type=self.service[service],
            investment_project_code=f"2025-370400-{self.rng.randrange(10, 99)}-01-{self.next('code'):06d}",
            approval_case_number=case,
            approval_item=approval,
            department=approval.department if approval else None,
            funding_source=funding,
            scale=scale,
            price_floor=floor,
            price_ceiling=ceiling,
            service_content=content or CONTENT[service],
            service_days=line.days,
            required_practitioners=practitioners
            if practitioners is not None
            else min(2, self.service[service].standard_practitioners),
            method=method,
            method_reason=("项目金额较小、时间紧，依规直接选取。" if method == M.DIRECT else ""),
            price_weight=price_weight if method == M.SCORED_COMPARISON else 0,
            registration_deadline=times["deadline"],
            selection_time=times["selection"],
            status=STATUS_AT[stage],
            published_at=times["published"],
            secret_commitment=draw.commitment(secret),
            secret=secret,  # stored at publication, revealed at the draw
            quote_key_wrapped=sealing.new_wrapped_key(number),
            relaunch_of=None,
        )
        self.rows[Project].append(project)
        if relaunch_of is not None:
            self.relaunches.append((project, relaunch_of))
        for code, level in requirements if requirements is not None else self._standard_requirements(service):
            self.rows[Requirement].append(
                Requirement(
                    project=project,
                    qualification_type=self.qtypes[code],
                    min_level=self.levels[(code, level)] if level else None,
                )
            )
        handle = RoundH(project, {}, None, stage, times=times)
        for bid in bids:
            self._application(handle, bid)
        if cancelled:
            project.status, project.failure_reason = "cancelled", cancelled
        if stage == "published":
            return handle
        valid = [b for b in bids if b.state == V.VALID]
        method_obj = method_for(method)
        if len(valid) < method_obj.min_valid(funding) or relaunched:
            project.status = "relaunched" if relaunched else "failed"
            project.failure_reason = f"有效报名 {len(valid)} 家，少于 {method_obj.min_valid(funding)} 家。"
            return handle
        if stage == "deadline":
            return handle
        department = approval.department.code if approval else None
        chosen = self._select(handle, valid, owner, method, department, winner, secret, avoid=extra)
        if annul is not None:
            chosen = self._annul(handle, chosen, annul, valid, owner)
        self._count(handle, bids, chosen, owner, method, department, deadline)
        project.secret_revealed_at = times["selection"]
        project.result_published_at = times["result"]
        project.publicity_ends_on = times["publicity_ends_on"]
        if walkaway:
            project.contract_due = times["contract_due"]
            project.status = "failed"
            project.failure_reason = f"中选机构放弃：{walkaway}"
            self.rows[WalkAway].append(
                WalkAway(
                    project=project,
                    intermediary=chosen.obj,
                    reason=walkaway,
                    recorded_at=times["uploaded"] - timedelta(hours=20),
                )
            )
            return handle
        if objection and stage == "result":
            loser = next(f for f in handle.apps if f is not chosen and handle.apps[f].state == V.VALID)
            project.status = "objection_pending"
            self.rows[Objection].append(
                Objection(
                    project=project,
                    application=handle.apps[loser],
                    filed_by=loser.user,
                    text=objection,
                    filed_at=min(self.now, times["result"] + timedelta(hours=20)),
                )
            )
        if STAGES.index(stage) >= STAGES.index("contracting"):
            project.contract_due = times["contract_due"]
        if STAGES.index(stage) >= STAGES.index("uploaded"):
            self._contract(
                handle, chosen, owner, stage, contract_amount, amendment, pay_after_acceptance, payments
            )
        return handle

    def _favour(
        self,
        bids: list[Bid],
        owner: OwnerH,
        method: str,
        approval: ApprovalItem | None,
        extra: Iterable[FirmH],
    ) -> FirmH | None:
        """The background's winner of a round: the applicant ``prefer`` names, given the lowest
        quote (lowest price; mostly also where the owner or evaluators choose, else the second
        lowest), so that winning quotes stay in the market's range."""
        extra = set(extra)
        regular = [b for b in bids if b.firm not in extra]
        if not regular:
            return None
        department = approval.department.code if approval else None
        wanted = self.prefer([b.firm for b in regular], owner, method, department)
        ordered = sorted(regular, key=lambda b: b.quote)
        second = method != M.LOWEST_PRICE and len(ordered) > 1 and self.rng.random() < 0.35
        target = ordered[1] if second else ordered[0]
        mine = next(b for b in regular if b.firm is wanted)
        mine.quote, target.quote = target.quote, mine.quote
        return wanted

    def _standard_requirements(self, service: str) -> list[tuple[str, str | None]]:
        if not self.service[service].qualification_required:
            return []
        return [
            (stq.qualification_type.code, stq.standard_level.code if stq.standard_level else None)
            for stq in self.allowed.get(service, [])
        ][:1]

    def _disqualify_top(self, bids: list[Bid], method: str, extra: Iterable[FirmH]) -> bool:
        """Disqualify the highest quote of a round that keeps enough valid applicants (three),
        so no rule on the lowest or the second-lowest quote sees it."""
        extra = set(extra)
        regular = [b for b in bids if b.firm not in extra]
        if len(regular) < 4 or method == M.DIRECT:
            return False
        target = max(regular, key=lambda b: (b.quote, self.rng.random()))
        target.state = V.DISQUALIFIED
        target.reason = self.rng.choice(DQ_REASONS)
        return True

    def _application(self, handle: RoundH, bid: Bid) -> None:
        project, times = handle.project, handle.times
        unsealed = handle.stage != "published"
        state = bid.state if unsealed or bid.state == V.WITHDRAWN else V.SUBMITTED
        submitted = bid.submitted or (
            times["published"] + (times["deadline"] - times["published"]) * self.rng.uniform(0.15, 0.85)
        )
        app = Application(
            project=project,
            intermediary=bid.firm.obj,
            submitted_by=bid.firm.user,
            submitted_at=submitted,
            client_ip=bid.firm.ip,
            sealed_quote="",
            quote_amount=bid.quote if unsealed and bid.state != V.WITHDRAWN else None,
            proposal="服务方案：组建项目组，明确进度安排和质量控制措施。",
            state=state,
            disqualification_reason=bid.reason if state == V.DISQUALIFIED else "",
            withdrawn_at=submitted + timedelta(days=1) if bid.state == V.WITHDRAWN else None,
            credit_score_at_close=bid.firm.obj.credit_score if unsealed else None,
        )
        self.rows[Application].append(app)
        self.sealed.append((app, bid.quote))  # sealed at flush time, once the firm has its id
        handle.apps[bid.firm] = app
        if project.method == M.SCORED_COMPARISON and unsealed and bid.state == V.VALID:
            bid.proposal = bid.proposal or _money(self.rng.uniform(72, 86))

    def _select(
        self,
        handle: RoundH,
        valid: list[Bid],
        owner: OwnerH,
        method: str,
        department: str | None,
        winner: FirmH | None,
        secret: str,
        *,
        avoid: Iterable[FirmH] = (),
        round_no: int = 1,
        performed_at: datetime | None = None,
    ) -> FirmH:
        """Run the project's method on the valid bids (an owner's pick where the method leaves
        one). The background's preferred winner is reached by drawing the project's secret
        again before publication, so every recorded draw stays recomputable."""
        project, times = handle.project, handle.times
        avoid = list(avoid)
        by_key = {b.firm.obj.uscc: b for b in valid}
        firms = [b.firm for b in valid]
        wanted = winner or self.prefer(firms, owner, method, department, avoid)
        if method == M.SCORED_COMPARISON:
            by_key[wanted.obj.uscc].proposal = max(
                by_key[wanted.obj.uscc].proposal or D(0), _money(self.rng.uniform(88, 95))
            )
        params = {
            "long_list": settings.CREDIT_LONG_LIST,
            "short_list": settings.CREDIT_SHORT_LIST,
            "price_weight": project.price_weight,
        }

        def outcome(secret: str):
            candidates = [
                Candidate(
                    key=b.firm.obj.uscc,
                    quote=b.quote,
                    credit=b.firm.obj.credit_score,
                    proposal_score=b.proposal,
                )
                for b in sorted(valid, key=lambda b: b.firm.obj.uscc)
            ]
            return candidates, method_for(method).select(
                candidates, secret=secret, project=project.public_number, params=params
            )

        candidates, result = outcome(secret)
        rerolls = round_no == 1 and (
            method == M.RANDOM_DRAW
            or (method == M.CREDIT_PREFERENCE and wanted.obj.uscc not in result.shortlist)
        )
        if rerolls:
            for _ in range(400):
                if (
                    result.winner or (wanted.obj.uscc if wanted.obj.uscc in result.shortlist else None)
                ) == wanted.obj.uscc:
                    break
                if winner is None and method == M.CREDIT_PREFERENCE:
                    break
                secret = f"{self.rng.getrandbits(256):064x}"
                candidates, result = outcome(secret)
            project.secret, project.secret_commitment = secret, draw.commitment(secret)
        if method == M.SCORED_COMPARISON:
            favourite = by_key[wanted.obj.uscc]
            while result.winner != wanted.obj.uscc and (favourite.proposal or D(0)) < 100:
                favourite.proposal = min(D(100), (favourite.proposal or D(0)) + 1)
                candidates, result = outcome(secret)
        if result.winner is not None:
            chosen_key = result.winner
        elif method == M.DIRECT:
            chosen_key = wanted.obj.uscc
        else:  # credit preference: the owner picks from the drawn short list
            short = [by_key[k].firm for k in result.shortlist]
            chosen_key = (
                wanted if wanted in short else self.prefer(short, owner, method, department, avoid)
            ).obj.uscc
        if winner is not None and chosen_key != winner.obj.uscc:
            raise RuntimeError(f"{project.public_number}: {method} cannot make {winner.obj.name} win")
        chosen = by_key[chosen_key].firm
        if method == M.SCORED_COMPARISON:
            for b in valid:
                proposal = b.proposal or D(0)
                spread = D("1.5") if proposal <= D("98.5") else D("0")
                for i, delta in enumerate((-spread, D("0"), spread)):
                    self.rows[EvaluatorScore].append(
                        EvaluatorScore(
                            application=handle.apps[b.firm],
                            evaluator=f"评审专家{'甲乙丙'[i]}",
                            score=max(D(0), min(D(100), proposal + delta)),
                        )
                    )
        selection = Selection(
            project=project,
            round=round_no,
            method=method,
            performed_at=performed_at or times["selection"],
            performed_by=owner.user if method in OWNER_PICKS else None,
            secret=secret,
            candidates=[
                {
                    "key": c.key,
                    "quote": str(c.quote),
                    "credit": str(c.credit) if c.credit is not None else None,
                    "proposal_score": str(c.proposal_score) if c.proposal_score is not None else None,
                }
                for c in candidates
            ],
            details={**result.details, "shortlist": result.shortlist},
            winner=handle.apps[chosen],
            reason="综合考虑服务方案、业绩和报价，选定该机构。" if method in OWNER_PICKS else "",
        )
        self.rows[Selection].append(selection)
        handle.selection, handle.winner = selection, chosen
        return chosen

    def _annul(
        self, handle: RoundH, first: FirmH, annul: tuple[FirmH, str], valid: list[Bid], owner: OwnerH
    ) -> FirmH:
        """An objection upheld in the publicity: the first winner is disqualified and the method
        runs again among the rest (round 2, same revealed secret), as ``objection_answer`` does."""
        objector, reason = annul
        project, times = handle.project, handle.times
        if handle.selection is None:
            raise RuntimeError("an annulment needs a first result")
        handle.selection.annulled = True
        app = handle.apps[first]
        app.state = V.DISQUALIFIED
        app.disqualification_reason = f"异议成立：{reason}"
        self.rows[Objection].append(
            Objection(
                project=project,
                application=handle.apps[objector],
                filed_by=objector.user,
                text=f"中选机构{reason}，请核查。",
                filed_at=times["selection"] + timedelta(hours=5),
                outcome=Objection.Outcome.UPHELD,
                answer=f"经核查，{reason}，异议成立。",
                answered_at=times["result"] - timedelta(hours=1),
            )
        )
        rest = [b for b in valid if b.firm is not first]
        return self._select(
            handle,
            rest,
            owner,
            project.method,
            None,
            None,
            project.secret,
            round_no=2,
            performed_at=times["result"] - timedelta(minutes=5),
        )

    def _count(
        self,
        handle: RoundH,
        bids: list[Bid],
        chosen: FirmH,
        owner: OwnerH,
        method: str,
        department: str | None,
        deadline: date,
    ) -> None:
        recent = (self.today - deadline).days <= 360
        if method in PRICE_COMPETES and recent:
            judged = [b.firm for b in bids if b.state in (V.VALID, V.DISQUALIFIED)]
            for trio in combinations(judged, 3):
                self.triples[self.key(*trio)] += 1
            for b in bids:
                if b.state == V.VALID:
                    self.bids[b.firm] += 1
            self.wins[chosen] += 1
        if method == M.DIRECT:
            self.picks[(owner, chosen, "direct")] += 1
        elif method in DISCRETIONARY:
            self.picks[(owner, chosen, "pick")] += 1
        if department:
            self.department_wins[(department, chosen)] += 1
            self.department_awards[department] += 1

    def _contract(
        self,
        handle: RoundH,
        chosen: FirmH,
        owner: OwnerH,
        stage: str,
        amount: Decimal | None,
        amendment: tuple[Decimal, str] | None,
        pay_after_acceptance: bool,
        payments: list[tuple[str, Decimal, str, str]] | None,
    ) -> None:
        project, times = handle.project, handle.times
        quote = handle.apps[chosen].quote_amount
        if quote is None:
            raise RuntimeError("a contract needs the winning quote")
        signed = amount if amount is not None else quote
        final = amendment[0] if amendment else signed
        confirmed = STAGES.index(stage) >= STAGES.index("confirmed")
        contract = Contract(
            project=project,
            intermediary=chosen.obj,
            amount=final,
            document=PDF.format(kind="contract", name=project.public_number),
            uploaded_by_org=owner.obj,
            uploaded_at=times["uploaded"],
            confirmed_at=times["confirmed"] if confirmed else None,
            pay_after_acceptance=pay_after_acceptance,
        )
        self.rows[Contract].append(contract)
        handle.contract = contract
        if amendment:
            self.rows[Amendment].append(
                Amendment(
                    contract=contract,
                    old_amount=signed,
                    new_amount=final,
                    reason=amendment[1],
                    created_at=times["confirmed"] + timedelta(days=8),
                    created_by=owner.user,
                )
            )
        if not confirmed:
            return
        project.delivery_due = times["delivery_due"]
        reached = STAGES.index(stage)
        if reached >= STAGES.index("delivered"):
            delivery = Delivery(
                project=project,
                document=PDF.format(kind="delivery", name=project.public_number),
                note="提交成果报告。",
                delivered_at=times["delivered"],
            )
            project.acceptance_due = times["acceptance_due"]
            if reached >= STAGES.index("accepted"):
                delivery.decision = Delivery.Decision.ACCEPTED
                delivery.decided_at = times["accepted"]
            self.rows[Delivery].append(delivery)
        planned: list[tuple[str, Decimal, str, str]] = list(payments or [])
        if payments is None:
            if not pay_after_acceptance:
                advance = _money(final * D("0.3"))
                planned.append(("confirmed+3", advance, "预付款（合同价款30%）", LedgerEntry.Kind.CHARGE))
                planned.append(("accepted+3", final - advance, "验收合格后支付尾款", LedgerEntry.Kind.CHARGE))
            else:
                planned.append(("accepted+3", final, "验收合格后一次性支付合同价款", LedgerEntry.Kind.CHARGE))
        for when, value, milestone, kind in planned:
            anchor, _, offset = when.partition("+")
            moment = self.at(add_working_days(timezone.localdate(times[anchor]), int(offset or 0)), 11, 0)
            if moment > self.now or reached < STAGES.index(anchor):
                continue
            self.rows[LedgerEntry].append(
                LedgerEntry(
                    contract=contract,
                    kind=kind,
                    amount=_money(value),
                    milestone=milestone,
                    occurred_at=moment,
                    reference=f"GTPAY{self.seed % 100:02d}{self.next('payment'):05d}",
                )
            )
        if reached >= STAGES.index("rated"):
            for direction, scores in (
                (
                    Rating.Direction.OWNER_RATES_FIRM,
                    {
                        k: self.rng.choice((4, 5, 5))
                        for k in ("quality", "timeliness", "attitude", "fee_compliance", "conduct")
                    },
                ),
                (
                    Rating.Direction.FIRM_RATES_OWNER,
                    {k: self.rng.choice((4, 5)) for k in ("payment_timeliness", "non_interference")},
                ),
            ):
                self.rows[Rating].append(
                    Rating(
                        project=project,
                        direction=direction,
                        scores=scores,
                        overall=(D(sum(scores.values())) / len(scores)).quantize(D("0.01")),
                        comment="服务规范，按时完成。",
                        amount=final,
                        created_at=times["rated"],
                    )
                )

    # --- manifest ---------------------------------------------------------------------------

    def plant(self, rule: str, subject: Any, note: str) -> None:
        self.entries["planted"].append((rule, subject, note))

    def look_alike(self, rule: str, subject: Any, note: str) -> None:
        self.entries["look_alikes"].append((rule, subject, note))

    def side(self, rule: str, subject: Any, note: str) -> None:
        self.entries["side"].append((rule, subject, note))

    @staticmethod
    def _obj(subject: Any) -> Any:
        if isinstance(subject, FirmH | OwnerH):
            return subject.obj
        if isinstance(subject, RoundH):
            return subject.project
        return subject

    def _resolved(self, kind: str) -> list[dict]:
        out = []
        for rule, subject, note in self.entries[kind]:
            obj = self._obj(subject)
            out.append({"rule": rule, "subject_type": _subject_type(obj), "subject_id": obj.pk, "note": note})
        return out

    # --- writing ----------------------------------------------------------------------------

    PARTY_ORDER = (
        Organisation,
        User,
        Membership,
        Intermediary,
        Qualification,
        Practitioner,
        Shareholder,
        DeclaredTie,
        DepartmentStaff,
    )
    MARKET_ORDER = (
        Project,
        Requirement,
        Application,
        EvaluatorScore,
        Selection,
        Objection,
        Contract,
        Amendment,
        Delivery,
        Rating,
        WalkAway,
        LedgerEntry,
        Complaint,
        FiledReport,
    )

    def _create(self, model: type[models.Model]) -> None:
        rows = self.rows.pop(model, [])
        if rows:
            model._default_manager.bulk_create(rows, batch_size=500)
            self.counts[model.__name__] += len(rows)

    def flush_parties(self) -> None:
        for model in self.PARTY_ORDER:
            self._create(model)
        self._create(StaffRelative)
        offers = [offer for offer, _ in self.offers]
        Offer.objects.bulk_create(offers, batch_size=500)
        schedules = [s for _, versions in self.offers for s in versions]
        FeeSchedule.objects.bulk_create(schedules, batch_size=500)
        for offer, versions in self.offers:
            offer.current_fee = versions[-1]
        Offer.objects.bulk_update(offers, ["current_fee"], batch_size=500)
        self.counts["Offer"] += len(offers)
        self.counts["FeeSchedule"] += len(schedules)
        self.offers = []

    def flush_market(self) -> None:
        for app, quote in self.sealed:
            app.sealed_quote = sealing.seal(app.project, app.intermediary.pk, quote)
        self.sealed = []
        self._create(Project)
        if self.relaunches:
            for project, parent in self.relaunches:
                project.relaunch_of = parent
            Project.objects.bulk_update([p for p, _ in self.relaunches], ["relaunch_of"])
        for model in self.MARKET_ORDER[1:]:
            self._create(model)

    # --- the market -------------------------------------------------------------------------

    def build(self) -> Manifest:
        started = time.perf_counter()
        self.counts: Counter = Counter()
        self.load_catalogue()
        if Project.objects.filter(public_number__startswith=f"{NUMBER_PREFIX}").exists():
            raise AlreadySeeded("a synthetic market is there already (project numbers starting with GT)")
        with transaction.atomic():
            self.background_parties()
            scenarios = Scenarios(self)
            scenarios.parties()
            self.flush_parties()
            self.background_rounds(scenarios)
            scenarios.rounds()
            self.flush_parties()
            self.flush_market()
        manifest = Manifest(
            seed=self.seed,
            planted=self._resolved("planted"),
            look_alikes=self._resolved("look_alikes"),
            side_effects=self._resolved("side"),
            counts=dict(sorted(self.counts.items())),
        )
        manifest.seconds = time.perf_counter() - started
        return manifest

    def background_parties(self) -> None:
        for name, funding, rate in OWNERS:
            self.owner(name, funding, dq_rate=rate, background=True)
        for trade, services, count in PROFILES:
            for _ in range(count):
                self.firm(services, trade=trade)
        # The only firm offering special-equipment inspection (look-alike for FA02 and FA03).
        self.sole = self.firm(("special_equipment_inspection",), trade="特种设备检测", background=False)
        for code in self.departments:
            for position in ("副局长", "科长", "科员"):
                self.staff(code, position=position)
        for staff in self.rows[DepartmentStaff][::5]:
            name, hashed = self.person()
            self.rows[StaffRelative].append(
                StaffRelative(staff=staff, name=name, id_hash=hashed, relation="配偶")
            )

    def background_rounds(self, scenarios: Scenarios) -> None:
        """About a hundred clean projects, spread over the last eleven months."""
        specs: list[tuple[str, str, Line]] = []
        for service, methods in BACKGROUND.items():
            for kind, count in methods.items():
                specs += [(service, str(kind), LINES[service])] * count
        for kind, count in SMALL_SURVEYS.items():
            specs += [("land_survey_boundary", str(kind), SMALL_SURVEY)] * count
        self.rng.shuffle(specs)
        days = [self.ago(325 - round(i * 333 / len(specs))) for i in range(len(specs))]
        days = [d if d <= self.today else self.today for d in days]
        future = [add_working_days(self.today, 3 + i) for i in range(3)]
        background_owners = [o for o in self.owners if o.background]
        self.background: list[RoundH] = []
        extras = scenarios.extra_bidders()
        for i, (service, method, line) in enumerate(specs):
            deadline = future[i - len(specs) + 3] if i >= len(specs) - 3 else days[i]
            owner = background_owners[i % len(background_owners)]
            funding = owner.funding
            if method == M.DIRECT and funding == "private":
                owner = next(
                    o
                    for o in background_owners[i % len(background_owners) :] + background_owners
                    if o.funding == "fiscal"
                )
                funding = "fiscal"
            extra = []
            if method in PRICE_COMPETES and deadline < self.today - timedelta(days=20):
                for firm, wanted in extras.items():
                    if wanted > 0 and service in firm.services and self.rng.random() < 0.6:
                        extra.append(firm)
                        extras[firm] -= 1
            handle = self.round(service, owner, method, deadline, line=line, funding=funding, extra=extra)
            self.background.append(handle)
        # Two projects cancelled during registration, one result under objection.
        for service, back in (("eia_report", 180), ("cost_consulting", 45)):
            self.round(
                service,
                background_owners[back % 7],
                M.LOWEST_PRICE,
                self.ago(back),
                cancelled="项目建设方案调整，取消本次采购。",
            )
        self.round(
            "geotechnical_survey",
            background_owners[3],
            M.LOWEST_PRICE,
            self.back(self.today, 2),
            objection="对中选机构的从业人员社保缴纳情况有异议，请核查。",
        )
        fiscal = [o for o in background_owners if o.funding == "fiscal"]
        for i in range(10):
            owner = fiscal[0] if i % 3 == 0 else fiscal[1 + i % 5]
            self.round(
                "special_equipment_inspection",
                owner,
                M.DIRECT,
                self.ago(300 - i * 28),
                bids=[Bid(self.sole, self.price(LINES["special_equipment_inspection"]))],
                funding="fiscal",
                winner=self.sole,
            )
        scenarios.background_done()


# --- the planted cases and look-alikes ------------------------------------------------------------


class Scenarios:
    """Every planted case and look-alike: one method per rule, named after it."""

    def __init__(self, b: _Builder) -> None:
        self.b = b

    # Parties that must exist before the background is generated (the cover bidders join it).
    def parties(self) -> None:
        b = self.b
        self.cover = b.firm(
            (
                "eia_report",
                "soil_water_conservation_plan",
                "safety_pre_assessment",
                "traffic_impact_assessment",
                "geotechnical_survey",
            ),
            trade="环境工程技术",
            background=False,
        )
        self.newcomer = b.firm(
            ("eia_report", "safety_pre_assessment"), trade="生态环境科技", background=False
        )

    def extra_bidders(self) -> dict[FirmH, int]:
        return {self.cover: 17, self.newcomer: 5}

    def background_done(self) -> None:
        b = self.b

        def bids(firm: FirmH) -> int:
            return sum(1 for h in b.background if firm in h.apps and h.selection is not None)

        cover, newcomer = bids(self.cover), bids(self.newcomer)
        b.expect(cover >= 12 and newcomer < 8, "the cover bidder's rounds did not come out as planned")
        b.plant(
            "CO09",
            self.cover,
            f"bids in {cover} price-competing rounds with a result, never wins (cover bidder)",
        )
        b.look_alike(
            "CO09", self.newcomer, f"a newcomer with {newcomer} bids and no win yet: too few to judge"
        )
        # CO08 look-alike: the background owner with the highest disqualification rate.
        owner = max((o for o in b.owners if o.background), key=lambda o: o.dq_rate)
        b.look_alike("CO08", owner, "disqualifies a few applicants each year, within the owners' range")

    def rounds(self) -> None:
        for name in sorted(dir(self)):
            if (
                name[:2] in ("fa", "rp", "fe", "co", "pr")
                and name[2:4].isdigit()
                and callable(getattr(self, name))
            ):
                getattr(self, name)()
        self.named_look_alikes()

    # helpers

    def owner(self, name: str, funding: str = "fiscal") -> OwnerH:
        return self.b.owner(name, funding)

    def bg_owner(self, funding: str = "fiscal") -> OwnerH:
        return self.b.rng.choice([o for o in self.b.owners if o.background and o.funding == funding])

    def bids(self, firms: list[FirmH], quotes: list[Decimal], **kw) -> list[Bid]:
        return [Bid(f, _money(q), **kw) for f, q in zip(firms, quotes, strict=True)]

    def others(
        self,
        service: str,
        n: int,
        method: str = M.LOWEST_PRICE,
        *,
        exclude: Iterable[FirmH] = (),
        include: Iterable[FirmH] = (),
    ) -> list[FirmH]:
        """``n`` background firms offering ``service`` to bid beside ``include``."""
        firms = self.b.choose(service, n, method, exclude=exclude, include=include)
        if len(firms) < n:
            raise RuntimeError(f"not enough firms offering {service} for a planted round")
        return firms

    def priced(
        self,
        winner: FirmH,
        service: str,
        n: int,
        *,
        base: Decimal | None = None,
        method: str = M.LOWEST_PRICE,
        also: Iterable[FirmH] = (),
        exclude: Iterable[FirmH] = (),
    ) -> list[Bid]:
        """The winner at the lowest quote, then ``also`` and ``n`` background rivals above it."""
        b = self.b
        also = list(also)
        rivals = [*also, *self.others(service, n, method, exclude=exclude, include=[winner, *also])]
        quotes = b.ladder(base or b.price(LINES[service]), len(rivals) + 1, service, method)
        rest = quotes[1:]
        b.rng.shuffle(rest)
        return [Bid(winner, quotes[0]), *[Bid(f, q) for f, q in zip(rivals, rest, strict=True)]]

    # --- forced agency ----------------------------------------------------------------------

    def fa01(self) -> None:
        b = self.b
        owner = self.owner("枣庄市市中区农业农村局")
        firm = b.firm(
            ("cost_consulting",), trade="造价咨询", fee_max={"cost_consulting": D("90000")}, background=False
        )
        r = b.round(
            "cost_consulting",
            owner,
            M.DIRECT,
            b.ago(70),
            bids=[Bid(firm, D("78000.00"))],
            winner=firm,
            scale=D("15000"),
        )
        b.plant("FA01", r, "fiscal direct selection at 78,000 yuan, above the 50,000 threshold")
        other = self.owner("枣庄市山亭区农业农村局")
        firm2 = self.others("cost_consulting", 1, M.DIRECT, exclude=[firm])[0]
        r = b.round(
            "cost_consulting",
            other,
            M.DIRECT,
            b.ago(95),
            bids=[Bid(firm2, D("49000.00"))],
            winner=firm2,
            scale=D("12800"),
        )
        b.look_alike("FA01", r, "fiscal direct selection at 49,000 yuan, just under the threshold")

    def fa02(self) -> None:
        b = self.b
        owner = self.owner("枣庄市峄城区住房和城乡建设局")
        firm = self.others("cost_consulting", 1, M.DIRECT)[0]
        for days, quote in ((230, "22600"), (150, "26300"), (60, "24100")):
            rival = self.others("cost_consulting", 1, M.DIRECT, include=[firm])[0]
            b.round(
                "cost_consulting",
                owner,
                M.DIRECT,
                b.ago(days),
                bids=[Bid(firm, D(quote)), Bid(rival, D(quote) * D("1.06"))],
                winner=firm,
                item=False,
            )
        b.plant(
            "FA02",
            owner,
            "directly selects the same consultancy three times in eight months, rivals available",
        )

    def fa03(self) -> None:
        b = self.b
        service = "lightning_risk_assessment"
        favourite = b.firm((service,), trade="防雷检测技术", background=False)
        winners: list[FirmH] = []
        for i in range(10):
            method = M.RANDOM_DRAW if i % 3 == 1 else M.LOWEST_PRICE
            owner = self.bg_owner("fiscal" if method == M.RANDOM_DRAW or i % 2 else "private")
            if i % 2:
                winner, also = favourite, []
            else:
                winner = b.prefer(b.pool(service, winners), owner, method, "meteorology")
                winners.append(winner)
                also = [favourite]
            if method == M.RANDOM_DRAW:
                price = b.price(LINES[service])
                firms = [
                    winner,
                    *also,
                    *self.others(service, 2 - len(also) + 1, method, include=[winner, *also]),
                ]
                bids = [Bid(f, price) for f in firms]
            else:
                bids = self.priced(winner, service, 2 - len(also) + 1, also=also)
            b.round(service, owner, method, b.ago(280 - i * 26), bids=bids, winner=winner)
        b.plant(
            "FA03",
            b.departments["meteorology"],
            "one lightning firm wins 5 of the 10 projects tied to the bureau's approval items, rivals available",
        )

    def fa04(self) -> None:
        b = self.b
        r = b.round(
            "land_survey_boundary",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            add_working_days(b.today, 4),
            requirements=[("surveying_mapping", "grade-a")],
        )
        b.plant("FA04", r, "asks for a grade-A surveying licence where the service allows grade B at most")
        r = b.round(
            "traffic_impact_assessment",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            add_working_days(b.today, 5),
            title="薛城区临山路改造工程交通影响评价",
            content="对枣庄市薛城区临山路改造工程周边道路开展交通调查和影响评价，提出交通组织优化方案。",
            practitioners=2,
        )
        b.look_alike(
            "FA04", r, "names the district where the work is, asks the standard team: no regional limit"
        )

    def fa05(self) -> None:
        b = self.b
        owner = self.owner("枣庄市台儿庄区水利局")
        service = "soil_water_conservation_plan"
        winner = self.others(service, 1)[0]
        first = b.round(
            service, owner, M.LOWEST_PRICE, b.ago(170), bids=self.priced(winner, service, 1), relaunched=True
        )
        second = b.round(
            service,
            owner,
            M.LOWEST_PRICE,
            b.ago(140),
            bids=self.priced(winner, service, 1),
            relaunched=True,
            relaunch_of=first.project,
        )
        third = b.round(
            service,
            owner,
            M.LOWEST_PRICE,
            b.ago(110),
            bids=self.priced(winner, service, 2),
            winner=winner,
            relaunch_of=second.project,
        )
        b.plant("FA05", third, "failed twice and relaunched until the same firm won")
        # An objection upheld and the result given to another firm.
        owner2 = self.owner("枣庄市市中区应急管理局")
        firms = self.others("safety_pre_assessment", 4, M.RANDOM_DRAW)
        price = b.price(LINES["safety_pre_assessment"])
        r = b.round(
            "safety_pre_assessment",
            owner2,
            M.RANDOM_DRAW,
            b.ago(90),
            bids=[Bid(f, price) for f in firms],
            winner=firms[0],
            annul=(firms[1], "安全评价资质证书已过有效期"),
        )
        b.plant("FA05", r, "random draw annulled on an objection and the work given to another firm")
        # Look-alike: relaunched once.
        owner3 = self.owner("枣庄市薛城区交通运输局")
        service = "traffic_impact_assessment"
        firm = self.others(service, 1)[0]
        once = b.round(
            service, owner3, M.LOWEST_PRICE, b.ago(150), bids=self.priced(firm, service, 1), relaunched=True
        )
        r = b.round(
            service,
            owner3,
            M.LOWEST_PRICE,
            b.ago(120),
            bids=self.priced(firm, service, 3),
            relaunch_of=once.project,
            winner=firm,
        )
        b.look_alike("FA05", r, "failed once for lack of applicants, relaunched and won")

    def fa06(self) -> None:
        b = self.b
        firm = self.others("geotechnical_survey", 1)[0]
        b.rows[FiledReport].append(
            FiledReport(
                department=b.departments["housing_construction"],
                approval_case_number="枣建审〔2026〕第0173号",
                investment_project_code="2026-370400-47-01-000173",
                service_type_code="geotechnical_survey",
                intermediary_uscc=firm.obj.uscc,
                filed_on=b.ago(40),
                received_at=b.at(b.ago(40), 16, 0),
            )
        )
        b.plant(
            "FA06",
            b.departments["housing_construction"],
            "a permit filed with a geotechnical report by a firm never selected here",
        )
        owner = self.owner("枣庄市山亭区城乡水务局")
        service = "soil_water_conservation_plan"
        winner = self.others(service, 1)[0]
        case = "枣水审〔2026〕第0088号"
        b.round(
            service,
            owner,
            M.LOWEST_PRICE,
            b.ago(150),
            bids=self.priced(winner, service, 3),
            winner=winner,
            case=case,
        )
        b.rows[FiledReport].append(
            FiledReport(
                department=b.departments["water_resources"],
                approval_case_number=case,
                investment_project_code="2026-370400-76-01-000088",
                service_type_code=service,
                intermediary_uscc=winner.obj.uscc,
                filed_on=b.ago(45),
                received_at=b.at(b.ago(45), 10, 0),
            )
        )
        b.look_alike(
            "FA06",
            b.departments["water_resources"],
            "the report filed with the case was procured here, from the winner",
        )

    def fa07(self) -> None:
        b = self.b
        r = b.round("eia_report", self.bg_owner("private"), M.LOWEST_PRICE, b.ago(60))
        b.rows[Complaint].append(
            Complaint(
                project=r.project,
                department=r.project.department,
                alleges_designation=True,
                text="办理环评审批时，窗口工作人员要求我公司委托其推荐的环评机构，否则不予受理。",
                contact="0632-5566321",
                filed_at=b.at(b.ago(55), 10, 20),
            )
        )
        b.plant("FA07", r, "a complaint that the approval window told the applicant which EIA firm to use")
        r = b.round("eia_report", self.bg_owner("fiscal"), M.LOWEST_PRICE, b.ago(75))
        b.rows[Complaint].append(
            Complaint(
                project=r.project,
                alleges_designation=False,
                text="中选机构现场踏勘时间安排不合理，希望平台督促。",
                contact="0632-5566987",
                filed_at=b.at(b.ago(50), 9, 40),
            )
        )
        b.look_alike("FA07", r, "a complaint about scheduling, not about designation")

    def fa08(self) -> None:
        b = self.b
        owner = self.owner("枣庄市恒达置业有限公司", "private")
        captive = b.firm(("land_survey_boundary",), trade="不动产测绘", background=False)
        for i, method in enumerate((M.LOWEST_PRICE, M.RANDOM_DRAW, M.LOWEST_PRICE, M.RANDOM_DRAW)):
            deadline = b.ago(260 - i * 60)
            if method == M.LOWEST_PRICE:
                bids = self.priced(captive, "land_survey_boundary", 3)
            else:
                price = b.price(LINES["land_survey_boundary"])
                bids = [
                    Bid(f, price)
                    for f in [captive, *self.others("land_survey_boundary", 3, method, include=[captive])]
                ]
            b.round("land_survey_boundary", owner, method, deadline, bids=bids, winner=captive)
        b.plant("FA08", captive, "four contracts, all with one developer, none with anyone else")
        firm = b.firm(("eia_report",), trade="环保科技", background=False)
        main, other = self.bg_owner("fiscal"), self.bg_owner("private")
        for i, owner in enumerate((main, main, main, main, other)):
            b.round(
                "eia_report",
                owner,
                M.LOWEST_PRICE,
                b.ago(300 - i * 55),
                bids=self.priced(firm, "eia_report", 3),
                winner=firm,
            )
        b.look_alike("FA08", firm, "four contracts with one owner but another with a second owner")

    def fa09(self) -> None:
        owner = self.owner("枣庄市薛城区发展和改革局")
        firm = self.others("feasibility_study", 1, M.CREDIT_PREFERENCE)[0]
        self._picks(
            owner, firm, ((250, M.CREDIT_PREFERENCE), (160, M.SCORED_COMPARISON), (70, M.CREDIT_PREFERENCE))
        )
        self.b.plant(
            "FA09",
            owner,
            "credit preference and scored comparison land on the same consultancy three times in six months",
        )
        owner = self.owner("枣庄市峄城区发展和改革局")
        firm = self.others("feasibility_study", 1, M.CREDIT_PREFERENCE, exclude=[firm])[0]
        self._picks(
            owner, firm, ((720, M.CREDIT_PREFERENCE), (330, M.SCORED_COMPARISON), (40, M.CREDIT_PREFERENCE))
        )
        self.b.look_alike(
            "FA09", owner, "picked the same firm three times, but over two years (at most two within a year)"
        )

    def _picks(self, owner: OwnerH, firm: FirmH, schedule: Iterable[tuple[int, str]]) -> None:
        """``owner`` chooses ``firm`` by discretion in each (days ago, method) round."""
        b, service = self.b, "feasibility_study"
        for i, (days, method) in enumerate(schedule):
            rivals = self.others(service, 2, method, include=[firm])
            quotes = b.ladder(b.price(LINES[service]), 3, service, method)
            order = [firm, *rivals] if i % 2 == 0 else [rivals[0], firm, rivals[1]]
            b.round(service, owner, method, b.ago(days), bids=self.bids(order, quotes), winner=firm)

    # --- related parties --------------------------------------------------------------------

    def rp01(self) -> None:
        b = self.b
        institute = b.affiliates["枣庄市工程咨询院"]
        rep = b.person()
        firm = b.firm(
            ("feasibility_study", "traffic_impact_assessment"),
            trade="工程技术咨询",
            representative=rep,
            shareholders=[
                {"kind": "person", "name": rep[0], "id_hash": rep[1], "share": D("65")},
                {"kind": "firm", "name": institute.name, "uscc": institute.uscc, "share": D("35")},
            ],
            background=False,
        )
        b.declare(
            firm,
            "development_reform",
            DeclaredTie.Kind.AFFILIATED,
            "市工程咨询院持有本公司35%股权。",
            affiliate=institute.name,
        )
        price = b.price(LINES["feasibility_study"])
        firms = [firm, *self.others("feasibility_study", 3, M.RANDOM_DRAW, include=[firm])]
        r = b.round(
            "feasibility_study",
            self.bg_owner("fiscal"),
            M.RANDOM_DRAW,
            b.ago(100),
            bids=[Bid(f, price) for f in firms],
            winner=firm,
        )
        b.plant(
            "RP01", r, "the development commission's consulting institute holds 35% of the winner (declared)"
        )
        b.look_alike("RP05", firm, "its tie with the development commission is declared")
        r = b.round(
            "traffic_impact_assessment",
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(80),
            bids=self.priced(firm, "traffic_impact_assessment", 3),
            winner=firm,
        )
        b.look_alike("RP01", r, "the same firm wins a natural-resources project: no tie with that department")

    def rp02(self) -> None:
        b = self.b
        person = b.person()
        b.staff(
            "housing_construction",
            person=person,
            position="质量安全科科员",
            started=b.today - timedelta(days=3000),
        )
        firm = b.firm(
            ("geotechnical_survey",), trade="勘察设计", practitioners=[person, b.person()], background=False
        )
        b.declare(
            firm,
            "housing_construction",
            DeclaredTie.Kind.CURRENT_STAFF,
            f"从业人员{person[0]}在市住房城乡建设局任职。",
            person=person[0],
        )
        r = b.round(
            "geotechnical_survey",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(65),
            bids=self.priced(firm, "geotechnical_survey", 3),
            winner=firm,
        )
        b.plant("RP02", r, "a practitioner of the winner is on the approving bureau's staff")

    def rp03(self) -> None:
        b = self.b
        person = b.person()
        award = b.ago(90)
        b.staff(
            "natural_resources",
            person=person,
            position="规划科副科长",
            started=b.today - timedelta(days=4000),
            ended=award - timedelta(days=300),
        )
        firm = b.firm(
            ("traffic_impact_assessment",), trade="规划咨询", representative=person, background=False
        )
        b.declare(
            firm,
            "natural_resources",
            DeclaredTie.Kind.FORMER_STAFF,
            f"法定代表人{person[0]}曾在市自然资源和规划局任职。",
            person=person[0],
            ended=award - timedelta(days=300),
        )
        r = b.round(
            "traffic_impact_assessment",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.back(award, 1),
            bids=self.priced(firm, "traffic_impact_assessment", 3),
            winner=firm,
        )
        b.plant(
            "RP03",
            r,
            "the winner's legal representative left the approving bureau 10 months before the award",
        )

    def rp04(self) -> None:
        b = self.b
        centre = b.affiliates["枣庄市安全生产技术服务中心"]
        firm = b.firm(("safety_pre_assessment",), trade="安全评价", phone=centre.phone, background=False)
        b.declare(
            firm,
            "emergency_management",
            DeclaredTie.Kind.OTHER,
            "与市安全生产技术服务中心共用办公电话。",
            affiliate=centre.name,
        )
        r = b.round(
            "safety_pre_assessment",
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(55),
            bids=self.priced(firm, "safety_pre_assessment", 3),
            winner=firm,
        )
        b.plant("RP04", r, "the winner's phone is that of the emergency bureau's technical service centre")
        firm = b.firm(
            ("traffic_impact_assessment",),
            trade="交通咨询",
            address="枣庄市薛城区光明大道1999号东侧金鼎商务楼5楼",
            background=False,
        )
        r = b.round(
            "traffic_impact_assessment",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(45),
            bids=self.priced(firm, "traffic_impact_assessment", 3),
            winner=firm,
        )
        b.look_alike(
            "RP04", r, "the winner's office is next door to the natural-resources bureau, not at its address"
        )

    def rp05(self) -> None:
        b = self.b
        department = b.departments["water_resources"]
        firm = b.firm(
            ("soil_water_conservation_plan",), trade="水利咨询", address=department.address, background=False
        )
        r = b.round(
            "soil_water_conservation_plan",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(50),
            bids=self.priced(firm, "soil_water_conservation_plan", 3),
            winner=firm,
        )
        b.plant("RP05", firm, "registered at the water bureau's own address and declared no tie")
        b.side("RP04", r, "the shared address itself")

    def rp06(self) -> None:
        b = self.b
        institute = b.affiliates["枣庄市环境科学研究所"]
        firm = b.firm(
            ("eia_report",),
            trade="环境科学研究",
            name=institute.name,
            uscc=institute.uscc,
            phone=institute.phone,
            background=False,
        )
        service = "eia_report"
        winner = self.others(service, 1)[0]
        bids = [*self.priced(winner, service, 2, base=D("61800")), Bid(firm, D("83500.00"))]
        r = b.round(service, self.bg_owner("fiscal"), M.LOWEST_PRICE, b.ago(35), bids=bids, winner=winner)
        b.plant(
            "RP06", r, "the ecology bureau's own research institute applies for an EIA tied to the bureau"
        )
        centre = b.affiliates["枣庄市生态环境事务中心"]
        firm = b.firm(
            ("eia_report",),
            trade="环境技术",
            shareholders=[
                {
                    "kind": "person",
                    **dict(zip(("name", "id_hash"), b.person(), strict=True)),
                    "share": D("70"),
                },
                {"kind": "firm", "name": centre.name, "uscc": centre.uscc, "share": D("30")},
            ],
            background=False,
        )
        b.declare(
            firm,
            "ecology_environment",
            DeclaredTie.Kind.AFFILIATED,
            "市生态环境事务中心持股30%。",
            affiliate=centre.name,
        )
        winner = self.others(service, 1)[0]
        bids = [*self.priced(winner, service, 2, base=D("62300")), Bid(firm, D("84800.00"))]
        r = b.round(service, self.bg_owner("private"), M.LOWEST_PRICE, b.ago(30), bids=bids, winner=winner)
        b.look_alike(
            "RP06", r, "a minority (30%) holding by a bureau affiliate is below the controlling share"
        )

    # --- fees -------------------------------------------------------------------------------

    def fe01(self) -> None:
        b = self.b
        service = "land_survey_boundary"
        firms = self.others(service, 3, M.SCORED_COMPARISON)
        r = b.round(
            service,
            self.bg_owner("private"),
            M.SCORED_COMPARISON,
            b.ago(110),
            bids=[Bid(firms[0], D("24600")), Bid(firms[1], D("26800")), Bid(firms[2], D("44500"))],
            winner=firms[0],
            scale=D("3200"),
            ceiling=D("48000"),
        )
        b.plant(
            "FE01", r, "a valid quote of 44,500 yuan above the guided band of 15,000-40,000 for its scale"
        )
        firms = self.others(service, 3, M.LOWEST_PRICE)
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(85),
            bids=[Bid(firms[0], D("24800")), Bid(firms[1], D("26400")), Bid(firms[2], D("40000"))],
            winner=firms[0],
            scale=D("4100"),
            ceiling=D("40000"),
        )
        b.look_alike("FE01", r, "a quote exactly at the top of the guided band")

    def fe02(self) -> None:
        b = self.b
        service = "eia_report"
        firm = b.firm((service,), trade="环评咨询", fee_max={service: D("62000")}, background=False)
        bids = self.priced(self.others(service, 1)[0], service, 2, base=D("61500"))
        bids[1:] = [Bid(x.firm, min(x.quote, D("69900"))) for x in bids[1:]]
        r = b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(125),
            bids=[*bids, Bid(firm, D("70500"))],
            winner=bids[0].firm,
        )
        b.plant("FE02", r, "a quote of 70,500 yuan above the firm's own published maximum of 62,000")
        service = "soil_water_conservation_plan"
        listed = b.now - timedelta(days=700)
        raised = b.now - timedelta(days=170)
        firm = b.firm(
            (service,),
            trade="水保咨询",
            fee_history={service: [(listed, D("15000"), D("40000")), (raised, D("18000"), D("52000"))]},
            background=False,
        )
        bids = self.priced(self.others(service, 1)[0], service, 2, base=D("36500"))
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(110),
            bids=[*bids, Bid(firm, D("47000"))],
            winner=bids[0].firm,
        )
        b.look_alike(
            "FE02", r, "a quote above the firm's old maximum but within the schedule in force when it applied"
        )
        b.look_alike("FE03", firm, "raised its schedule two months before bidding, not shortly before")

    def fe03(self) -> None:
        b = self.b
        service = "safety_pre_assessment"
        deadline = b.ago(75)
        raised = b.at(deadline - timedelta(days=14), 9, 0)
        firm = b.firm(
            (service,),
            trade="安全评价咨询",
            fee_history={
                service: [
                    (b.now - timedelta(days=800), D("20000"), D("60000")),
                    (raised, D("30000"), D("75000")),
                ]
            },
            background=False,
        )
        bids = self.priced(self.others(service, 1)[0], service, 2, base=D("45200"))
        late = Bid(firm, D("58000"), submitted=b.at(deadline, 10, 0) - timedelta(days=1))
        b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            deadline,
            bids=[*bids, late],
            winner=bids[0].firm,
        )
        b.plant("FE03", firm, "raised its fee schedule 13 days before applying for a safety assessment")

    def fe04(self) -> None:
        b = self.b
        service = "geotechnical_survey"
        firm = self.others(service, 1)[0]
        bids = self.priced(firm, service, 3)
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(100),
            bids=bids,
            winner=firm,
            contract_amount=_money(bids[0].quote * D("1.1")),
        )
        b.plant("FE04", r, "contract signed 10% above the winning quote without an amendment")
        firm = self.others(service, 1, exclude=[firm])[0]
        bids = self.priced(firm, service, 3)
        amended = (_money(bids[0].quote * D("1.08")), "地质条件复杂，增加钻孔3个，经双方协商变更。")
        r = b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(120),
            bids=bids,
            winner=firm,
            amendment=amended,
        )
        b.look_alike("FE04", r, "an amendment with a reason raised the contract by 8%, under the 10% limit")

    def fe05(self) -> None:
        b = self.b
        service = "eia_report"
        firm = self.others(service, 1)[0]
        bids = self.priced(firm, service, 3)
        amount = bids[0].quote
        r = b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(190),
            bids=bids,
            winner=firm,
            payments=[
                ("accepted+2", amount, "验收合格后支付合同价款", "charge"),
                ("accepted+6", D("6000"), "补充监测费", "charge"),
            ],
        )
        b.expect(r.stage in ("paid", "rated", "closed"), "planted scenario out of shape")
        b.plant("FE05", r, "paid the contract in full and then 6,000 yuan more")
        firm = self.others(service, 1, exclude=[firm])[0]
        bids = self.priced(firm, service, 3)
        amount = bids[0].quote
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(200),
            bids=bids,
            winner=firm,
            payments=[
                ("accepted+2", amount, "验收合格后支付合同价款", "charge"),
                ("accepted+4", D("5000"), "验收合格后支付合同价款", "charge"),
                ("accepted+6", D("5000"), "重复支付退回", "refund"),
            ],
        )
        b.look_alike("FE05", r, "a duplicate payment refunded: net paid equals the contract")

    def fe06(self) -> None:
        b = self.b
        service = "geotechnical_survey"
        firm = self.others(service, 1)[0]
        bids = self.priced(firm, service, 3)
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(33),
            bids=bids,
            winner=firm,
            stop="confirmed",
            payments=[("confirmed+2", _money(bids[0].quote * D("0.4")), "进场预付款", "charge")],
        )
        b.plant("FE06", r, "40% paid on starting work though the contract says payment follows acceptance")
        firm = self.others(service, 1, exclude=[firm])[0]
        bids = self.priced(firm, service, 3)
        advance = [("confirmed+2", _money(bids[0].quote * D("0.3")), "预付款（合同价款30%）", "charge")]
        r = b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(34),
            bids=bids,
            winner=firm,
            stop="confirmed",
            pay_after_acceptance=False,
            payments=advance,
        )
        b.look_alike("FE06", r, "an advance paid under a contract that allows payment before acceptance")

    def fe07(self) -> None:
        b = self.b
        service = "safety_pre_assessment"
        firms = self.others(service, 3, M.SCORED_COMPARISON)
        bids = [
            Bid(firms[0], D("46800"), proposal=D("91")),
            Bid(firms[1], D("49900"), proposal=D("84")),
            Bid(firms[2], D("15200"), proposal=D("52")),
        ]
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.SCORED_COMPARISON,
            b.ago(140),
            bids=bids,
            winner=firms[0],
            floor=D("10000"),
        )
        b.plant("FE07", r, "a valid quote of 15,200 yuan far below the other safety assessments")

    def fe08(self) -> None:
        b = self.b
        service = "geotechnical_survey"
        firms = [
            b.firm((service,), trade=trade, fee_max={service: D("160000")}, background=False)
            for trade in ("岩土工程咨询", "工程勘察设计", "地质勘查技术")
        ]
        bids = [
            Bid(firms[0], D("132000"), proposal=D("93")),
            Bid(firms[1], D("139500"), proposal=D("80")),
            Bid(firms[2], D("148000"), proposal=D("78")),
        ]
        r = b.round(
            service,
            self.bg_owner("private"),
            M.SCORED_COMPARISON,
            b.ago(130),
            bids=bids,
            winner=firms[0],
            ceiling=D("150000"),
        )
        b.plant("FE08", r, "won at 132,000 yuan, about twice what geotechnical surveys of its size win at")

    def fe09(self) -> None:
        b = self.b
        firm = self.others("cost_consulting", 1)[0]
        owner = self.bg_owner("fiscal")
        b.rows[LedgerEntry].append(
            LedgerEntry(
                contract=None,
                kind=LedgerEntry.Kind.OFFLINE_PAYMENT,
                amount=D("8000.00"),
                milestone="",
                occurred_at=b.at(b.ago(30), 15, 0),
                reference=f"GTOFF{b.seed % 100:02d}0001",
                intermediary=firm.obj,
                owner=owner.obj,
            )
        )
        b.plant("FE09", firm, "an offline payment of 8,000 yuan tied to no contract")
        self.fe09_firm = firm

    def fe10(self) -> None:
        b = self.b
        owner = self.owner("枣庄市薛城区卫生健康局")
        firm = self.others("cost_consulting", 1, M.DIRECT)[0]
        for days, quote in ((200, "46500"), (90, "48800")):
            b.round(
                "cost_consulting",
                owner,
                M.DIRECT,
                b.ago(days),
                bids=[Bid(firm, D(quote))],
                winner=firm,
                scale=D("11000"),
            )
        b.plant("FE10", owner, "two direct awards to one firm at 46,500 and 48,800 yuan, just under 50,000")
        owner = self.owner("枣庄市峄城区卫生健康局")
        firm = self.others("cost_consulting", 1, M.DIRECT, exclude=[firm])[0]
        for days, quote in ((210, "35200"), (100, "38600")):
            b.round(
                "cost_consulting",
                owner,
                M.DIRECT,
                b.ago(days),
                bids=[Bid(firm, D(quote))],
                winner=firm,
                scale=D("10500"),
            )
        b.look_alike("FE10", owner, "two direct awards to one firm, both well under the threshold")

    # --- competition ------------------------------------------------------------------------

    def co01(self) -> None:
        b = self.b
        service = "traffic_impact_assessment"
        firms = self.others(service, 2, M.CREDIT_PREFERENCE)
        r = b.round(
            service,
            self.owner("枣庄市鲁南物流有限公司", "private"),
            M.CREDIT_PREFERENCE,
            b.ago(95),
            bids=[Bid(firms[0], D("41800")), Bid(firms[1], D("44200"), state=V.WITHDRAWN)],
            winner=firms[0],
        )
        b.plant("CO01", r, "credit preference with one valid applicant (the other withdrew)")
        firm = self.others("cost_consulting", 1, M.DIRECT)[0]
        r = b.round(
            "cost_consulting",
            self.owner("枣庄市市中区统计局"),
            M.DIRECT,
            b.ago(88),
            bids=[Bid(firm, D("21800"))],
            winner=firm,
        )
        b.look_alike("CO01", r, "a direct selection has one applicant by design")

    def co02(self) -> None:
        b = self.b
        service = "eia_report"
        firms = self.others(service, 4)
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(160),
            bids=self.bids(firms, [D("64000"), D("68500"), D("72300"), D("72300")]),
            winner=firms[0],
        )
        b.plant("CO02", r, "two applicants quoted exactly 72,300 yuan in a lowest-price round")

    def co03(self) -> None:
        b = self.b
        service = "soil_water_conservation_plan"
        phone = b.phone()
        ip = b.ip()
        twin_a = b.firm((service,), trade="水土保持咨询", phone=phone, ip=ip, background=False)
        twin_b = b.firm((service,), trade="生态修复技术", phone=phone, ip=ip, background=False)
        bids = self.priced(self.others(service, 1)[0], service, 1)
        quotes = b.ladder(bids[-1].quote * D("1.05"), 2)
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(130),
            bids=[*bids, Bid(twin_a, quotes[0]), Bid(twin_b, quotes[1])],
        )
        b.plant("CO03", r, "two applicants share a phone number and submitted from the same network address")
        a = b.firm(
            (service,),
            trade="水保技术",
            address="枣庄市市中区青檀路88号环球大厦1201室",
            phone="0632-3188201",
            background=False,
        )
        c = b.firm(
            (service,),
            trade="环境规划",
            address="枣庄市市中区青檀路88号环球大厦1508室",
            phone="0632-3188215",
            background=False,
        )
        bids = self.priced(self.others(service, 1)[0], service, 1)
        quotes = b.ladder(bids[-1].quote * D("1.05"), 2)
        r = b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(115),
            bids=[*bids, Bid(a, quotes[0]), Bid(c, quotes[1])],
        )
        b.look_alike("CO03", r, "two applicants in the same office tower, different suites and phone lines")

    def co04(self) -> None:
        b = self.b
        service = "eia_report"
        firms = self.others(service, 4)
        r = b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(145),
            bids=self.bids(firms, [D("68000"), D("68060"), D("73400"), D("78900")]),
            winner=firms[0],
        )
        b.plant("CO04", r, "the second-lowest quote is 60 yuan (0.09%) above the winner's")

    def co05(self) -> None:
        b = self.b
        service = "soil_water_conservation_plan"
        ring = [
            b.firm((service,), trade=t, background=False)
            for t in ("水保工程咨询", "水利规划设计", "生态环境工程")
        ]
        for i, winner in enumerate((ring[0], ring[1], ring[2], ring[0], ring[1])):
            outsider = self.others(service, 1)[0]
            quotes = b.ladder(b.price(LINES[service]), 4, service)
            losers = [f for f in ring if f is not winner]
            bids = [
                Bid(winner, quotes[0]),
                Bid(losers[0], quotes[1]),
                Bid(losers[1], quotes[2]),
                Bid(outsider, quotes[3]),
            ]
            b.round(
                service,
                self.bg_owner(("fiscal", "private")[i % 2]),
                M.LOWEST_PRICE,
                b.ago(290 - i * 55),
                bids=bids,
                winner=winner,
            )
        for firm in ring:
            b.plant(
                "CO05", firm, "bids with the same two firms in five rounds and the three take turns to win"
            )
        trio = [b.firm((service,), trade=t, background=False) for t in ("水保科技", "生态规划", "水利技术")]
        rotation: tuple[FirmH | None, ...] = (trio[0], None, trio[1], None)
        for i, turn in enumerate(rotation):
            outsider = self.others(service, 1)[0]
            quotes = b.ladder(b.price(LINES[service]), 4, service)
            order = (
                [outsider, *trio] if turn is None else [turn, *[f for f in trio if f is not turn], outsider]
            )
            b.round(
                service,
                self.bg_owner(("private", "fiscal")[i % 2]),
                M.LOWEST_PRICE,
                b.ago(270 - i * 60),
                bids=self.bids(order, quotes),
                winner=order[0],
            )
        for firm in trio:
            b.look_alike("CO05", firm, "three firms often bid together, but outsiders win half the rounds")

    def co06(self) -> None:
        b = self.b
        service = "eia_report"
        firms = self.others(service, 4)
        bids = self.bids(firms, [D("61500"), D("64800"), D("69500"), D("74100")])
        bids[0].state, bids[0].reason = V.DISQUALIFIED, "未提供近3个月社会保险缴纳证明。"
        r = b.round(
            service,
            self.owner("枣庄市台儿庄区生态环境分局"),
            M.LOWEST_PRICE,
            b.ago(105),
            bids=bids,
            winner=firms[1],
        )
        b.plant("CO06", r, "the lowest quote was disqualified in a lowest-price round")
        firms = self.others(service, 4)
        bids = self.bids(firms, [D("63200"), D("66900"), D("70700"), D("76100")])
        bids[3].state, bids[3].reason = V.DISQUALIFIED, "营业执照经营范围不含本项服务。"
        r = b.round(
            service,
            self.owner("枣庄市山亭区生态环境分局"),
            M.LOWEST_PRICE,
            b.ago(98),
            bids=bids,
            winner=firms[0],
        )
        b.look_alike("CO06", r, "a disqualified applicant, but not the cheapest")
        b.look_alike("CO07", r, "one applicant disqualified, three valid")

    def co07(self) -> None:
        b = self.b
        service = "traffic_impact_assessment"
        firms = self.others(service, 3)
        bids = self.bids(firms, [D("43800"), D("45900"), D("47600")])
        for bid, reason in zip(
            bids[1:], ("从业人员数量不满足项目要求。", "报名材料未按要求加盖公章。"), strict=True
        ):
            bid.state, bid.reason = V.DISQUALIFIED, reason
        r = b.round(
            service,
            self.owner("枣庄市鼎盛房地产开发有限公司", "private"),
            M.LOWEST_PRICE,
            b.ago(92),
            bids=bids,
            winner=firms[0],
        )
        b.plant("CO07", r, "every applicant but the winner was disqualified")
        b.side("CO01", r, "the winner was the only valid applicant")

    def co08(self) -> None:
        b = self.b
        owner = self.owner("枣庄市润华置业有限公司", "private")
        service = "safety_pre_assessment"
        for i in range(4):
            firms = self.others(service, 5)
            quotes = b.ladder(b.price(LINES[service]), 5, service)
            bids = self.bids(firms, quotes)
            for bid in bids[2:]:
                bid.state, bid.reason = V.DISQUALIFIED, b.rng.choice(DQ_REASONS)
            b.round(service, owner, M.LOWEST_PRICE, b.ago(250 - i * 60), bids=bids, winner=firms[0])
        b.plant("CO08", owner, "disqualified 12 of its 20 applicants in a year")

    # --- process ----------------------------------------------------------------------------

    def pr01(self) -> None:
        b = self.b
        r = b.round("cost_consulting", self.bg_owner("fiscal"), M.LOWEST_PRICE, b.ago(135), published_wd=3)
        b.plant("PR01", r, "registration open for 3 working days")
        r = b.round("cost_consulting", self.bg_owner("private"), M.LOWEST_PRICE, b.ago(128), published_wd=5)
        b.look_alike("PR01", r, "registration open for exactly the minimum 5 working days")

    def pr02(self) -> None:
        b = self.b
        service = "traffic_impact_assessment"
        deadline = b.ago(120)
        bids = self.priced(self.others(service, 1)[0], service, 2)
        late = self.others(service, 1, include=[x.firm for x in bids])[0]
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            deadline,
            bids=[*bids, Bid(late, bids[-1].quote * D("1.06"), submitted=b.at(deadline, 19, 10))],
        )
        b.plant("PR02", r, "an application submitted 2 hours 10 minutes after the deadline was accepted")
        deadline = b.ago(112)
        bids = self.priced(self.others(service, 1)[0], service, 2)
        last = self.others(service, 1, include=[x.firm for x in bids])[0]
        r = b.round(
            service,
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            deadline,
            bids=[*bids, Bid(last, bids[-1].quote * D("1.05"), submitted=b.at(deadline, 17, 0))],
        )
        b.look_alike("PR02", r, "an application at the very minute of the deadline is on time")

    def pr03(self) -> None:
        b = self.b
        r = b.round(
            "geotechnical_survey", self.bg_owner("fiscal"), M.LOWEST_PRICE, b.ago(40), stop="uploaded"
        )
        b.expect((r.project.contract_due or b.today) < b.today, "planted scenario out of shape")
        b.plant("PR03", r, "contract uploaded by the owner, never confirmed by the firm, deadline passed")
        r = b.round(
            "geotechnical_survey", self.bg_owner("private"), M.LOWEST_PRICE, b.ago(60), confirm_on_due=True
        )
        b.look_alike("PR03", r, "contract confirmed on the last day allowed")

    def pr04(self) -> None:
        b = self.b
        r = b.round(
            "soil_water_conservation_plan",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(95),
            stop="confirmed",
        )
        b.expect((r.project.delivery_due or b.today) < b.back(b.today, 10), "planted scenario out of shape")
        b.plant("PR04", r, "in service, nothing delivered more than 10 working days after the deadline")
        r = b.round(
            "soil_water_conservation_plan",
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.ago(150),
            deliver_late_wd=10,
        )
        b.look_alike("PR04", r, "delivered exactly 10 working days late (escalated, not a violation)")

    def pr05(self) -> None:
        b = self.b
        r = b.round(
            "land_survey_boundary", self.bg_owner("private"), M.LOWEST_PRICE, b.ago(85), stop="delivered"
        )
        b.expect((r.project.acceptance_due or b.today) < b.today, "planted scenario out of shape")
        b.plant("PR05", r, "delivered work left without an acceptance decision past the deadline")
        r = b.round(
            "land_survey_boundary", self.bg_owner("fiscal"), M.LOWEST_PRICE, b.ago(100), publicity_wd=1
        )
        b.plant("PR05", r, "result publicised for 1 working day instead of 3")
        r = b.round(
            "land_survey_boundary", self.bg_owner("fiscal"), M.LOWEST_PRICE, b.ago(120), accept_on_due=True
        )
        b.look_alike("PR05", r, "accepted on the last day allowed, publicity of exactly 3 working days")

    def pr06(self) -> None:
        b = self.b
        service = "safety_pre_assessment"
        firm = self.others(service, 1)[0]
        r = b.round(
            service,
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(80),
            bids=self.priced(firm, service, 3),
            winner=firm,
            walkaway="人员调整，无法按期履约。",
        )
        b.plant("PR06", r, "the winner declined to sign")
        serial = b.firm((service, "eia_report"), trade="安全环保咨询", background=False)
        for days, svc in ((320, service), (200, "eia_report"), (70, service)):
            r = b.round(
                svc,
                self.bg_owner("private"),
                M.LOWEST_PRICE,
                b.ago(days),
                bids=self.priced(serial, svc, 3),
                winner=serial,
                walkaway="报价测算有误，放弃中选。",
            )
            b.plant("PR06", r, "one of three walk-aways of the same firm")
        b.plant("PR06", serial, "walked away from three results within a year (serious)")
        twice = b.firm(("geotechnical_survey",), trade="勘察测试", background=False)
        for days in (260, 110):
            r = b.round(
                "geotechnical_survey",
                self.bg_owner("fiscal"),
                M.LOWEST_PRICE,
                b.ago(days),
                bids=self.priced(twice, "geotechnical_survey", 3),
                winner=twice,
                walkaway="项目负责人离职。",
            )
            b.plant("PR06", r, "one of two walk-aways of the same firm")
        b.look_alike("PR06", twice, "walked away twice in a year: each recorded, not yet serious")

    # --- the four named look-alikes -------------------------------------------------------------

    def named_look_alikes(self) -> None:
        b = self.b
        # 1. An old declared tie past its cooling-off period.
        person = b.person()
        award = b.ago(70)
        left = award - timedelta(days=1500)
        b.staff(
            "ecology_environment",
            person=person,
            position="环评科科长",
            started=left - timedelta(days=5000),
            ended=left,
        )
        firm = b.firm(("eia_report",), trade="环境评价", representative=person, background=False)
        b.declare(
            firm,
            "ecology_environment",
            DeclaredTie.Kind.FORMER_STAFF,
            f"法定代表人{person[0]}曾任市生态环境局环评科科长，已于{left:%Y年%m月}离职。",
            person=person[0],
            ended=left,
        )
        r = b.round(
            "eia_report",
            self.bg_owner("private"),
            M.LOWEST_PRICE,
            b.back(award, 1),
            bids=self.priced(firm, "eia_report", 3),
            winner=firm,
        )
        b.look_alike("RP03", r, "the winner's legal representative left the bureau four years ago (declared)")
        b.look_alike("RP02", r, "the former official is no longer on the staff")
        b.look_alike("RP05", firm, "the old tie is declared")
        # 2. A quote legitimately low because the project is small.
        firms = self.others("land_survey_boundary", 4, M.LOWEST_PRICE)
        r = b.round(
            "land_survey_boundary",
            self.bg_owner("fiscal"),
            M.LOWEST_PRICE,
            b.ago(115),
            bids=self.bids(firms, [D("5600"), D("5980"), D("6390"), D("6850")]),
            winner=firms[0],
            line=SMALL_SURVEY,
            scale=D("320"),
        )
        b.look_alike(
            "FE07", r, "5,600 yuan for a small survey (3.2 million yuan project): normal for its scale band"
        )
        b.look_alike("FE01", r, "inside the guided band for projects under 10 million yuan")
        # 3. A firm that wins often because it is the only one qualified.
        owner = b.owners[0]
        b.look_alike(
            "FA02",
            owner,
            "directly selects the only special-equipment inspector in the market, again and again",
        )
        b.look_alike(
            "FA03",
            b.departments["market_regulation"],
            "one firm wins every special-equipment inspection: no other firm offers it",
        )
        b.look_alike("FA08", b.sole, "the only qualified firm works for several owners")
        # 4. Identical quotes in a random draw where the owner fixed the price.
        firms = self.others("eia_report", 4, M.RANDOM_DRAW)
        r = b.round(
            "eia_report",
            self.bg_owner("fiscal"),
            M.RANDOM_DRAW,
            b.ago(140),
            bids=[Bid(f, D("72000")) for f in firms],
            winner=firms[2],
        )
        b.look_alike("CO02", r, "four identical quotes at the owner's fixed price in a random draw")
        b.look_alike("FE07", r, "the fixed price of a random draw is the owner's, not a firm's")
        # FE09 look-alike: a firm paid only through contract lines.
        paid = next(
            h.winner
            for h in b.background
            if h.contract is not None
            and h.stage in ("paid", "rated", "closed")
            and h.winner is not self.fe09_firm
        )
        b.look_alike("FE09", paid, "every payment it received is tied to a contract line")


def build_small_market(seed: int = 2026, *, now: datetime | None = None) -> Manifest:
    """The small synthetic market (about a hundred firms and two hundred projects, half of them
    the clean background) with every rule's planted cases and the look-alikes; see the module
    docstring. Runs in one transaction; raises ``AlreadySeeded`` on a database that has one."""
    return _Builder(seed, now).build()


def evaluate(manifest: Manifest, codes: Iterable[str], flags: Iterable[Any]) -> dict[str, Any]:
    """Score the open ``flags`` of a scan against the manifest, for the registered ``codes``:
    the planted cases missed, the look-alikes flagged, and per rule its recall and precision,
    where a flag on a planted subject or an expected side effect counts as right and any other
    (the background's) is listed by subject for a reviewer."""
    codes = set(codes)
    flagged = {(f.rule, f.subject_type, f.subject_id) for f in flags}

    def key(case: dict) -> tuple[str, str, int]:
        return (case["rule"], case["subject_type"], case["subject_id"])

    planted = {key(c) for c in manifest.planted}
    expected = planted | {key(c) for c in manifest.side_effects}
    per_rule: dict[str, dict[str, Any]] = {}
    for code in sorted(codes):
        cases = [c for c in manifest.planted if c["rule"] == code]
        found = [c for c in cases if key(c) in flagged]
        subjects = [k for k in flagged if k[0] == code]
        right = [k for k in subjects if k in expected]
        per_rule[code] = {
            "planted": len(cases),
            "found": len(found),
            "recall": len(found) / len(cases) if cases else None,
            "flagged_subjects": len(subjects),
            "side_effects": len([k for k in right if k not in planted]),
            "other": sorted(k[1:] for k in subjects if k not in expected),
            "precision": len(right) / len(subjects) if subjects else None,
            "look_alikes": len([c for c in manifest.look_alikes if c["rule"] == code]),
        }
    return {
        "missed": [c for c in manifest.planted if c["rule"] in codes and key(c) not in flagged],
        "flagged_look_alikes": [c for c in manifest.look_alikes if c["rule"] in codes and key(c) in flagged],
        "per_rule": per_rule,
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    """``evaluate``'s result as a table, then the background's flags, misses and look-alikes hit."""
    header = ("rule", "planted", "found", "recall", "flagged", "side", "other", "precision", "look-alikes")
    widths = (6, 8, 7, 8, 9, 6, 7, 11, 13)
    lines = [
        "".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    for code, row in result["per_rule"].items():
        cells = (
            code,
            row["planted"],
            row["found"],
            "-" if row["recall"] is None else f"{row['recall']:.0%}",
            row["flagged_subjects"],
            row["side_effects"],
            len(row["other"]),
            "-" if row["precision"] is None else f"{row['precision']:.0%}",
            row["look_alikes"],
        )
        lines.append(
            "".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
    for code, row in result["per_rule"].items():
        if row["other"]:
            lines.append(
                f"  {code} also flags (background): " + ", ".join(f"{t}:{i}" for t, i in row["other"])
            )
    for case in result["missed"]:
        lines.append(f"  MISSED {case['rule']} {case['subject_type']}:{case['subject_id']} — {case['note']}")
    for case in result["flagged_look_alikes"]:
        lines.append(
            f"  LOOK-ALIKE FLAGGED {case['rule']} {case['subject_type']}:{case['subject_id']} — {case['note']}"
        )
    return lines


__all__ = [
    "AlreadySeeded",
    "Manifest",
    "RULE_CODES",
    "build_small_market",
    "evaluate",
    "report_lines",
]
