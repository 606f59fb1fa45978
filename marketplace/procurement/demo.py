"""Procurement in the demo market: some sixty projects replayed over the demo's fourteen months.

``seed_procurement()`` runs after the providers demo (``marketplace.providers.demo``) and uses
its owners, firms and published fees. Every project goes through the real services: the owner
posts it (``project_create``), the operator publishes it, listed firms apply with sealed quotes
near their published fees, Celery beat's ``tick()`` closes registration and runs the automatic
selections, the result is publicised, objections are answered, contracts signed, results
delivered and accepted and both sides rate each other. As in the providers demo, history is
replayed with ``django.utils.timezone.now`` pointed at each step's time, so the services' clock
checks (registration period, deadline, selection time, publicity) hold and the audit log tells
the same story as the rows. Everything that is still open is consistent with the real "now":
registration that is open ends in the future, publicity that is running ends today or later,
and no deadline that beat would act on has passed.

Content (titles, scales, quotes, scores, the firms that apply) comes from
``random.Random(2024)``; dates are placed relative to the day of seeding. The secrets of the
draws are real (``draw.new_secret``), so the winners of random draws, reference-price selections
and credit-preference short lists differ from one demo to the next; every planted case below is
built only on steps whose outcome does not depend on a draw.

Planted cases for the monitoring rules (returned in the manifest):

* one firm wins four projects for the approval items of one department (水利局);
* one owner selects the same firm directly three times within a year, each below the threshold;
* two firms submit identical lowest quotes in a lowest-price project (broken by the draw);
* a private project with a single valid applicant;
* two firms applying to the same project from the same client IP;
* a contract amendment that raises the amount by 15%;
* a look-alike: identical quotes in a random draw, which is at a fixed price by design.

Nothing here is real: the projects, codes and people are invented.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone

from marketplace.accounts.models import Membership, Role, User
from marketplace.catalog.models import ApprovalItem, PricingRegime, ServiceType
from marketplace.core.workdays import add_working_days, is_working_day
from marketplace.providers import demo as market
from marketplace.providers.models import DeclaredTie, FeeSchedule, Intermediary, Offer

from . import services
from .methods import method_for
from .models import (
    Amendment,
    Application,
    Contract,
    Delivery,
    Escalation,
    FundingSource,
    Method,
    Objection,
    Project,
    Rating,
    Selection,
    Status,
    WalkAway,
)
from .services.contracts import FIRM_CRITERIA, OWNER_CRITERIA, winning_application

SEED = 2024
S = Status
M = Method
LISTED = (Intermediary.Status.LISTED, Intermediary.Status.LISTED_UNDER_REVIEW)
ROUND_1000 = Decimal(1000)

# Firms the planted cases rely on (names from ``marketplace.providers.demo.FIRMS``).
SHUIRUN = "枣庄市水润水利工程咨询有限公司"
HUANGHE = "山东黄河水文水资源咨询有限公司"
QINGSHAN = "山亭区青山水保技术服务部"
RENHE = "山东仁和职业健康评价有限公司"
KANGNING = "枣庄市康宁职业卫生技术服务有限公司"
ZHONGZHENG = "枣庄市中正招标代理有限公司"
HUACHENG = "滕州市华诚建设项目管理有限公司"
ZHENGTAI = "山东正泰工程咨询有限公司"
CHANGTONG = "枣庄市畅通交通规划咨询有限公司"
ANTAI = "山东安泰安全评价有限公司"
ZHONGKUANG = "徐州中矿安全技术评价有限公司"
ZHENGYUAN = "滕州市正源测绘有限公司"
JINDI = "山东金地勘测规划设计有限公司"
LUNAN_SURVEY = "枣庄市鲁南测绘地理信息有限公司"


class ProcurementAlreadySeeded(Exception):
    """The demo owners have projects already."""


# --- what happens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One project's story: who posts what, how it is selected, and how far it has got."""

    key: str
    owner: str  # the owner's username in the providers demo
    title: str
    service: str
    item: str  # approval item code ("" for none)
    method: str
    final: str  # the project's status as of now
    age: int | None = None  # days before today the owner posts it (None: as late as the story allows)
    scale: tuple[int, int] = (1000, 3000)  # investment, 万元
    qty: tuple[int, int] = (0, 0)  # quantity in the fee unit, for per-unit fees
    industry: str = ""  # two-digit industry code of the investment project code ("": no code)
    funding: str = ""  # default: fiscal for 机关/事业单位, private for companies
    firms: tuple[str, ...] = ()  # firms that apply for sure
    n: tuple[int, int] = (3, 5)  # how many firms apply in all
    favourite: str = ""  # the firm the owner picks, or the one that quotes (or scores) best
    flags: frozenset[str] = frozenset()
    days: int = 0  # service days (0: the typical days of the firms' offers)
    weight: int = 0  # price weight of a scored comparison
    exclude: tuple[tuple[str, str], ...] = ()
    relaunch: Spec | None = None  # the new project after a failed round


def _s(key, owner, title, service, item, method, final, *, flags=(), **kw) -> Spec:
    return Spec(key, owner, title, service, item, method, final, flags=frozenset(flags), **kw)


# fmt: off
SPECS: tuple[Spec, ...] = (
    # --- 枣庄市市中区教育和体育局: the ``owner`` login's workspace -------------------------------
    _s("edu-eia-15", "owner", "枣庄市市中区第十五中学新建教学楼项目环境影响评价",
       "eia_report", "eia_document_approval", M.LOWEST_PRICE, S.CLOSED, age=205,
       scale=(8500, 11000), industry="83", n=(3, 4), days=30),
    _s("edu-fs-sy", "owner", "市中区实验小学综合楼项目可行性研究报告编制",
       "feasibility_study", "gov_feasibility_study", M.REFERENCE_PRICE, S.CLOSED, age=325,
       scale=(7000, 9000), industry="83", n=(3, 3), days=25),
    _s("edu-cost-29", "owner", "市中区第二十九中学操场改造工程造价咨询",
       "cost_consulting", "gov_preliminary_design", M.DIRECT, S.CLOSED, age=262,
       scale=(350, 480), industry="83", n=(1, 2), days=15),
    _s("edu-geo-wh", "owner", "市中区文化路幼儿园新建工程岩土工程勘察",
       "geotechnical_survey", "construction_permit", M.DIRECT, S.IN_SERVICE,
       scale=(2200, 2800), qty=(220, 300), industry="83", n=(1, 1), days=20),
    _s("edu-sup-15", "owner", "市中区第十五中学新建教学楼工程监理",
       "construction_supervision", "", M.CREDIT_PREFERENCE, S.SELECTING,
       scale=(8500, 11000), industry="83", n=(2, 3), days=260),
    _s("edu-energy-tyg", "owner", "市中区实验中学体育馆项目节能报告编制",
       "energy_saving_report", "energy_conservation_review", M.RANDOM_DRAW, S.SELECTED,
       scale=(4200, 5600), industry="83", n=(3, 3), days=20, flags={"lookalike"}),
    _s("edu-ssr-zz", "owner", "市中区职业中等专业学校实训楼项目社会稳定风险评估",
       "social_stability_risk", "gov_feasibility_study", M.LOWEST_PRICE, S.CONTRACTING,
       scale=(5200, 6800), industry="83", n=(3, 4), days=20, flags={"contract_uploaded"}),
    _s("edu-pd-gml", "owner", "市中区光明路小学改扩建项目初步设计及概算编制",
       "preliminary_design", "gov_preliminary_design", M.SCORED_COMPARISON, S.DELIVERED,
       scale=(5600, 7200), industry="83", n=(2, 3), days=25, weight=30),
    _s("edu-survey-15", "owner", "市中区第十五中学新建教学楼不动产首次登记房产测绘",
       "survey_property", "real_estate_registration", M.LOWEST_PRICE, S.PUBLISHED,
       scale=(1500, 1900), qty=(16000, 19000), industry="83", n=(2, 3), days=10),
    _s("edu-fs-tj", "owner", "市中区特殊教育学校迁建项目可行性研究报告编制",
       "feasibility_study", "gov_feasibility_study", M.REFERENCE_PRICE, S.DRAFT,
       scale=(6000, 7500), industry="83", days=25),
    _s("edu-cost-settle", "owner", "市中区第十五中学新建教学楼工程结算审核",
       "cost_consulting", "", M.LOWEST_PRICE, S.RETURNED,
       scale=(8500, 11000), industry="83", days=20),
    _s("edu-geohaz-wh", "owner", "市中区文化路幼儿园新建工程地质灾害危险性评估",
       "geohazard_risk_assessment", "land_pre_review_siting", M.DIRECT, S.ACCEPTED,
       scale=(2200, 2800), industry="83", n=(1, 1), days=15, flags={"firm_rated"}),
    # --- 滕州市住房和城乡建设局 -------------------------------------------------------------------
    _s("tz-bid-lq", "owner02", "滕州市龙泉路地下综合管廊工程招标代理",
       "bidding_agency", "", M.LOWEST_PRICE, S.IN_SERVICE,
       scale=(5200, 6800), industry="48", firms=(ZHONGZHENG, HUACHENG), n=(3, 4), days=25,
       flags={"shared_ip"}),
    _s("tz-fs-xy", "owner02", "滕州市学院中路片区城市更新项目可行性研究报告编制",
       "feasibility_study", "gov_feasibility_study", M.LOWEST_PRICE, S.UNDER_CHECK,
       scale=(18000, 24000), industry="47", days=30),
    _s("tz-ssr-sg", "owner02", "滕州市善国北路棚户区改造安置房项目社会稳定风险评估",
       "social_stability_risk", "housing_expropriation", M.LOWEST_PRICE, S.RELAUNCHED, age=150,
       scale=(26000, 32000), industry="47", n=(3, 3), days=20, flags={"decline"},
       relaunch=_s("tz-ssr-sg-2", "owner02", "", "social_stability_risk", "housing_expropriation",
                   M.LOWEST_PRICE, S.CLOSED, n=(3, 4), days=20)),
    _s("tz-sup-jh", "owner02", "滕州市荆河街道老旧小区改造项目工程监理",
       "construction_supervision", "", M.LOWEST_PRICE, S.PUBLISHED,
       scale=(3800, 4600), industry="47", n=(2, 3), days=200),
    _s("tz-design-sg", "owner02", "滕州市善国中学新校区建设工程施工图设计",
       "engineering_design", "drawing_review", M.SCORED_COMPARISON, S.CLOSED, age=175,
       scale=(9000, 11000), industry="83", n=(2, 2), days=45, weight=40),
    _s("tz-review-bz", "owner02", "滕州市保障性租赁住房项目施工图设计文件审查",
       "construction_drawing_review", "construction_permit", M.DIRECT, S.CLOSED, age=62,
       scale=(4200, 4800), qty=(19000, 22000), industry="47", n=(1, 1), days=10),
    # --- 枣庄市薛城区人民医院 ---------------------------------------------------------------------
    _s("hos-rad-dsa", "owner03", "枣庄市薛城区人民医院DSA介入手术室建设项目职业病危害放射防护预评价",
       "radiation_pre_eval", "radiation_pre_eval_review", M.DIRECT, S.CLOSED, age=292,
       scale=(900, 1300), industry="84", firms=(RENHE,), n=(1, 1), favourite=RENHE, days=15,
       flags={"repeat_direct"}),
    _s("hos-rad-ct", "owner03", "薛城区人民医院新院区CT机房放射诊疗建设项目职业病危害控制效果评价",
       "radiation_control_eval", "radiation_completion_acceptance", M.DIRECT, S.CLOSED, age=172,
       scale=(600, 900), industry="84", firms=(RENHE,), n=(1, 1), favourite=RENHE, days=15,
       flags={"repeat_direct"}),
    _s("hos-rad-pet", "owner03", "薛城区人民医院核医学科（PET-CT）建设项目职业病危害放射防护预评价",
       "radiation_pre_eval", "radiation_pre_eval_review", M.DIRECT, S.IN_SERVICE,
       scale=(2400, 3200), industry="84", firms=(RENHE, KANGNING), n=(2, 2), favourite=RENHE,
       days=20, flags={"repeat_direct"}),
    _s("hos-eia-new", "owner03", "枣庄市薛城区人民医院新院区医疗综合楼建设项目环境影响评价",
       "eia_report", "eia_document_approval", M.REFERENCE_PRICE, S.CLOSED, age=152,
       scale=(32000, 38000), industry="84", n=(3, 4), days=30),
    _s("hos-lightning", "owner03", "枣庄市薛城区人民医院新院区医疗综合楼雷电灾害风险评估",
       "lightning_risk_assessment", "lightning_design_review", M.DIRECT, S.CLOSED, age=138,
       scale=(32000, 38000), industry="84", n=(1, 1), days=10),
    # --- 枣庄高新技术产业开发区管理委员会 -------------------------------------------------------------
    _s("gx-eia-li", "owner04", "枣庄高新区锂电新能源产业园一期工程环境影响评价",
       "eia_report", "eia_document_approval", M.LOWEST_PRICE, S.IN_SERVICE,
       scale=(46000, 58000), industry="38", n=(4, 5), days=40, flags={"objection_upheld"}),
    _s("gx-cost-kc", "owner04", "枣庄高新区科创中心项目全过程造价咨询",
       "cost_consulting", "gov_preliminary_design", M.LOWEST_PRICE, S.CLOSED, age=205,
       scale=(12000, 15000), industry="47", firms=(ZHONGZHENG, ZHENGTAI), n=(4, 4), days=30,
       flags={"identical"}),
    _s("gx-traffic-rc", "owner04", "枣庄高新区人才公寓项目交通影响评价",
       "traffic_impact_assessment", "construction_planning_permit", M.LOWEST_PRICE, S.CANCELLED,
       scale=(9000, 12000), industry="47", n=(1, 1), days=20),
    _s("gx-plan-sz", "owner04", "枣庄高新区数字经济产业园修建性详细规划编制",
       "planning_scheme_design", "construction_planning_permit", M.SCORED_COMPARISON,
       S.REGISTRATION_CLOSED, scale=(36000, 42000), qty=(70000, 90000), industry="47", n=(3, 3),
       days=30, weight=30),
    _s("gx-fs-fh", "owner04", "枣庄高新区创新创业孵化基地项目可行性研究报告编制",
       "feasibility_study", "gov_feasibility_study", M.CREDIT_PREFERENCE, S.CLOSED, age=398,
       scale=(8000, 9500), industry="75", n=(2, 2), days=25),
    _s("gx-safety-li", "owner04", "枣庄高新区锂电新能源产业园电解液仓储项目安全预评价",
       "safety_pre_assessment", "hazchem_safety_conditions", M.LOWEST_PRICE, S.IN_SERVICE,
       scale=(6800, 8200), industry="59", n=(3, 3), days=30),
    # --- 枣庄市台儿庄区水务局 ---------------------------------------------------------------------
    _s("tez-water-2", "owner05", "台儿庄区城区第二水厂取水工程水资源论证报告书编制",
       "water_resource_demo", "water_abstraction_permit", M.SCORED_COMPARISON, S.IN_SERVICE,
       scale=(9500, 12000), industry="46", firms=(SHUIRUN, HUANGHE), n=(2, 2), favourite=SHUIRUN,
       days=30, weight=30, flags={"concentration"}),
    _s("tez-flood-sd", "owner05", "台儿庄区运河湿地公园提升工程防洪评价",
       "flood_impact_eval", "flood_impact_approval", M.LOWEST_PRICE, S.FAILED,
       scale=(6500, 8000), industry="78", n=(2, 2), days=30),
    _s("tez-wq-gw", "owner05", "台儿庄区农村供水管网改造工程水利工程质量检测",
       "water_project_quality_testing", "water_project_acceptance", M.DIRECT, S.CLOSED, age=238,
       scale=(420, 560), industry="46", n=(1, 1), days=15),
    _s("tez-soil-df", "owner05", "台儿庄区古运河堤防加固工程水土保持方案编制",
       "soil_water_conservation_plan", "soil_water_plan_approval", M.DIRECT, S.CLOSED, age=250,
       scale=(2600, 3400), industry="76", firms=(QINGSHAN,), n=(1, 1), favourite=QINGSHAN, days=20),
    # --- 枣庄市山亭区交通运输局 -------------------------------------------------------------------
    _s("st-fs-hn", "owner06", "山亭区汉诺路东延工程可行性研究报告编制",
       "feasibility_study", "gov_feasibility_study", M.LOWEST_PRICE, S.OBJECTION_PENDING,
       scale=(15000, 19000), industry="48", n=(3, 5), days=30, flags={"objection_pending"}),
    _s("st-hw-x011", "owner06", "山亭区X011线（店子—北庄段）大中修工程公路工程试验检测",
       "highway_waterway_testing", "highway_waterway_acceptance", M.LOWEST_PRICE, S.PUBLISHED,
       scale=(5200, 6400), qty=(11, 14), industry="48", n=(1, 1), days=30),
    _s("st-road-s244", "owner06", "山亭区S244线与汉诺路平交道口改造涉路工程安全评价",
       "road_involved_safety_eval", "road_works_permit", M.DIRECT, S.CLOSED, age=112,
       scale=(1800, 2400), industry="48", n=(1, 1), days=15),
    _s("st-traffic-bus", "owner06", "山亭区城区公交首末站建设项目交通影响评价",
       "traffic_impact_assessment", "construction_planning_permit", M.DIRECT, S.RATED, age=82,
       scale=(2600, 3200), industry="54", n=(1, 1), days=20),
    _s("st-geo-bus", "owner06", "山亭区城区公交首末站建设项目岩土工程勘察",
       "geotechnical_survey", "construction_permit", M.DIRECT, S.CLOSED, age=96,
       scale=(2600, 3200), qty=(240, 320), industry="54", n=(1, 1), days=15),
    # --- 枣庄市峄城区农业农村局 -------------------------------------------------------------------
    _s("yc-lsb-ll", "owner07", "峄城区农产品冷链物流园建设用地勘测定界",
       "land_survey_boundary", "construction_land_approval", M.RANDOM_DRAW, S.RELAUNCHED, age=262,
       scale=(9000, 14000), qty=(220, 280), industry="59", firms=(ZHENGYUAN, JINDI), n=(2, 2),
       days=10,
       relaunch=_s("yc-lsb-ll-2", "owner07", "", "land_survey_boundary", "construction_land_approval",
                   M.RANDOM_DRAW, S.CLOSED, firms=(ZHENGYUAN, JINDI, LUNAN_SURVEY), n=(3, 3),
                   days=10)),
    _s("yc-land-tsh", "owner07", "峄城区坛山街道农村集体经营性建设用地入市地块土地估价",
       "land_valuation", "state_land_transfer", M.CREDIT_PREFERENCE, S.PUBLISHED,
       scale=(2400, 3200), industry="", n=(1, 2), days=10),
    _s("yc-fs-sl", "owner07", "峄城区石榴深加工产业园项目可行性研究报告编制",
       "feasibility_study", "gov_feasibility_study", M.RANDOM_DRAW, S.CLOSED, age=120,
       scale=(9000, 12000), industry="01", n=(4, 5), days=25),
    # --- 山东鲁南置业有限公司 (private) -----------------------------------------------------------
    _s("ln-survey-jsf2", "owner08", "鲁南置业·君山府项目二期房产测绘（预测绘）",
       "survey_property", "presale_permit", M.LOWEST_PRICE, S.CLOSED, age=182,
       scale=(1500, 1950), qty=(22000, 26000), industry="70", n=(3, 4), days=20,
       flags={"return_delivery"}),
    _s("ln-traffic-jsf3", "owner08", "鲁南置业·君山府项目三期建设项目交通影响评价",
       "traffic_impact_assessment", "construction_planning_permit", M.LOWEST_PRICE, S.CLOSED,
       age=108, scale=(38000, 45000), industry="70", firms=(CHANGTONG,), n=(1, 1), days=20,
       flags={"single"}),
    _s("ln-design-jsf3", "owner08", "鲁南置业·君山府项目三期建设工程设计方案编制",
       "planning_scheme_design", "construction_planning_permit", M.REFERENCE_PRICE, S.IN_SERVICE,
       scale=(38000, 45000), qty=(85000, 98000), industry="70", n=(3, 3), days=40,
       flags={"amend_down"}),
    _s("ln-appraisal-fmh", "owner08", "鲁南置业·凤鸣湖商业综合体项目房地产估价",
       "real_estate_appraisal", "", M.DIRECT, S.CLOSED, age=64,
       scale=(2200, 2800), industry="", n=(1, 1), days=10),
    # --- 枣庄市城市建设投资发展集团有限公司 (fiscal) ------------------------------------------------
    _s("ct-cost-wsc", "owner09", "峄城区污水处理厂扩建工程造价咨询",
       "cost_consulting", "gov_preliminary_design", M.REFERENCE_PRICE, S.CLOSED, age=282,
       scale=(9000, 12000), industry="46", n=(3, 3), days=25, funding="fiscal",
       flags={"objection_rejected"}),
    _s("ct-survey-ls", "owner09", "薛城区临山路改造工程测绘",
       "survey_planning_verification", "planning_verification", M.LOWEST_PRICE, S.CLOSED, age=205,
       scale=(11000, 14000), qty=(95000, 110000), industry="48", n=(3, 3), days=20,
       funding="fiscal", flags={"amend_up"}),
    _s("ct-flood-slq", "owner09", "枣庄市城区十里泉河综合整治工程防洪评价",
       "flood_impact_eval", "flood_impact_approval", M.CREDIT_PREFERENCE, S.CONTRACTING,
       scale=(16000, 21000), industry="76", firms=(SHUIRUN, HUANGHE), n=(2, 2), favourite=SHUIRUN,
       days=30, funding="fiscal", flags={"concentration"}),
    _s("ct-sup-gm", "owner09", "枣庄市光明大道跨京沪铁路立交桥工程监理",
       "construction_supervision", "", M.SCORED_COMPARISON, S.IN_SERVICE,
       scale=(21000, 26000), industry="48", n=(2, 2), days=240, weight=40, funding="fiscal"),
    _s("ct-bid-gs", "owner09", "枣庄市城区老旧供水管网改造工程招标代理",
       "bidding_agency", "", M.RANDOM_DRAW, S.CLOSED, age=64,
       scale=(6000, 7500), industry="46", n=(3, 3), days=10, funding="fiscal"),
    # --- 山东华宇新材料科技有限公司 (private) -------------------------------------------------------
    _s("hy-safety-dj", "owner10", "山东华宇新材料科技有限公司年产5万吨锂电池电解液项目安全预评价",
       "safety_pre_assessment", "hazchem_safety_conditions", M.LOWEST_PRICE, S.CLOSED, age=165,
       scale=(38000, 46000), industry="26", firms=(ANTAI, ZHONGKUANG), n=(2, 2), days=30,
       flags={"dispute"}),
    _s("hy-water-qs", "owner10", "山东华宇新材料科技有限公司取水工程水资源论证报告书编制",
       "water_resource_demo", "water_abstraction_permit", M.DIRECT, S.SELECTED,
       scale=(38000, 46000), industry="26", firms=(SHUIRUN,), n=(1, 1), favourite=SHUIRUN, days=25,
       flags={"concentration"}),
    _s("hy-occ-dj", "owner10", "山东华宇新材料科技有限公司年产5万吨锂电池电解液项目职业病危害预评价",
       "occ_hazard_pre_eval", "", M.SCORED_COMPARISON, S.PUBLISHED,
       scale=(38000, 46000), industry="26", n=(1, 2), days=25, weight=40),
    _s("hy-eia-acc", "owner10", "山东华宇新材料科技有限公司一期工程竣工环境保护验收监测",
       "eia_acceptance_monitoring", "", M.LOWEST_PRICE, S.CLOSED, age=232,
       scale=(18000, 22000), industry="26", n=(2, 2), days=20),
    # --- 山东运河物流园开发有限公司 (private) -------------------------------------------------------
    _s("yh-soil-cc2", "owner11", "山东运河物流园区二期仓储项目水土保持方案编制",
       "soil_water_conservation_plan", "soil_water_plan_approval", M.LOWEST_PRICE, S.CLOSED, age=90,
       scale=(14000, 17000), industry="59", firms=(SHUIRUN, QINGSHAN), n=(2, 2), favourite=SHUIRUN,
       days=15, flags={"concentration"}),
    _s("yh-land-cc2", "owner11", "山东运河物流园区二期仓储项目建设项目节地评价",
       "land_saving_evaluation", "land_pre_review_siting", M.DIRECT, S.CLOSED, age=215,
       scale=(14000, 17000), industry="59", n=(1, 1), days=20),
    _s("yh-fire-ll", "owner11", "山东运河物流园区冷链仓库建筑消防设施检测",
       "fire_facility_testing", "fire_acceptance_filing", M.DIRECT, S.CLOSED, age=135,
       scale=(6000, 7500), qty=(26000, 32000), industry="59", n=(1, 1), days=8),
    _s("yh-eia-cc2", "owner11", "山东运河物流园区二期仓储项目环境影响评价",
       "eia_report", "eia_document_approval", M.RANDOM_DRAW, S.CLOSED, age=128,
       scale=(14000, 17000), industry="59", n=(3, 4), days=25),
    _s("yh-lightning-1", "owner11", "山东运河物流园区一期工程防雷装置检测",
       "lightning_protection_inspection", "lightning_completion_acceptance", M.DIRECT, S.CLOSED,
       age=372, scale=(5000, 8000), qty=(240, 320), industry="59", n=(1, 1), days=5),
    _s("tz-survey-bx", "owner02", "滕州市北辛街道社区综合服务中心项目房产测绘",
       "survey_property", "real_estate_registration", M.DIRECT, S.CLOSED, age=402,
       scale=(1200, 1600), qty=(14000, 17000), industry="47", n=(1, 1), days=10),
)
# fmt: on

OWNER_AREAS = {
    (spec.login or f"owner{number:02d}"): spec.area for number, spec in enumerate(market.OWNERS, start=1)
}
# the second segment of an investment project code: 01 审批 (government), 03 备案 (enterprise)
INDUSTRY_NAMES = {
    "01": "农业",
    "26": "化学原料和化学制品制造业",
    "38": "电气机械和器材制造业",
    "46": "水的生产和供应业",
    "47": "房屋建筑业",
    "48": "土木工程建筑业",
    "54": "道路运输业",
    "59": "仓储业",
    "70": "房地产业",
    "75": "科技推广和应用服务业",
    "76": "水利管理业",
    "78": "公共设施管理业",
    "83": "教育",
    "84": "卫生",
}
# The wording of the quantity in the service content, by fee unit.
QUANTITY_WORDS = {
    "元/平方米": ("建筑面积约", "平方米"),
    "元/亩": ("用地面积约", "亩"),
    "元/延米": ("钻探进尺约", "延米"),
    "元/检测点": ("检测点约", "个"),
    "元/公里": ("路线长度约", "公里"),
    "元/台": ("设备", "台"),
    "元/样品": ("样品约", "个"),
    "元/宗": ("宗地约", "宗"),
}
EVALUATORS = (
    "高建华",
    "刘振宇",
    "孙丽萍",
    "马德军",
    "王海波",
    "李晓燕",
    "张立新",
    "陈永刚",
    "赵慧敏",
    "周文彬",
)

RETURN_NOTE = (
    "最高限价明显高于同类项目在平台公示的收费水平，且服务内容未列明结算审核的工程范围和成果要求，"
    "请核实后修改并重新提交。"
)
PUBLISH_NOTES = ("", "", "", "经审核，项目信息完整，予以发布。", "资质要求与服务事项标准一致，予以发布。")
CANCEL_REASON = "项目规划方案调整，原建设内容变化较大，本次采购取消，待方案确定后另行发布。"
DIRECT_REASONS = {
    "fiscal": (
        "本项目最高限价低于财政资金直接选取限额，服务内容简单、工期要求紧，经单位集体研究决定直接选取。",
        "项目金额较小，低于直接选取限额；为配合建设进度，经领导班子会议研究采用直接选取方式。",
    ),
    "private": ("企业自有资金项目，金额低于直接选取限额，根据工程进度安排直接选取。",),
}
HOSPITAL_DIRECT_REASON = (
    "放射诊疗设备安装进度要求紧，本项目金额低于财政资金直接选取限额，经院长办公会研究，"
    "直接选取具备放射卫生技术服务资质的评价机构。"
)
PICK_REASONS = {
    M.DIRECT: "该机构报价在限价以内，项目负责人经验丰富，服务方案满足工期要求。",
    M.CREDIT_PREFERENCE: "综合候选机构的同类项目业绩、项目负责人经验和服务方案，选定该机构。",
}
REPEAT_PICK_REASON = (
    "该机构具备放射卫生技术服务资质，近年承担本院多项同类评价，熟悉本院放射诊疗设施情况，报价合理。"
)
OBJECTIONS = {
    "upheld": (
        "中选机构报名时承诺的项目负责人已于报名截止前调离该机构，不再具备担任项目负责人的条件，请予核查。",
        "经核实，中选机构承诺的项目负责人社会保险已于报名截止前转出，不满足项目从业人员要求，异议成立。"
        "取消其中选资格，依据已公布的有效报价重新确定中选机构。",
    ),
    "rejected": (
        "参考价计算时未剔除明显低于成本的报价，计算结果有误，请重新计算。",
        "经复核，参考价严格按照公告载明的规则（去掉一个最高价和一个最低价后取平均值，乘以抽取的下浮系数）"
        "计算，计算过程可在选取记录中复核，异议不成立。",
    ),
    "pending": (
        "中选机构报价明显低于其在平台公示的收费标准，可能无法保证服务质量，请业主核实其报价的合理性。",
        "",
    ),
}
DECLINE_REASON = "拟派项目负责人因个人原因离职，本机构无法按报名承诺配备人员，自愿放弃中选资格。"
AMEND_UP_REASON = "因道路规划调整，测绘范围增加临山路北延段约0.4公里，经双方协商相应增加测绘费用。"
AMEND_DOWN_REASON = "君山府三期规划方案调整，3号商业楼调出本次设计范围，经双方协商相应核减设计费用。"
RETURN_DELIVERY_REASON = (
    "预测绘报告中公摊面积计算未按《房产测量规范》区分应分摊与不应分摊部位，地下车库面积计算有误，"
    "请修改后重新提交。"
)
OWNER_COMMENTS = (
    "报告质量较好，一次通过专家评审。",
    "服务响应及时，按期提交成果。",
    "项目负责人认真负责，沟通顺畅。",
    "成果基本满足要求，个别内容经修改后通过审查。",
    "",
)
FIRM_COMMENTS = ("业主按合同约定及时支付费用。", "业主积极配合提供资料，沟通顺畅。", "")
DISPUTED_SCORES = {"quality": 3, "timeliness": 2, "attitude": 3, "fee_compliance": 4, "conduct": 4}
DISPUTED_COMMENT = "报告提交时间较合同约定延误约两周，首次提交的报告质量一般。"
DISPUTE_REASON = (
    "报告延期系业主未按约定时间提供工艺包和总平面布置资料所致，有往来函件为证；报告经专家评审一次通过。"
    "请求复核该评价。"
)


# --- the firms as the planner sees them ----------------------------------------------------------


@dataclass
class FirmInfo:
    firm: Intermediary
    user: User
    listed_at: datetime | None
    practitioners: int
    quals: list[tuple[int, int | None, date, date]]  # type id, level rank, valid from, valid until
    offers: dict[str, tuple[datetime, list[FeeSchedule], int]]  # code -> created, fees, days
    ip: str = ""

    @property
    def name(self) -> str:
        return self.firm.name

    def fee_at(self, code: str, at: datetime) -> FeeSchedule:
        fees = self.offers[code][1]
        current = fees[0]
        for fee in fees:
            if fee.effective_from <= at:
                current = fee
        return current


class Infeasible(Exception):
    """This start day does not give the story (tried with another)."""


# --- money ---------------------------------------------------------------------------------------


def _yuan(value: Decimal, step: int = 100, rounding=ROUND_HALF_UP) -> Decimal:
    step_d = Decimal(step)
    return ((value / step_d).quantize(Decimal(1), rounding=rounding) * step_d).quantize(Decimal("0.01"))


def _step_for(value: Decimal) -> int:
    return 1000 if value >= 30000 else 100


def fee_for(fee: FeeSchedule, scale: Decimal, qty: int) -> Decimal:
    """What a firm's published fee comes to for a project (clamped to its minimum and maximum)."""
    if fee.basis == FeeSchedule.Basis.PERCENT:
        amount = scale * 10000 * fee.rate / 100
    elif fee.basis == FeeSchedule.Basis.PER_UNIT:
        amount = fee.rate * qty
    else:
        amount = fee.rate
    return min(max(amount, fee.fee_min), fee.fee_max)


# --- planning ------------------------------------------------------------------------------------


@dataclass
class Terms:
    """One project's planned terms and dates (computed before anything runs)."""

    spec: Spec
    owner: str
    title: str
    scale: Decimal
    qty: int
    funding: str
    floor: Decimal
    ceiling: Decimal
    days: int
    weight: int
    reason: str
    content: str
    investment_code: str
    case_number: str
    requirements: list
    exclusions: list
    practitioners: int
    deadline: datetime | None = None
    selection_time: datetime | None = None
    applicants: list[FirmInfo] = field(default_factory=list)
    quotes: dict[str, Decimal] = field(default_factory=dict)
    ips: dict[str, str] = field(default_factory=dict)
    scores: dict[str, list[tuple[str, Decimal]]] = field(default_factory=dict)
    key_dates: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """A project while the history is replayed."""

    terms: Terms
    owner_user: User
    parent: Run | None = None
    project: Project | None = None
    applications: dict[str, Application] = field(default_factory=dict)
    objection: Objection | None = None
    owner_rating: Rating | None = None

    def refresh(self) -> Project:
        self.project.refresh_from_db()
        return self.project

    def winner(self) -> Application:
        return winning_application(self.project)


@dataclass
class Plan:
    steps: list[tuple[datetime, str, Callable[[], Any]]] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    deferred: list[tuple[str, Callable[[], Any]]] = field(default_factory=list)

    def add(self, at: datetime, label: str, run: Callable[[], Any]) -> None:
        self.steps.append((at, label, run))


def _working_days(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if is_working_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=market.SHANGHAI)


def _office(rng: random.Random, day: date, start: float = 8.5, end: float = 17.5) -> datetime:
    return market.office_time(rng, day, start, end)


def _later(rng: random.Random, moment: datetime, low: int, high: int) -> datetime:
    """A moment ``low``..``high`` working days after ``moment`` (0: later the same day), at office hours."""
    days = rng.randint(low, high)
    day = market.working_days_after(timezone.localdate(moment), days) if days else timezone.localdate(moment)
    at = _office(rng, day, 8.5, 17.5)
    if at <= moment:
        at = moment + timedelta(minutes=rng.randint(20, 90))
    return at


class _Builder:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.today = timezone.localdate(now)
        self.rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
        self.plan = Plan()
        self.manifest: dict[str, Any] = {"now": now.isoformat(), "projects": {}, "planted": {}, "stories": {}}
        self.operator = User.objects.get(username=market.OPERATOR_USERNAME)
        self.owner_users: dict[str, User] = {}
        self.owner_created: dict[str, datetime] = {}
        self.owner_kind: dict[str, str] = {}  # the USCC's first two characters: 11 机关, 12 事业单位, 91 企业
        for m in Membership.objects.filter(role=Role.OWNER, user__username__in=OWNER_AREAS).select_related(
            "user", "organisation"
        ):
            self.owner_users[m.user.username] = m.user
            self.owner_created[m.user.username] = m.organisation.created_at
            self.owner_kind[m.user.username] = (m.organisation.uscc or "")[:2]
        missing = set(OWNER_AREAS) - set(self.owner_users)
        if missing:
            raise RuntimeError(f"demo owners missing: {', '.join(sorted(missing))}")
        self.service_types = {
            st.code: st
            for st in ServiceType.objects.prefetch_related(
                "allowed_qualifications__qualification_type",
                "allowed_qualifications__standard_level",
                "price_bands",
            )
        }
        self.items = {a.code: a for a in ApprovalItem.objects.select_related("department")}
        self._load_firms()
        # a firm that declared an affiliation with a department is excluded (回避) from its items
        self.ties = [
            (tie.intermediary.name, tie.department)
            for tie in DeclaredTie.objects.filter(kind=DeclaredTie.Kind.AFFILIATED).select_related(
                "intermediary", "department"
            )
        ]

    # -- the market ----------------------------------------------------------------------------

    def _load_firms(self) -> None:
        users = {
            m.organisation_id: m.user
            for m in Membership.objects.filter(role=Role.INTERMEDIARY).select_related("user").order_by("pk")
        }
        self.firms: dict[str, FirmInfo] = {}
        self.by_service: dict[str, list[FirmInfo]] = defaultdict(list)
        firms = (
            Intermediary.objects.filter(status__in=LISTED)
            .annotate(n_people=Count("practitioners", distinct=True))
            .prefetch_related("qualifications__level")
            .order_by("uscc")
        )
        for firm in firms:
            info = FirmInfo(
                firm=firm,
                user=users[firm.organisation_id],
                listed_at=firm.listed_at,
                practitioners=firm.n_people,
                quals=[
                    (q.qualification_type_id, q.level.rank if q.level else None, q.valid_from, q.valid_until)
                    for q in firm.qualifications.all()
                ],
                offers={},
            )
            # every firm has an office network; an address in 10.0.0.0/8 (a private range)
            info.ip = f"10.{self.rng.randint(16, 99)}.{self.rng.randint(0, 255)}.{self.rng.randint(2, 254)}"
            self.firms[firm.name] = info
        offers = (
            Offer.objects.filter(intermediary__status__in=LISTED, is_active=True)
            .select_related("service_type", "intermediary")
            .prefetch_related("fee_versions")
            .order_by("intermediary__uscc", "service_type__code")
        )
        for offer in offers:
            info = self.firms[offer.intermediary.name]
            fees = sorted(offer.fee_versions.all(), key=lambda f: f.version)
            info.offers[offer.service_type.code] = (offer.created_at, fees, offer.service_days)
            self.by_service[offer.service_type.code].append(info)

    def _meets(self, info: FirmInfo, requirements, rule: str, day: date) -> bool:
        if not requirements:
            return True
        met = []
        for qtype, level in requirements:
            ok = any(
                t == qtype.pk
                and valid_from <= day <= valid_until
                and (level is None or (rank is not None and rank <= level.rank))
                for t, rank, valid_from, valid_until in info.quals
            )
            met.append(ok)
        return all(met) if rule == "all" else any(met)

    def _pool(self, terms: Terms, published: datetime, deadline_day: date) -> list[FirmInfo]:
        code = terms.spec.service
        excluded = {firm.name for firm, _why in terms.exclusions}
        pool = []
        for info in self.by_service[code]:
            if info.listed_at is None or info.listed_at > published - timedelta(days=2):
                continue
            if info.offers[code][0] > published or info.name in excluded:
                continue
            if terms.practitioners and info.practitioners < terms.practitioners:
                continue
            if not self._meets(info, terms.requirements, "any", deadline_day):
                continue
            pool.append(info)
        return sorted(pool, key=lambda i: i.firm.uscc)

    # -- terms ---------------------------------------------------------------------------------

    def _terms(self, spec: Spec, rng: random.Random, day0: date, parent: Terms | None) -> Terms:
        st = self.service_types[spec.service]
        fiscal = self.owner_kind[spec.owner] in ("11", "12")
        funding = spec.funding or (FundingSource.FISCAL if fiscal else FundingSource.PRIVATE)
        if parent is not None:
            return Terms(
                spec=spec,
                owner=spec.owner,
                title=parent.title,
                scale=parent.scale,
                qty=parent.qty,
                funding=parent.funding,
                floor=parent.floor,
                ceiling=parent.ceiling,
                days=parent.days,
                weight=parent.weight,
                reason=parent.reason,
                content=parent.content,
                investment_code=parent.investment_code,
                case_number=parent.case_number,
                requirements=parent.requirements,
                exclusions=parent.exclusions,
                practitioners=parent.practitioners,
            )
        scale = Decimal(rng.randint(spec.scale[0] // 10, spec.scale[1] // 10) * 10)
        qty = rng.randint(*spec.qty) if spec.qty[1] else 0
        if qty >= 1000:
            qty = qty // 100 * 100
        area = OWNER_AREAS[spec.owner]
        code = ""
        if spec.industry:
            year = day0.year - rng.choice((0, 0, 1))
            kind = "01" if funding == FundingSource.FISCAL else "03"
            code = f"{year}-{area}-{spec.industry}-{kind}-{rng.randint(1, 99999):06d}"
        case = f"{area}{day0:%Y%m%d}{rng.randint(1, 9999):05d}" if spec.item and rng.random() < 0.6 else ""
        requirements = []
        if st.qualification_required:
            allowed = list(st.allowed_qualifications.all())
            for a in allowed if spec.service == "planning_scheme_design" else allowed[:1]:
                requirements.append((a.qualification_type, a.standard_level if rng.random() < 0.5 else None))
        exclusions = [(self.firms[name].firm, why) for name, why in spec.exclude if name in self.firms]
        item = self.items.get(spec.item)
        for firm_name, department in self.ties:
            if item is not None and item.department_id == department.pk and firm_name in self.firms:
                why = f"该机构已申报与{department.name_zh}所属单位存在股权关联，本项目按规定回避。"
                exclusions.append((self.firms[firm_name].firm, why))
        fewest = min((self.firms[n].practitioners for n in spec.firms if n in self.firms), default=9)
        practitioners = min(2, st.standard_practitioners, fewest) if rng.random() < 0.5 else 0
        weight = spec.weight or (rng.choice((30, 40, 50)) if spec.method == M.SCORED_COMPARISON else 0)
        reason = ""
        if spec.method == M.DIRECT:
            reason = (
                HOSPITAL_DIRECT_REASON
                if "repeat_direct" in spec.flags
                else rng.choice(DIRECT_REASONS[funding])
            )
        content = self._content(spec, st, scale, qty)
        return Terms(
            spec=spec,
            owner=spec.owner,
            title=spec.title,
            scale=scale,
            qty=qty,
            funding=funding,
            floor=Decimal(0),
            ceiling=Decimal(0),
            days=spec.days,
            weight=weight,
            reason=reason,
            content=content,
            investment_code=code,
            case_number=case,
            requirements=requirements,
            exclusions=exclusions,
            practitioners=practitioners,
        )

    def _content(self, spec: Spec, st: ServiceType, scale: Decimal, qty: int) -> str:
        included = market.INCLUDED.get(st.code) or market.INCLUDED.get(st.category.code) or st.description
        parts = [f"项目总投资约{int(scale)}万元。"]
        unit = ""
        for offers in self.by_service.get(st.code, []):
            unit = offers.offers[st.code][1][-1].unit
            break
        if qty and unit in QUANTITY_WORDS:
            before, after = QUANTITY_WORDS[unit]
            parts.append(f"{before}{qty:,}{after}。")
        parts.append(f"服务内容：{included}。")
        item = self.items.get(spec.item)
        if item is not None:
            parts.append(f"成果须满足{item.department.name_zh}“{item.name_zh}”的审查要求，并配合完成审批。")
        return "".join(parts)

    def _band(self, terms: Terms, pool: list[FirmInfo], at: datetime, rng: random.Random) -> None:
        st = self.service_types[terms.spec.service]
        fees = [fee_for(info.fee_at(st.code, at), terms.scale, terms.qty) for info in pool]
        estimate = Decimal(statistics.median(fees)) if fees else Decimal(50000)
        ceiling = _yuan(estimate * Decimal(str(rng.uniform(1.15, 1.32))), _step_for(estimate), ROUND_CEILING)
        floor = _yuan(estimate * Decimal(str(rng.uniform(0.55, 0.72))), _step_for(estimate), ROUND_FLOOR)
        if st.pricing_regime != PricingRegime.MARKET:
            band = next(
                (
                    b
                    for b in st.price_bands.all()
                    if b.scale_from <= terms.scale and (b.scale_to is None or terms.scale < b.scale_to)
                ),
                None,
            )
            if band is not None:
                floor, ceiling = max(floor, band.fee_min), min(ceiling, band.fee_max)
                if floor >= ceiling:
                    floor, ceiling = band.fee_min, band.fee_max
        if terms.spec.method == M.DIRECT:
            limit = Decimal(settings.DIRECT_SELECTION_THRESHOLDS[terms.funding])
            if ceiling >= limit:
                ceiling = (limit - ROUND_1000).quantize(Decimal("0.01"))
                floor = min(floor, _yuan(ceiling * Decimal("0.6"), 1000, ROUND_FLOOR))
        if terms.spec.method == M.RANDOM_DRAW:
            fixed = _yuan(estimate * Decimal(str(rng.uniform(0.92, 1.0))), 1000)
            fixed = min(max(fixed, floor), ceiling)
            floor = ceiling = fixed
        terms.floor, terms.ceiling = floor, ceiling
        if not terms.days:
            terms.days = int(statistics.median(info.offers[st.code][2] for info in pool)) if pool else 20

    def _quotes(self, terms: Terms, at: datetime, rng: random.Random) -> None:
        spec, code = terms.spec, terms.spec.service
        quotes = {}
        for info in terms.applicants:
            own = fee_for(info.fee_at(code, at), terms.scale, terms.qty)
            quote = _yuan(own * Decimal(str(rng.uniform(0.86, 0.99))), _step_for(own))
            quotes[info.name] = min(max(quote, terms.floor), terms.ceiling)
        names = [i.name for i in terms.applicants]
        step = Decimal(_step_for(terms.ceiling))
        if spec.method == M.RANDOM_DRAW:
            quotes = dict.fromkeys(names, terms.ceiling)
        elif spec.favourite and spec.method == M.LOWEST_PRICE and len(names) > 1:
            others = min(q for n, q in quotes.items() if n != spec.favourite)
            quotes[spec.favourite] = max(terms.floor, _yuan(others * Decimal("0.95"), int(step), ROUND_FLOOR))
            if quotes[spec.favourite] >= others:
                raise Infeasible("the favourite cannot quote lowest")
        elif spec.favourite and spec.method == M.SCORED_COMPARISON and len(names) > 1:
            lowest = min(quotes.values())
            quotes[spec.favourite] = min(quotes[spec.favourite], _yuan(lowest * Decimal("1.03"), int(step)))
        if "identical" in spec.flags:
            a, b = spec.firms[:2]
            lowest = min(quotes.values())
            same = max(terms.floor, _yuan(lowest * Decimal("0.97"), 500, ROUND_FLOOR))
            quotes[a] = quotes[b] = same
            for name in names:
                if name not in (a, b) and quotes[name] <= same:
                    quotes[name] = min(terms.ceiling, same + 2 * step)
        if "objection_upheld" in spec.flags:
            lowest = min(quotes.values())
            first, second = names[0], names[1]
            quotes[first] = max(terms.floor, _yuan(lowest * Decimal("0.94"), 500, ROUND_FLOOR))
            quotes[second] = max(quotes[first] + 500, _yuan(lowest * Decimal("0.97"), 500, ROUND_FLOOR))
            for name in names[2:]:
                quotes[name] = min(terms.ceiling, max(quotes[name], quotes[second] + step))
            if any(quotes[n] <= quotes[second] for n in names[2:]) or quotes[second] > terms.ceiling:
                raise Infeasible("no room for the objection story")
        if spec.method != M.RANDOM_DRAW:  # no two firms quote the same by accident
            planned = set(spec.firms[:2]) if "identical" in spec.flags else set()
            seen = {quotes[n] for n in planned}
            for name in sorted(names, key=lambda n: (quotes[n], n)):
                if name in planned:
                    continue
                for _attempt in range(50):
                    if quotes[name] not in seen:
                        break
                    up = quotes[name] + step
                    quotes[name] = up if up <= terms.ceiling else quotes[name] - 2 * step
                if quotes[name] in seen or quotes[name] < terms.floor:
                    raise Infeasible("no room for distinct quotes")
                seen.add(quotes[name])
        terms.quotes = quotes
        for info in terms.applicants:
            ip = (
                info.ip
                if rng.random() < 0.8
                else f"10.{rng.randint(100, 250)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}"
            )
            terms.ips[info.name] = ip
        if "shared_ip" in spec.flags:
            a, b = spec.firms[:2]
            terms.ips[a] = terms.ips[b] = self.firms[a].ip

    def _scores(self, terms: Terms, rng: random.Random) -> None:
        panel = rng.sample(EVALUATORS, 3)
        for info in terms.applicants:
            base = rng.uniform(90, 94) if info.name == terms.spec.favourite else rng.uniform(74, 86)
            terms.scores[info.name] = [
                (name, Decimal(str(round(min(99.0, base + rng.uniform(-3, 3)) * 2) / 2))) for name in panel
            ]

    # -- the story of one project --------------------------------------------------------------

    def plan_spec(self, spec: Spec, seed: int) -> None:
        """Find the latest (or the given) start day that tells the story, and plan it."""
        if spec.age is None:
            ages = range(3, 420)
        else:
            ages = [spec.age] + [spec.age + sign * d for d in range(1, 60) for sign in (1, -1)]
        last_error = None
        for age in ages:
            plan = Plan()
            try:
                self._lifecycle(spec, seed, plan, start=self.today - timedelta(days=age))
            except Infeasible as exc:
                last_error = exc
                continue
            self.plan.steps += plan.steps
            self.plan.runs += plan.runs
            self.plan.deferred += plan.deferred
            return
        raise RuntimeError(f"demo project {spec.key}: no start day tells its story ({last_error})")

    def _lifecycle(
        self,
        spec: Spec,
        seed: int,
        plan: Plan,
        *,
        start: date | None = None,
        parent: Run | None = None,
        relaunch_at: datetime | None = None,
        not_firm: str = "",
    ) -> Run:
        rng = random.Random(seed)  # noqa: S311
        now, today = self.now, self.today
        final = spec.final
        owner = self.owner_users[spec.owner]
        if parent is None:
            day0 = market.working_day_on_or_before(start)
            created = _office(rng, day0, 8.5, 16)
            if created <= self.owner_created[spec.owner] + timedelta(days=3):
                raise Infeasible("the owner was not registered yet")
        else:
            created = relaunch_at
            day0 = timezone.localdate(created)
        terms = self._terms(spec, rng, day0, parent.terms if parent else None)
        run = Run(terms=terms, owner_user=owner, parent=parent)
        plan.runs.append(run)
        method = method_for(spec.method)
        label = spec.key

        # dates of the announcement
        submit_at = created + timedelta(minutes=rng.randint(15, 120))
        check_at = _later(rng, submit_at, 1, 2)
        deadline_day = market.working_days_after(timezone.localdate(check_at), rng.randint(6, 8))
        hour, minute = rng.choice(((9, 0), (9, 0), (9, 30), (10, 0)))
        terms.deadline = _at(deadline_day, hour, minute)
        if spec.method == M.SCORED_COMPARISON:  # the evaluation meeting in the afternoon
            selection_day = deadline_day
            if final == S.REGISTRATION_CLOSED:  # ... which is still to come
                selection_day = market.working_days_after(deadline_day, 2)
            terms.selection_time = _at(selection_day, 14, 30)
        else:
            terms.selection_time = terms.deadline + timedelta(minutes=30)
        pool = self._pool(terms, check_at, deadline_day)
        if parent is None:  # a relaunch copies the terms
            self._band(terms, pool, check_at, rng)
        # who applies
        needed = method.min_valid(terms.funding)
        fixed = [self.firms[name] for name in spec.firms if name in self.firms]
        if len(fixed) != len(spec.firms) or any(info not in pool for info in fixed):
            raise Infeasible("a planned firm is not listed (or not eligible) then")
        others = [info for info in pool if info not in fixed and info.name != not_firm]
        low, high = spec.n
        count = rng.randint(low, high)
        if final in (S.FAILED,) or (final == S.RELAUNCHED and "decline" not in spec.flags):
            count = min(count, needed - 1)
        extra = rng.sample(others, min(len(others), max(0, count - len(fixed))))
        terms.applicants = sorted(fixed + extra, key=lambda i: (i not in fixed, i.firm.uscc))
        if "objection_upheld" in spec.flags:
            terms.applicants = fixed + extra
        if len(terms.applicants) < min(count, low) and final not in (S.DRAFT, S.UNDER_CHECK, S.RETURNED):
            raise Infeasible("too few firms in the market then")
        succeeds = final not in (
            S.DRAFT,
            S.UNDER_CHECK,
            S.RETURNED,
            S.FAILED,
            S.CANCELLED,
            S.PUBLISHED,
        ) and not (final == S.RELAUNCHED and "decline" not in spec.flags)
        if succeeds and len(terms.applicants) < needed:
            raise Infeasible("too few applicants for the method")
        if (
            spec.method == M.DIRECT
            and spec.favourite
            and not any(i.name == spec.favourite for i in terms.applicants)
        ):
            raise Infeasible("the favourite does not apply")
        self._quotes(terms, check_at, rng)
        if spec.method == M.SCORED_COMPARISON:
            self._scores(terms, rng)

        # posting and checking
        if parent is None:
            plan.add(created, f"{label}: create", lambda: self._create(run))
        else:
            plan.add(created, f"{label}: relaunch", lambda: self._relaunch(run))
        if final == S.DRAFT:
            return self._done(run, plan, [])
        plan.add(submit_at, f"{label}: submit", lambda: self._submit(run))
        if final == S.UNDER_CHECK:
            return self._done(run, plan, [])
        if final == S.RETURNED:
            plan.add(check_at, f"{label}: return", lambda: self._check(run, approve=False))
            return self._done(run, plan, [])
        note = rng.choice(PUBLISH_NOTES)
        plan.add(check_at, f"{label}: publish", lambda: self._check(run, approve=True, note=note))

        # applications
        days = _working_days(timezone.localdate(check_at), deadline_day - timedelta(days=1))
        if final == S.PUBLISHED:  # most of those who have applied so far; the others come later
            days = [d for d in days if d < today] or days
        times = []
        for info in terms.applicants:
            day = rng.choice(days)
            if rng.random() < 0.15 and final != S.PUBLISHED:
                at = _at(deadline_day, 8, rng.randint(0, 50))  # the last morning
            elif rng.random() < 0.15:
                at = _office(rng, day, 19, 22.5)  # after hours
            else:
                at = _office(rng, day)
            if at <= check_at:
                at = check_at + timedelta(minutes=rng.randint(30, 240))
            times.append((at, info))
        times.sort(key=lambda pair: pair[0])
        if final == S.PUBLISHED:
            planned = len(times)
            times = [(at, info) for at, info in times if at < now - timedelta(minutes=10)]
            terms.applicants = [info for _at_, info in times]
            if len(times) < min(2, planned) or terms.deadline <= now + timedelta(hours=2):
                raise Infeasible("registration should still be open, with applications in")
        for at, info in times:
            plan.add(at, f"{label}: {info.name} applies", lambda info=info: self._apply(run, info))
        if final == S.PUBLISHED:
            return self._done(run, plan, [])
        if final == S.CANCELLED:
            cancel_at = _later(rng, times[0][0] if times else check_at, 1, 2)
            if cancel_at >= terms.deadline:
                raise Infeasible("cancel before the deadline")
            plan.add(cancel_at, f"{label}: cancel", lambda: self._cancel(run))
            return self._done(run, plan, [])

        # the close (beat)
        valid = len(terms.applicants)
        closes_to = S.REGISTRATION_CLOSED if valid >= needed else S.FAILED
        close_at = terms.deadline + timedelta(minutes=1, seconds=rng.randint(0, 50))
        plan.add(close_at, f"{label}: tick (close)", lambda: self._tick(run, closes_to))
        if closes_to == S.FAILED:
            if final == S.FAILED:
                return self._done(run, plan, [])
            if final != S.RELAUNCHED or spec.relaunch is None:
                raise RuntimeError(f"{spec.key}: the round fails but the story goes on")
            relaunch_at = _later(rng, close_at, 2, 4)
            self._done(run, plan, [])
            self._lifecycle(spec.relaunch, seed + 1, plan, parent=run, relaunch_at=relaunch_at)
            return run
        if spec.method == M.SCORED_COMPARISON:
            if final == S.REGISTRATION_CLOSED:
                return self._done(run, plan, [terms.selection_time > now])
            scores_at = _at(deadline_day, 10, rng.randint(0, 59))
            plan.add(scores_at, f"{label}: evaluators' scores", lambda: self._record_scores(run))

        # the selection
        if spec.method == M.DIRECT:
            result_at = terms.selection_time + timedelta(minutes=rng.randint(60, 300))
            plan.add(result_at, f"{label}: owner picks", lambda: self._pick(run))
        else:
            select_at = terms.selection_time + timedelta(minutes=1, seconds=rng.randint(0, 50))
            to = S.SELECTING if spec.method == M.CREDIT_PREFERENCE else S.SELECTED
            plan.add(select_at, f"{label}: tick (select)", lambda: self._tick(run, to))
            result_at = select_at
            if spec.method == M.CREDIT_PREFERENCE:
                if final == S.SELECTING:
                    return self._done(run, plan, [])
                result_at = _later(rng, select_at, 0, 1)
                plan.add(result_at, f"{label}: owner picks", lambda: self._pick(run))
        result_day = timezone.localdate(result_at)
        ends_on = add_working_days(result_day, settings.RESULT_PUBLICITY_WORKING_DAYS)
        if final == S.SELECTED:
            return self._done(run, plan, [ends_on >= today])

        # objections and walk-aways during the publicity
        for kind in ("pending", "rejected", "upheld"):
            if f"objection_{kind}" not in spec.flags:
                continue
            filed_at = _later(rng, result_at, 0 if kind == "pending" else 1, 1)
            if timezone.localdate(filed_at) > ends_on:
                raise Infeasible("objection after the publicity")
            filer = terms.applicants[1].name if kind == "upheld" else ""
            plan.add(
                filed_at, f"{label}: objection", lambda filer=filer, kind=kind: self._object(run, filer, kind)
            )
            if kind == "pending":
                if final != S.OBJECTION_PENDING:
                    raise RuntimeError(f"{spec.key}: a pending objection must be the end of the story")
                return self._done(run, plan, [ends_on >= today])
            answer_at = _later(rng, filed_at, 1, 1)
            if timezone.localdate(answer_at) > ends_on:
                raise Infeasible("answer within the publicity")
            plan.add(answer_at, f"{label}: objection answered", lambda kind=kind: self._answer(run, kind))
            if kind == "upheld":
                result_day = timezone.localdate(answer_at)
                ends_on = add_working_days(result_day, settings.RESULT_PUBLICITY_WORKING_DAYS)
                result_at = answer_at
        if "decline" in spec.flags:
            if sorted(terms.quotes.values())[:2].count(min(terms.quotes.values())) > 1:
                raise Infeasible("the walk-away needs a clear winner")
            decline_at = _later(rng, result_at, 1, 2)
            if timezone.localdate(decline_at) > ends_on:
                raise Infeasible("decline within the publicity")
            plan.add(decline_at, f"{label}: winner declines", lambda: self._decline(run))
            relaunch_at = _later(rng, decline_at, 2, 4)
            self._done(run, plan, [])
            decliner = min(terms.quotes, key=lambda n: (terms.quotes[n], n))
            self._lifecycle(
                spec.relaunch, seed + 1, plan, parent=run, relaunch_at=relaunch_at, not_firm=decliner
            )
            return run

        # contract
        public_end = _at(ends_on + timedelta(days=1), 0, rng.randint(1, 20))
        plan.add(
            public_end,
            f"{label}: tick (publicity over)",
            lambda: self._tick(run, S.CONTRACTING),
        )
        contract_due = add_working_days(ends_on, settings.CONTRACT_WORKING_DAYS)
        upload_at = _later(rng, public_end, 1, 2)
        by_firm = rng.random() < 0.3
        if final == S.CONTRACTING:
            if "contract_uploaded" in spec.flags:
                plan.add(upload_at, f"{label}: contract uploaded", lambda: self._upload(run, by_firm=False))
            return self._done(run, plan, [contract_due >= today])
        plan.add(upload_at, f"{label}: contract uploaded", lambda: self._upload(run, by_firm=by_firm))
        confirm_at = _later(rng, upload_at, 0, 2)
        if timezone.localdate(confirm_at) > contract_due:
            raise Infeasible("confirm by the contract deadline")
        plan.add(confirm_at, f"{label}: contract confirmed", lambda: self._confirm(run, by_firm=not by_firm))
        confirm_day = timezone.localdate(confirm_at)
        delivery_due = add_working_days(confirm_day, terms.days)
        for flag, factor, reason in (
            ("amend_up", Decimal("1.15"), AMEND_UP_REASON),
            ("amend_down", Decimal("0.92"), AMEND_DOWN_REASON),
        ):
            if flag in spec.flags:
                amend_at = _later(rng, confirm_at, max(1, terms.days // 4), max(1, terms.days // 3))
                plan.add(
                    amend_at, f"{label}: contract amended", lambda f=factor, r=reason: self._amend(run, f, r)
                )
                if amend_at >= now:
                    raise Infeasible("the amendment is still to come")
        if final == S.IN_SERVICE:
            return self._done(run, plan, [delivery_due >= today])

        # delivery and acceptance
        returned = "return_delivery" in spec.flags
        share = rng.uniform(0.5, 0.65) if returned else rng.uniform(0.7, 0.95)
        deliver_at = _later(
            rng, confirm_at, max(1, round(terms.days * share)), max(1, round(terms.days * share))
        )
        plan.add(deliver_at, f"{label}: delivery", lambda: self._deliver(run, first=True))
        last_delivery = deliver_at
        if returned:
            back_at = _later(rng, deliver_at, 2, 3)
            plan.add(back_at, f"{label}: delivery returned", lambda: self._decide(run, accept=False))
            last_delivery = _later(rng, back_at, 2, 4)
            if timezone.localdate(last_delivery) > delivery_due:
                raise Infeasible("resubmit by the delivery deadline")
            plan.add(last_delivery, f"{label}: delivery again", lambda: self._deliver(run, first=False))
        acceptance_due = add_working_days(timezone.localdate(last_delivery), settings.ACCEPTANCE_WORKING_DAYS)
        if timezone.localdate(last_delivery) > delivery_due:
            raise Infeasible("deliver on time")
        if final == S.DELIVERED:
            return self._done(run, plan, [acceptance_due >= today])
        accept_at = _later(rng, last_delivery, 2, 6)
        plan.add(accept_at, f"{label}: accepted", lambda: self._decide(run, accept=True))
        firm_rates_at = accept_at + timedelta(hours=rng.randint(2, 100))
        if final == S.ACCEPTED:
            if "firm_rated" in spec.flags:
                plan.add(firm_rates_at, f"{label}: firm rates", lambda: self._rate(run, owner_side=False))
            return self._done(run, plan, [])

        # ratings
        owner_rates_at = _later(rng, accept_at, 0, 4)
        order = sorted([(owner_rates_at, True), (firm_rates_at, False)], key=lambda pair: pair[0])
        (first_at, first_owner), (second_at, second_owner) = order
        plan.add(first_at, f"{label}: rating", lambda o=first_owner: self._rate(run, owner_side=o))
        if final == S.RATED:
            plan.deferred.append((f"{label}: rating", lambda o=second_owner: self._rate(run, owner_side=o)))
            return self._done(run, plan, [])
        plan.add(second_at, f"{label}: rating", lambda o=second_owner: self._rate(run, owner_side=o))
        close_at = second_at + timedelta(minutes=1, seconds=rng.randint(0, 50))
        plan.add(close_at, f"{label}: tick (close)", lambda: self._tick(run, S.CLOSED))
        if "dispute" in spec.flags:
            dispute_at = _later(rng, owner_rates_at, 1, 3)
            plan.add(dispute_at, f"{label}: rating disputed", lambda: self._dispute(run))
        if final != S.CLOSED:
            raise RuntimeError(f"{spec.key}: unknown final state {final}")
        return self._done(run, plan, [])

    def _done(self, run: Run, plan: Plan, checks: list[bool]) -> Run:
        limit = self.now - timedelta(minutes=5)
        if any(at >= limit for at, *_rest in plan.steps) or not all(checks):
            raise Infeasible(f"{run.terms.spec.final}: not consistent with now")
        return run

    # -- the steps (run at their simulated time) ------------------------------------------------

    def _input(self, run: Run) -> services.ProjectInput:
        t = run.terms
        return services.ProjectInput(
            title=t.title,
            service_type=self.service_types[t.spec.service],
            funding_source=t.funding,
            scale=t.scale,
            price_floor=t.floor,
            price_ceiling=t.ceiling,
            service_content=t.content,
            service_days=t.days,
            method=t.spec.method,
            registration_deadline=t.deadline,
            selection_time=t.selection_time,
            method_reason=t.reason,
            price_weight=t.weight,
            investment_project_code=t.investment_code,
            approval_case_number=t.case_number,
            approval_item=self.items.get(t.spec.item),
            required_practitioners=t.practitioners,
            qualification_rule="any",
            requirements=t.requirements,
            exclusions=t.exclusions,
        )

    def _create(self, run: Run) -> None:
        run.project = services.project_create(actor=run.owner_user, data=self._input(run))

    def _relaunch(self, run: Run) -> None:
        t = run.terms
        run.project = services.project_relaunch(
            actor=run.owner_user,
            project=run.parent.project,
            registration_deadline=t.deadline,
            selection_time=t.selection_time,
        )

    def _submit(self, run: Run) -> None:
        services.project_submit(actor=run.owner_user, project=run.project)

    def _check(self, run: Run, *, approve: bool, note: str = "") -> None:
        services.project_check(
            actor=self.operator, project=run.project, approve=approve, note=note if approve else RETURN_NOTE
        )

    def _apply(self, run: Run, info: FirmInfo) -> None:
        st = self.service_types[run.terms.spec.service]
        people = max(run.terms.practitioners, 2)
        proposal = (
            f"{info.name}拟组建{people + (info.firm.pk % 3)}人项目组承担{st.name_zh}，"
            f"在{run.terms.days}个工作日内提交成果，按有关技术规范开展工作并配合审批部门审查。"
        )
        run.applications[info.name] = services.application_submit(
            actor=info.user,
            project=run.project,
            quote=run.terms.quotes[info.name],
            proposal=proposal,
            client_ip=run.terms.ips[info.name],
        )

    def _cancel(self, run: Run) -> None:
        services.project_cancel(actor=run.owner_user, project=run.project, reason=CANCEL_REASON)

    def _tick(self, run: Run, expected: str) -> None:
        services.tick()
        if run.refresh().status != expected:
            raise RuntimeError(f"expected {expected} after tick, found {run.project.status}")

    def _record_scores(self, run: Run) -> None:
        valid = {
            a.intermediary.name: a
            for a in run.project.applications.filter(state=Application.State.VALID).select_related(
                "intermediary"
            )
        }
        rows = [
            (valid[name], evaluator, score)
            for name, marks in run.terms.scores.items()
            if name in valid
            for evaluator, score in marks
        ]
        services.scores_record(actor=run.owner_user, project=run.project, scores=rows)

    def _pick(self, run: Run) -> None:
        spec = run.terms.spec
        project = run.refresh()
        valid = {
            a.intermediary.name: a
            for a in project.applications.filter(state=Application.State.VALID).select_related("intermediary")
        }
        if spec.method == M.CREDIT_PREFERENCE:
            selection = project.selections.filter(annulled=False).order_by("-round").first()
            short = selection.details.get("shortlist") or []
            by_uscc = {a.intermediary.uscc: a for a in valid.values()}
            choice = next((by_uscc[k] for k in short if by_uscc[k].intermediary.name == spec.favourite), None)
            choice = choice or by_uscc[short[0]]
        else:
            choice = valid.get(spec.favourite) or min(
                valid.values(), key=lambda a: (run.terms.quotes[a.intermediary.name], a.pk)
            )
        reason = REPEAT_PICK_REASON if "repeat_direct" in spec.flags else PICK_REASONS[spec.method]
        services.selection_pick(actor=run.owner_user, project=project, application=choice, reason=reason)

    def _object(self, run: Run, filer: str, kind: str) -> None:
        winner = run.winner().intermediary.name
        if not filer:
            others = [n for n in run.terms.quotes if n != winner and n in run.applications]
            filer = min(others, key=lambda n: (run.terms.quotes[n], n))
        run.objection = services.objection_file(
            actor=self.firms[filer].user, project=run.project, text=OBJECTIONS[kind][0]
        )

    def _answer(self, run: Run, kind: str) -> None:
        services.objection_answer(
            actor=run.owner_user, objection=run.objection, upheld=kind == "upheld", answer=OBJECTIONS[kind][1]
        )

    def _decline(self, run: Run) -> None:
        winner = run.winner().intermediary
        services.winner_decline(
            actor=self.firms[winner.name].user, project=run.project, reason=DECLINE_REASON
        )

    def _winner_user(self, run: Run) -> User:
        return self.firms[run.winner().intermediary.name].user

    def _upload(self, run: Run, *, by_firm: bool) -> None:
        actor = self._winner_user(run) if by_firm else run.owner_user
        services.contract_upload(
            actor=actor, project=run.project, document=market.pdf("contract", run.project.public_number)
        )

    def _confirm(self, run: Run, *, by_firm: bool) -> None:
        actor = self._winner_user(run) if by_firm else run.owner_user
        services.contract_confirm(actor=actor, project=run.project)

    def _amend(self, run: Run, factor: Decimal, reason: str) -> None:
        amount = Contract.objects.get(project=run.project).amount
        services.contract_amend(
            actor=run.owner_user,
            project=run.project,
            new_amount=(amount * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            reason=reason,
        )

    def _deliver(self, run: Run, *, first: bool) -> None:
        st = self.service_types[run.terms.spec.service]
        note = f"提交{st.name_zh}成果报告及附件。" if first else "已按验收意见修改并复核，重新提交成果。"
        services.delivery_submit(
            actor=self._winner_user(run),
            project=run.project,
            document=market.pdf("delivery", run.project.public_number),
            note=note,
        )

    def _decide(self, run: Run, *, accept: bool) -> None:
        services.delivery_decide(
            actor=run.owner_user,
            project=run.project,
            accept=accept,
            reason="" if accept else RETURN_DELIVERY_REASON,
        )

    def _rate(self, run: Run, *, owner_side: bool) -> None:
        rng = random.Random(f"{SEED}:{run.terms.spec.key}:{owner_side}")  # noqa: S311
        if owner_side:
            if "dispute" in run.terms.spec.flags:
                scores, comment = DISPUTED_SCORES, DISPUTED_COMMENT
            else:
                scores = {k: rng.choice((4, 5, 5, 5)) for k in OWNER_CRITERIA}
                comment = rng.choice(OWNER_COMMENTS)
            run.owner_rating = services.rating_submit(
                actor=run.owner_user, project=run.project, scores=scores, comment=comment
            )
        else:
            scores = {k: rng.choice((4, 5, 5)) for k in FIRM_CRITERIA}
            services.rating_submit(
                actor=self._winner_user(run),
                project=run.project,
                scores=scores,
                comment=rng.choice(FIRM_COMMENTS),
            )

    def _dispute(self, run: Run) -> None:
        services.rating_dispute(actor=self._winner_user(run), rating=run.owner_rating, reason=DISPUTE_REASON)

    # -- everything ----------------------------------------------------------------------------

    def build(self) -> None:
        seeds = [self.rng.getrandbits(32) for _ in SPECS]
        for spec, seed in zip(SPECS, seeds, strict=True):
            self.plan_spec(spec, seed)
        timeline = market.Timeline(self.now)
        last = max(at for at, *_rest in self.plan.steps)
        for at, label, run in self.plan.steps:
            timeline.add(at, label, run)
        # the last ratings of a project that is "rated": after every other step (beat has not run since)
        at = max(last + timedelta(seconds=30), self.now - timedelta(minutes=3))
        for label, run in self.plan.deferred:
            at = min(at, self.now - timedelta(seconds=5))
            timeline.add(at, label, run)
            at += timedelta(seconds=1)
        self.timeline = timeline

    def finish(self) -> None:
        self._consistency()
        runs = {run.terms.spec.key: run for run in self.plan.runs}
        for key, run in runs.items():
            run.refresh()
            self.manifest["projects"][key] = {
                "public_number": run.project.public_number,
                "title": run.project.title,
                "status": run.project.status,
                "method": run.project.method,
            }
        self._planted(runs)
        projects = Project.objects.filter(pk__in=[r.project.pk for r in self.plan.runs])
        self.manifest["counts"] = {
            "projects": projects.count(),
            "by_status": dict(
                projects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
            ),
            "by_method": dict(
                projects.values_list("method").annotate(n=Count("pk")).values_list("method", "n")
            ),
            "by_status_method": {
                (s, m): n
                for s, m, n in projects.values_list("status", "method")
                .annotate(n=Count("pk"))
                .values_list("status", "method", "n")
            },
            "applications": Application.objects.filter(project__in=projects).count(),
            "sealed": Application.objects.filter(project__in=projects, quote_amount__isnull=True).count(),
            "selections": Selection.objects.filter(project__in=projects).count(),
            "contracts": Contract.objects.filter(project__in=projects).count(),
            "amendments": Amendment.objects.filter(contract__project__in=projects).count(),
            "deliveries": Delivery.objects.filter(project__in=projects).count(),
            "ratings": Rating.objects.filter(project__in=projects).count(),
            "objections": Objection.objects.filter(project__in=projects).count(),
            "walkaways": WalkAway.objects.filter(project__in=projects).count(),
            "escalations": Escalation.objects.filter(project__in=projects).count(),
            "rated_firms": Intermediary.objects.exclude(rating_score=None).count(),
        }

    def _consistency(self) -> None:
        """Nothing that beat would act on is due, and nothing open has a deadline in the past."""
        now, today = self.now, self.today
        problems = []
        for p in Project.objects.filter(pk__in=[run.project.pk for run in self.plan.runs]):
            if p.status == S.PUBLISHED and p.registration_deadline <= now:
                problems.append(f"{p.public_number}: registration open past its deadline")
            if p.status == S.REGISTRATION_CLOSED and p.selection_time <= now and p.method != M.DIRECT:
                problems.append(f"{p.public_number}: selection due")
            if p.status in (S.SELECTED, S.OBJECTION_PENDING) and p.publicity_ends_on < today:
                problems.append(f"{p.public_number}: publicity over")
            if p.status == S.CONTRACTING and p.contract_due < today:
                problems.append(f"{p.public_number}: contract overdue")
            if p.status == S.IN_SERVICE and p.delivery_due < today:
                problems.append(f"{p.public_number}: delivery overdue")
            if p.status == S.DELIVERED and p.acceptance_due < today:
                problems.append(f"{p.public_number}: acceptance overdue")
        if Application.objects.filter(
            project__status=S.PUBLISHED, quote_amount__isnull=False
        ).exists():  # sealed
            problems.append("a quote is unsealed before the deadline")
        if problems:
            raise RuntimeError("demo procurement is not consistent with now: " + "; ".join(problems))

    def _planted(self, runs: dict[str, Run]) -> None:
        planted = self.manifest["planted"]

        def number(key: str) -> str:
            return runs[key].project.public_number

        def winner(key: str) -> str:
            return runs[key].winner().intermediary.name

        concentration = [k for k, r in runs.items() if "concentration" in r.terms.spec.flags]
        department = {self.items[runs[k].terms.spec.item].department.name_zh for k in concentration}
        planted["department_concentration"] = {
            "intermediary": SHUIRUN,
            "department": ", ".join(sorted(department)),
            "projects": [number(k) for k in concentration],
            "winners": sorted({winner(k) for k in concentration}),
        }
        repeat = [k for k, r in runs.items() if "repeat_direct" in r.terms.spec.flags]
        planted["repeated_direct"] = {
            "owner": runs[repeat[0]].owner_user.memberships.first().organisation.name,
            "intermediary": RENHE,
            "projects": [number(k) for k in repeat],
            "amounts": [str(runs[k].winner().quote_amount) for k in repeat],
            "threshold": settings.DIRECT_SELECTION_THRESHOLDS["fiscal"],
        }
        ident = runs["gx-cost-kc"]
        planted["identical_quotes"] = {
            "project": ident.project.public_number,
            "intermediaries": list(ident.terms.spec.firms[:2]),
            "amount": str(ident.terms.quotes[ident.terms.spec.firms[0]]),
            "winner": winner("gx-cost-kc"),
        }
        single = runs["ln-traffic-jsf3"]
        planted["single_applicant_private"] = {
            "project": single.project.public_number,
            "intermediary": CHANGTONG,
        }
        shared = runs["tz-bid-lq"]
        planted["shared_ip"] = {
            "project": shared.project.public_number,
            "ip": shared.terms.ips[shared.terms.spec.firms[0]],
            "intermediaries": list(shared.terms.spec.firms[:2]),
        }
        amendment = Amendment.objects.get(contract__project=runs["ct-survey-ls"].project)
        planted["amendment_raise"] = {
            "project": number("ct-survey-ls"),
            "old": str(amendment.old_amount),
            "new": str(amendment.new_amount),
            "percent": str(
                ((amendment.new_amount / amendment.old_amount - 1) * 100).quantize(Decimal("0.1"))
            ),
        }
        draw = runs["edu-energy-tyg"]
        planted["lookalike_identical_draw"] = {
            "project": draw.project.public_number,
            "amount": str(draw.terms.ceiling),
            "intermediaries": [i.name for i in draw.terms.applicants],
        }
        stories = self.manifest["stories"]
        stories["objection_upheld"] = number("gx-eia-li")
        stories["objection_rejected"] = number("ct-cost-wsc")
        stories["objection_pending"] = number("st-fs-hn")
        stories["walkaway"] = number("tz-ssr-sg")
        stories["relaunched"] = [f"{number(k)} → {number(k + '-2')}" for k in ("yc-lsb-ll", "tz-ssr-sg")]
        stories["returned_delivery"] = number("ln-survey-jsf2")
        stories["disputed_rating"] = number("hy-safety-dj")
        stories["amendment_down"] = number("ln-design-jsf3")
        stories["failed"] = number("tez-flood-sd")
        stories["cancelled"] = number("gx-traffic-rc")


# --- the entry point -----------------------------------------------------------------------------


def procurement_seeded() -> bool:
    return Project.objects.filter(owner__memberships__user__username__in=OWNER_AREAS).exists()


def seed_procurement(*, now: datetime | None = None) -> dict[str, Any]:
    """Replay the demo owners' projects; return the manifest (counts, planted cases, stories).

    Needs the providers demo (``marketplace.providers.demo.seed_demo``). Raises
    ``ProcurementAlreadySeeded`` when the demo owners have projects, and ``RuntimeError`` naming
    the step when a service refuses one (nothing is written then: it all runs in one transaction).
    """
    if not market.demo_exists():
        raise RuntimeError("the demo market is missing: run the providers demo first")
    if procurement_seeded():
        raise ProcurementAlreadySeeded()
    # The demo's notifications are stored as usual; their e-mails (to example.cn) are not sent.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        with transaction.atomic():
            builder = _Builder(now or timezone.now())
            builder.build()
            with market.simulated_time(market.SimulatedClock()) as clock:
                builder.timeline.replay(clock)
            builder.finish()
    return builder.manifest


METHOD_COLUMNS = {
    M.DIRECT: "direct",
    M.RANDOM_DRAW: "draw",
    M.LOWEST_PRICE: "lowest",
    M.REFERENCE_PRICE: "ref",
    M.CREDIT_PREFERENCE: "credit",
    M.SCORED_COMPARISON: "scored",
}


def summary_rows(manifest: dict[str, Any]) -> list[list[str]]:
    """Projects by state (rows, with the state's name last) and method (columns), with totals."""
    cells = manifest["counts"]["by_status_method"]
    rows = [["state", *METHOD_COLUMNS.values(), "total", ""]]
    for status in Status.values:
        counts = [cells.get((status, m), 0) for m in METHOD_COLUMNS]
        rows.append([status, *(str(n) if n else "." for n in counts), str(sum(counts)), Status(status).label])
    totals = [sum(cells.get((s, m), 0) for s in Status.values) for m in METHOD_COLUMNS]
    rows.append(["total", *(str(n) for n in totals), str(sum(totals)), ""])
    return rows
