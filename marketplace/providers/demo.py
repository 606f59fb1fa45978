"""The demo market of Zaozhuang (枣庄市): firms, people, owners and one login per role.

``seed_demo()`` builds a believable market on top of the catalogue that migration
``catalog.0002_seed_catalog`` seeds, through the real services, so that every row obeys the
rules those services enforce and every change is in the audit chain. It is deterministic:
every choice comes from ``random.Random(2019)``, so every demo has the same firms, people,
codes and fees; only the dates move with the day the demo is seeded.

History is replayed. Each firm registers on some day of the last fourteen months, fills in its
profile, signs the commitment, is reviewed and publishes its offers, and some fees are raised
later. Every step is an event on one timeline; the timeline runs in date order with
``django.utils.timezone.now`` pointed at the event's time, so ``created_at``, fee versions,
``review_due`` and the audit log all tell the same story in the same order.

Planted cases for the monitoring rules (returned in the manifest):

* 红顶中介: two firms with a shareholder that is an institution run by a department
  (``AffiliatedEntity.uscc``), not declared as a tie; one look-alike that declared it;
* a legal representative whose phone number is a department's (``Department.phone``);
* an offer whose fee was raised nine days before "now";
* three firms holding one qualification that has since expired. It was registered through
  ``qualification_add`` while it was still valid and has lapsed since, so the services were
  never bypassed; the offers that rely on it are listed in the manifest.

Nothing here is real: firm and person names are invented, every USCC and resident ID number
is generated with a valid check character (python-stdnum) and belongs to no one.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from stdnum.cn import ric, uscc

from marketplace.accounts.models import Membership, Organisation, Role, User
from marketplace.accounts.services import USER_FIELDS, organisation_create, staff_account_create, user_signup
from marketplace.catalog.models import AffiliatedEntity, Department, PricingRegime, ServiceType
from marketplace.core.audit import audit_record, snapshot
from marketplace.core.models import AuditEvent
from marketplace.core.workdays import is_working_day

from . import services
from .models import DeclaredTie, FeeSchedule, Intermediary, Offer, Practitioner, Qualification, Shareholder

SEED = 2019
DEMO_PASSWORD = "Zaozhuang2019!"  # noqa: S105 - the published password of the demo accounts
OPERATOR_USERNAME = "operator"
DEMO_TOTP_DEVICE = "demo"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# The staff logins that must pass two-factor authentication, with fixed TOTP keys so that the
# demo is usable: ``manage.py demo_totp USERNAME`` prints the current code and the secret.
TOTP_USERS = ("operator", "regulator")


def demo_totp_key(username: str) -> str:
    """The fixed hex key (20 bytes) of a demo staff account's TOTP device."""
    # Not a security use: a fixed, public derivation so the demo logins have known TOTP keys.
    return hashlib.sha1(f"zjcs-demo-totp:{username}".encode(), usedforsecurity=False).hexdigest()


def totp_secret_base32(hex_key: str) -> str:
    return base64.b32encode(bytes.fromhex(hex_key)).decode()


class DemoAlreadySeeded(Exception):
    """The demo operator exists: the demo market is there already."""


# --- identifiers ------------------------------------------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check(body: str) -> str:
    """Check character of a 9-character organisation code (GB 11714), positions 9-17 of a USCC."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc_code(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)


def make_ric(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def ric_is_valid(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except Exception:  # stdnum's place lookup raises KeyError for some prefecture codes
        return False


# --- places -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    province: str
    phone_prefix: str
    streets: str  # street names, space-separated

    @property
    def local(self) -> bool:
        return self.code.startswith("3704")

    @property
    def city_code(self) -> str:
        return self.code[:4] + "00"


# fmt: off
AREAS = {a.code: a for a in (
    Area("370400", "枣庄市", "山东省", "0632", "高新区复元三路 高新区祁连山路 市中区光明西路"),
    Area("370402", "枣庄市市中区", "山东省", "0632", "君山中路 文化东路 建设中路 青檀北路"),
    Area("370403", "枣庄市薛城区", "山东省", "0632", "黄河路 长江六路 泰山南路 永福南路"),
    Area("370404", "枣庄市峄城区", "山东省", "0632", "坛山路 承水中路"),
    Area("370405", "枣庄市台儿庄区", "山东省", "0632", "运河大道 华兴路"),
    Area("370406", "枣庄市山亭区", "山东省", "0632", "府前路 汉诺路"),
    Area("370481", "滕州市", "山东省", "0632", "荆河中路 善国北路 学院中路 龙泉路"),
    Area("370102", "济南市历下区", "山东省", "0531", "经十路 解放路 山大路"),
    Area("370112", "济南市历城区", "山东省", "0531", "工业北路 华信路"),
    Area("370202", "青岛市市南区", "山东省", "0532", "香港中路 山东路"),
    Area("370212", "青岛市崂山区", "山东省", "0532", "株洲路 松岭路"),
    Area("370811", "济宁市任城区", "山东省", "0537", "太白楼中路 建设北路"),
    Area("371302", "临沂市兰山区", "山东省", "0539", "沂蒙路 通达路"),
    Area("320302", "徐州市鼓楼区", "江苏省", "0516", "中山北路 下淀路"),
    Area("320303", "徐州市云龙区", "江苏省", "0516", "和平大道 民主南路"),
    Area("320311", "徐州市泉山区", "江苏省", "0516", "金山东路 湖西路"),
    Area("110105", "北京市朝阳区", "北京市", "010", "建国路 安定路"),
    Area("110108", "北京市海淀区", "北京市", "010", "中关村南大街 西直门北大街"),
)}
# Where the people of a firm come from: its own district first, then the rest of its city.
_PEOPLE_AREAS = {
    "3704": ("370402", "370403", "370404", "370405", "370406", "370481"),
    "3701": ("370102", "370103", "370112"),
    "3702": ("370202", "370203", "370212"),
    "3708": ("370811", "370830"),
    "3713": ("371302", "371312"),
    "3203": ("320302", "320303", "320311"),
    "1101": ("110105", "110108", "110102"),
}
# Codes that stdnum accepts for people born before their district got its current code.
_OLD_AREAS = {
    "3704": "370400", "3701": "370100", "3702": "370200", "3708": "370800",
    "3713": "372800", "3203": "320300", "1101": "110105",
}
# fmt: on
PROVINCE_SHORT = {"山东省": "鲁", "江苏省": "苏", "北京市": "京"}

# Issuing authorities per province (a municipality's bureaus are 委员会/局, a province's 厅).
# fmt: off
_AUTHORITIES = {
    "山东省": {
        "zr": "山东省自然资源厅", "zj": "山东省住房和城乡建设厅", "yj": "山东省应急管理厅",
        "wj": "山东省卫生健康委员会", "sj": "山东省市场监督管理局", "cz": "山东省财政厅",
        "qx": "山东省气象局", "sl": "山东省水利厅", "jt": "山东省交通运输厅",
        "ww": "山东省文物局", "zx": "山东省工程咨询协会",
    },
    "江苏省": {
        "zr": "江苏省自然资源厅", "zj": "江苏省住房和城乡建设厅", "yj": "江苏省应急管理厅",
        "wj": "江苏省卫生健康委员会", "sj": "江苏省市场监督管理局", "cz": "江苏省财政厅",
        "qx": "江苏省气象局", "sl": "江苏省水利厅", "jt": "江苏省交通运输厅",
        "ww": "江苏省文物局", "zx": "江苏省工程咨询协会",
    },
    "北京市": {
        "zr": "北京市规划和自然资源委员会", "zj": "北京市住房和城乡建设委员会",
        "yj": "北京市应急管理局", "wj": "北京市卫生健康委员会", "sj": "北京市市场监督管理局",
        "cz": "北京市财政局", "qx": "北京市气象局", "sl": "北京市水务局",
        "jt": "北京市交通委员会", "ww": "北京市文物局", "zx": "北京市工程咨询协会",
    },
}
# fmt: on
# qualification type -> (provincial authority key, national authority for the top level or "")
_QUAL_AUTHORITY = {
    "surveying_mapping": ("zr", "中华人民共和国自然资源部"),
    "engineering_survey": ("zj", "中华人民共和国住房和城乡建设部"),
    "engineering_design": ("zj", "中华人民共和国住房和城乡建设部"),
    "urban_rural_planning": ("zr", "中华人民共和国自然资源部"),
    "consulting_credit": ("zx", "中国工程咨询协会"),
    "safety_assessment": ("yj", ""),
    "occupational_health": ("wj", "国家卫生健康委员会"),
    "radiation_health": ("wj", "国家卫生健康委员会"),
    "cma": ("sj", ""),
    "geohazard": ("zr", ""),
    "construction_testing": ("zj", ""),
    "supervision": ("zj", "中华人民共和国住房和城乡建设部"),
    "land_valuation_filing": ("zr", ""),
    "real_estate_appraisal": ("zj", ""),
    "asset_appraisal_filing": ("cz", ""),
    "lightning_testing": ("qx", ""),
    "special_equipment_inspection": ("sj", ""),
    "water_project_testing": ("sl", "中华人民共和国水利部"),
    "highway_waterway_testing": ("jt", "中华人民共和国交通运输部"),
    "drawing_review_agency": ("zj", ""),
    "cpa_firm": ("cz", ""),
    "archaeology": ("", "国家文物局"),
    "relic_conservation": ("ww", "国家文物局"),
}


# --- lines of business ------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    blurb: str
    included: str
    titles: tuple[tuple[str, str], ...]  # (title, certificate prefix)


LINES = {
    "env": Line(
        "环境影响评价、竣工环保验收与环境监测",
        "现场踏勘与资料收集；环境现状调查与监测方案；环境影响预测与评价；报告编制；配合技术评估和专家评审；按审查意见修改至批复",
        (("环境影响评价工程师", "HP"), ("高级工程师（环境工程）", "GJ"), ("注册环保工程师", "HB")),
    ),
    "survey": Line(
        "工程测量、不动产测绘与地理信息服务",
        "外业测量；内业数据处理；成果图件和报告编制；成果质量检查；配合审批部门审核",
        (("注册测绘师", "CH"), ("测绘工程师", "CG"), ("高级工程师（测绘）", "GJ")),
    ),
    "cost": Line(
        "工程造价咨询、招标代理与全过程工程咨询",
        "工程量清单和招标控制价编制；施工过程造价管理；结算审核；出具造价咨询报告",
        (("一级造价工程师", "建[造]1"), ("二级造价工程师", "建[造]2"), ("注册咨询工程师（投资）", "ZX")),
    ),
    "consult": Line(
        "投资项目前期咨询、可行性研究与评估",
        "项目调研和资料收集；方案比选；投资估算与资金筹措分析；报告编制；配合专家评审并修改完善",
        (("注册咨询工程师（投资）", "ZX"), ("高级经济师", "JJ"), ("一级造价工程师", "建[造]1")),
    ),
    "safety": Line(
        "安全评价、安全技术咨询与雷电灾害风险评估",
        "现场勘查；危险有害因素辨识；定性定量评价；安全对策措施建议；评价报告编制和评审配合",
        (("注册安全工程师", "AQ"), ("安全评价师（一级）", "AP"), ("高级工程师（安全工程）", "GJ")),
    ),
    "occ": Line(
        "职业病危害评价、放射防护评价与检测",
        "职业病危害因素识别与检测；评价报告编制；专家评审配合；整改建议",
        (("职业卫生评价师", "ZW"), ("主管医师（职业卫生）", "YS"), ("放射防护工程师", "FS")),
    ),
    "water": Line(
        "水土保持、水资源论证与防洪评价",
        "现场查勘；水土流失或水资源影响预测；措施设计与投资估算；报告编制；技术评审配合",
        (
            ("注册土木工程师（水利水电工程）", "SL"),
            ("水土保持工程师", "SB"),
            ("高级工程师（水文水资源）", "GJ"),
        ),
    ),
    "geology": Line(
        "地质灾害危险性评估、矿山地质环境与土地复垦",
        "资料收集与野外调查；必要的钻探或物探；评估或方案报告编制；评审配合",
        (("注册土木工程师（岩土）", "YT"), ("高级工程师（水文地质）", "GJ"), ("地质工程师", "DZ")),
    ),
    "design": Line(
        "建筑工程设计、规划设计与工程总承包咨询",
        "方案设计；初步设计或施工图设计；概算编制；设计交底与施工现场服务",
        (("一级注册建筑师", "JZ"), ("一级注册结构工程师", "JG"), ("注册城乡规划师", "GH")),
    ),
    "geotech": Line(
        "岩土工程勘察、工程测量与基坑监测",
        "勘察方案编制；钻探取样与原位测试；室内土工试验；岩土工程勘察报告",
        (("注册土木工程师（岩土）", "YT"), ("勘察工程师", "KC"), ("测绘工程师", "CG")),
    ),
    "testing": Line(
        "建设工程质量检测、消防设施检测与环境检测",
        "检测方案；现场检测与取样；实验室检测；出具检测报告",
        (("检测工程师", "JC"), ("注册消防工程师", "XF"), ("高级工程师（结构检测）", "GJ")),
    ),
    "appraisal": Line(
        "房地产估价、土地估价与资产评估",
        "现场查勘；市场调查和资料核实；估价测算；出具估价报告",
        (("注册房地产估价师", "FG"), ("土地估价师", "TG"), ("资产评估师", "ZP")),
    ),
    "supervision": Line(
        "建设工程监理与项目管理",
        "施工准备阶段监理；质量、进度、投资控制；合同与信息管理；安全生产管理的监理工作；竣工验收",
        (("注册监理工程师", "JL"), ("一级造价工程师", "建[造]1"), ("高级工程师（建筑工程）", "GJ")),
    ),
    "audit": Line(
        "财务审计、竣工决算审计与工程造价审核",
        "审计计划；财务资料和工程资料核查；审计调整；出具审计报告",
        (("注册会计师", "CPA"), ("一级造价工程师", "建[造]1")),
    ),
    "review": Line(
        "施工图设计文件审查与消防设计技术审查",
        "施工图技术性审查；审查意见告知与复审；出具审查合格书",
        (("一级注册结构工程师", "JG"), ("一级注册建筑师", "JZ"), ("注册消防工程师", "XF")),
    ),
    "traffic": Line(
        "交通影响评价与涉路工程安全评价",
        "交通调查；交通需求预测；影响分析与改善措施；报告编制和评审配合",
        (("高级工程师（交通工程）", "GJ"), ("注册咨询工程师（投资）", "ZX")),
    ),
    "relic": Line(
        "文物影响评估、考古调查勘探与文物保护工程勘察设计",
        "文物资源调查；影响评估；保护措施建议；考古调查勘探及报告",
        (("文物保护工程责任设计师", "WB"), ("考古领队", "KG"), ("高级工程师（文物保护）", "GJ")),
    ),
    "land": Line(
        "国土空间规划咨询、节地评价与土地复垦",
        "现状调查；方案论证；图件编制；报告编制与评审配合",
        (("土地估价师", "TG"), ("注册城乡规划师", "GH"), ("高级工程师（土地管理）", "GJ")),
    ),
    "energy": Line(
        "节能评估与社会稳定风险评估",
        "能源消费与风险调查；分析评估；报告编制与评审配合",
        (("节能评估师", "JN"), ("注册咨询工程师（投资）", "ZX")),
    ),
}


# What an offer includes, by the service's category (a few services by their own code).
INCLUDED = {
    "environment": LINES["env"].included,
    "safety": LINES["safety"].included,
    "occupational_health": LINES["occ"].included,
    "energy": "能源消费现状调查；节能措施评估；能效水平分析；报告编制与评审配合",
    "engineering_consulting": LINES["consult"].included,
    "planning_design": "现状调研；规划或设计方案编制；方案论证与修改；成果报批配合",
    "engineering_design": LINES["design"].included,
    "review_demonstration": "资料收集与现场调查；专题分析论证；报告编制；配合专家评审并修改完善",
    "water": LINES["water"].included,
    "geology_mining": LINES["geology"].included,
    "survey_mapping": LINES["survey"].included,
    "design_review": LINES["review"].included,
    "testing_inspection": LINES["testing"].included,
    "cost_consulting": LINES["cost"].included,
    "tendering_agency": "招标方案和招标文件编制；发布招标公告；组织开标、评标；发出中标通知书；协助签订合同",
    "construction_supervision": LINES["supervision"].included,
    "appraisal": LINES["appraisal"].included,
    "audit": LINES["audit"].included,
    "geotechnical_survey": LINES["geotech"].included,
    "social_stability_risk": "社会稳定风险调查；风险识别与估计；防范化解措施；风险等级评判；报告编制与评审配合",
    "archaeological_survey": "考古调查；考古勘探；遗迹遗物记录；考古工作报告",
}


# --- fees -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeeRule:
    basis: str
    rate: tuple[float, float]
    fee_min: tuple[int, int]
    fee_max: tuple[int, int]
    days: tuple[int, int]
    unit: str = ""


def _fixed(rate, low, high, days):
    return FeeRule("fixed", rate, low, high, days)


def _pct(rate, low, high, days):
    return FeeRule("percent", rate, low, high, days)


def _unit(rate, unit, low, high, days):
    return FeeRule("per_unit", rate, low, high, days, unit)


# fmt: off
# service type -> (basis, rate (yuan, percent or yuan per unit), minimum fee, maximum fee, days)
FEE_RULES: dict[str, FeeRule] = {
    "eia_report": _fixed((50_000, 120_000), (30_000, 40_000), (150_000, 200_000), (30, 60)),
    "eia_acceptance_monitoring": _fixed((25_000, 60_000), (15_000, 20_000), (80_000, 150_000), (20, 40)),
    "soil_pollution_survey": _fixed((30_000, 80_000), (20_000, 30_000), (120_000, 200_000), (30, 60)),
    "sewage_outfall_demo": _fixed((30_000, 60_000), (18_000, 25_000), (80_000, 120_000), (20, 40)),
    "energy_saving_report": _fixed((20_000, 50_000), (10_000, 15_000), (60_000, 100_000), (15, 30)),
    "safety_pre_assessment": _fixed((30_000, 70_000), (20_000, 25_000), (100_000, 150_000), (20, 40)),
    "safety_status_assessment": _fixed((25_000, 60_000), (15_000, 20_000), (80_000, 120_000), (20, 40)),
    "occ_hazard_pre_eval": _fixed((20_000, 50_000), (12_000, 18_000), (60_000, 100_000), (20, 40)),
    "radiation_pre_eval": _fixed((8_000, 20_000), (5_000, 8_000), (25_000, 40_000), (15, 30)),
    "radiation_control_eval": _fixed((10_000, 25_000), (6_000, 10_000), (30_000, 50_000), (15, 30)),
    "feasibility_study": _pct((0.15, 0.4), (20_000, 30_000), (300_000, 600_000), (20, 45)),
    "project_proposal": _pct((0.08, 0.2), (10_000, 20_000), (150_000, 300_000), (15, 30)),
    "project_application_report": _fixed((30_000, 80_000), (15_000, 20_000), (100_000, 200_000), (15, 30)),
    "preliminary_design": _pct((0.8, 1.5), (30_000, 50_000), (800_000, 1_500_000), (30, 60)),
    "social_stability_risk": _fixed((30_000, 80_000), (15_000, 20_000), (100_000, 150_000), (15, 30)),
    "soil_water_conservation_plan": _fixed((25_000, 70_000), (15_000, 20_000), (100_000, 200_000), (20, 40)),
    "soil_water_monitoring": _fixed((40_000, 100_000), (20_000, 30_000), (150_000, 300_000), (180, 360)),
    "water_resource_demo": _fixed((30_000, 80_000), (20_000, 25_000), (100_000, 180_000), (20, 40)),
    "flood_impact_eval": _fixed((40_000, 120_000), (25_000, 30_000), (150_000, 250_000), (30, 60)),
    "geohazard_risk_assessment": _fixed((20_000, 60_000), (10_000, 15_000), (80_000, 150_000), (15, 30)),
    "geohazard_treatment_design": _pct((2.0, 3.5), (20_000, 30_000), (300_000, 500_000), (30, 60)),
    "mineral_overlay_assessment": _fixed((15_000, 40_000), (8_000, 12_000), (50_000, 80_000), (15, 30)),
    "mine_geoenv_reclamation_plan": _fixed((60_000, 150_000), (40_000, 50_000), (200_000, 300_000), (40, 90)),
    "land_reclamation_plan": _fixed((20_000, 60_000), (12_000, 15_000), (80_000, 120_000), (20, 40)),
    "land_survey_boundary": _unit((150, 300), "元/亩", (4_000, 6_000), (80_000, 200_000), (7, 15)),
    "land_saving_evaluation": _fixed((30_000, 80_000), (20_000, 25_000), (100_000, 150_000), (20, 40)),
    "farmland_occupation_demo": _fixed((40_000, 100_000), (25_000, 30_000), (120_000, 200_000), (20, 40)),
    "lightning_risk_assessment": _fixed((8_000, 30_000), (5_000, 6_000), (40_000, 60_000), (7, 15)),
    "lightning_protection_inspection": _unit((40, 80), "元/检测点", (1_500, 2_000), (30_000, 60_000), (3, 7)),
    "traffic_impact_assessment": _fixed((40_000, 120_000), (25_000, 30_000), (150_000, 250_000), (20, 40)),
    "road_involved_safety_eval": _fixed((20_000, 60_000), (12_000, 15_000), (80_000, 120_000), (15, 30)),
    "planning_scheme_design": _unit((3, 8), "元/平方米", (20_000, 50_000), (300_000, 800_000), (20, 45)),
    "geotechnical_survey": _unit((60, 120), "元/延米", (20_000, 30_000), (300_000, 800_000), (15, 30)),
    "engineering_design": _pct((2.0, 3.5), (50_000, 80_000), (1_500_000, 3_000_000), (30, 90)),
    "construction_drawing_review": _unit((1.2, 2.5), "元/平方米", (8_000, 10_000), (200_000, 500_000), (10, 20)),
    "civil_defense_drawing_review": _unit((0.8, 1.5), "元/平方米", (3_000, 5_000), (50_000, 100_000), (5, 10)),
    "fire_design_tech_review": _unit((1.0, 2.0), "元/平方米", (5_000, 8_000), (100_000, 200_000), (10, 15)),
    "fire_facility_testing": _unit((1.0, 2.5), "元/平方米", (3_000, 5_000), (100_000, 200_000), (5, 10)),
    "cost_consulting": _pct((0.3, 1.2), (3_000, 5_000), (200_000, 800_000), (10, 30)),
    "bidding_agency": _pct((0.4, 1.0), (5_000, 8_000), (150_000, 300_000), (20, 30)),
    "construction_supervision": _pct((1.2, 2.5), (30_000, 50_000), (1_000_000, 2_000_000), (180, 540)),
    "construction_quality_testing": _unit((2.5, 6), "元/平方米", (5_000, 10_000), (200_000, 500_000), (10, 30)),
    "highway_waterway_testing": _unit((8_000, 20_000), "元/公里", (10_000, 20_000), (300_000, 500_000), (15, 45)),
    "water_project_quality_testing": _pct((0.3, 0.8), (10_000, 15_000), (200_000, 300_000), (15, 30)),
    "special_equipment_inspection": _unit((800, 2_500), "元/台", (1_000, 1_200), (20_000, 50_000), (5, 10)),
    "drainage_water_quality_testing": _unit((300, 800), "元/样品", (1_500, 3_000), (20_000, 50_000), (5, 10)),
    "survey_planning_verification": _unit((0.3, 0.8), "元/平方米", (3_000, 5_000), (60_000, 150_000), (5, 15)),
    "survey_property": _unit((0.6, 1.6), "元/平方米", (3_000, 4_000), (100_000, 300_000), (5, 15)),
    "survey_cadastral": _unit((300, 800), "元/宗", (2_000, 3_000), (50_000, 100_000), (10, 20)),
    "real_estate_appraisal": _pct((0.1, 0.5), (2_000, 3_000), (100_000, 200_000), (5, 15)),
    "land_valuation": _pct((0.1, 0.4), (3_000, 5_000), (100_000, 200_000), (7, 15)),
    "asset_appraisal": _pct((0.1, 0.6), (5_000, 8_000), (200_000, 500_000), (10, 20)),
    "mining_right_appraisal": _fixed((30_000, 80_000), (20_000, 25_000), (100_000, 200_000), (15, 30)),
    "financial_audit": _pct((0.2, 0.5), (8_000, 10_000), (200_000, 400_000), (15, 30)),
    "cultural_relic_impact": _fixed((30_000, 80_000), (20_000, 25_000), (100_000, 150_000), (20, 40)),
    "archaeological_survey": _unit((2, 5), "元/平方米", (10_000, 20_000), (300_000, 600_000), (20, 60)),
}
# fmt: on
DEFAULT_FEE_RULE = _fixed((20_000, 60_000), (10_000, 15_000), (80_000, 120_000), (15, 30))
FEE_RAISE_NOTES = (
    "人工及差旅成本上涨，调整收费标准",
    "执行公司新版收费标准",
    "服务内容增加专家评审配合，相应调整收费",
    "根据近年同类项目实际成本调整",
)


# --- the firms --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirmSpec:
    name: str
    area: str
    line: str
    services: tuple[str, ...]
    status: str = "listed"  # listed, review_overdue, review_recent, changes, changes_later, delisted,
    #                         draft, draft_bare
    sole: bool = False
    login: str = ""
    redhat: tuple[str, str] | None = None  # (department code, affiliate name): undeclared shareholder
    declared: tuple[str, str] | None = None  # the same, declared as a tie
    shared_phone: str = ""  # department code whose phone the legal representative uses
    fee_raise: str = ""  # service code of the offer whose fee was raised just before now
    expired: str = ""  # qualification type code that has lapsed
    former_staff: str = ""  # department code: the legal representative worked there (declared)


def _f(name, area, line, *services, **kw) -> FirmSpec:
    return FirmSpec(name, area, line, tuple(services), **kw)


# fmt: off
FIRMS: tuple[FirmSpec, ...] = (
    # environment
    _f("山东鲁南环境科技有限公司", "370402", "env",
       "eia_report", "soil_pollution_survey", "sewage_outfall_demo"),
    _f("枣庄市绿源环境技术服务有限公司", "370403", "env", "eia_report", "energy_saving_report",
       redhat=("ecology_environment", "枣庄市环境科学研究所")),
    _f("滕州市清源环保科技有限公司", "370481", "env", "eia_report", "eia_acceptance_monitoring"),
    _f("青岛海诺环境工程有限公司", "370212", "env",
       "eia_report", "soil_pollution_survey", "sewage_outfall_demo"),
    _f("济南蓝天环境评价咨询有限公司", "370102", "env", "eia_report", "eia_acceptance_monitoring"),
    _f("北京中环博远环境咨询有限公司", "110108", "env", "eia_report", "soil_pollution_survey"),
    # surveying
    _f("滕州市正源测绘有限公司", "370481", "survey",
       "survey_property", "land_survey_boundary", "survey_planning_verification",
       expired="surveying_mapping"),
    _f("枣庄市鲁南测绘地理信息有限公司", "370402", "survey",
       "survey_property", "survey_cadastral", "land_survey_boundary",
       redhat=("natural_resources", "枣庄市勘察测绘院")),
    _f("枣庄市诚信不动产测绘有限公司", "370403", "survey", "survey_property", "survey_cadastral"),
    _f("山东金地勘测规划设计有限公司", "370112", "survey",
       "land_survey_boundary", "survey_cadastral", "survey_planning_verification"),
    _f("徐州华勘测绘工程有限公司", "320311", "survey",
       "survey_property", "survey_planning_verification"),
    _f("济宁市鸿图地理信息有限公司", "370811", "survey", "survey_cadastral", "land_survey_boundary",
       status="review_recent"),
    # cost consulting and tendering
    _f("枣庄市恒信工程造价咨询有限公司", "370402", "cost",
       "cost_consulting", "bidding_agency", "feasibility_study", login="agency"),
    _f("山东鲁信工程造价咨询有限公司", "370403", "cost", "cost_consulting", "bidding_agency"),
    _f("滕州市华诚建设项目管理有限公司", "370481", "cost", "cost_consulting", "bidding_agency",
       former_staff="housing_construction"),
    _f("枣庄市中正招标代理有限公司", "370402", "cost", "bidding_agency", "cost_consulting"),
    _f("山东正泰工程咨询有限公司", "370102", "cost", "cost_consulting", "feasibility_study"),
    _f("徐州天衡工程造价咨询有限公司", "320302", "cost", "cost_consulting"),
    _f("薛城区明远造价咨询服务部", "370403", "cost", "cost_consulting", sole=True),
    # investment consulting
    _f("枣庄市宏达工程咨询有限公司", "370402", "consult",
       "feasibility_study", "project_proposal", "project_application_report",
       declared=("development_reform", "枣庄市工程咨询院")),
    _f("山东鲁南规划设计研究院有限公司", "370403", "design",
       "planning_scheme_design", "feasibility_study", "preliminary_design"),
    _f("济南华夏工程咨询有限公司", "370102", "consult",
       "feasibility_study", "project_application_report", "social_stability_risk"),
    _f("北京中咨华宇工程咨询有限公司", "110105", "consult", "feasibility_study", "project_proposal",
       "energy_saving_report", "social_stability_risk"),
    _f("枣庄市安和社会稳定风险评估有限公司", "370402", "energy",
       "social_stability_risk", "project_application_report"),
    _f("滕州市鑫诚节能评估工作室", "370481", "energy",
       "energy_saving_report", "social_stability_risk", sole=True),
    # safety
    _f("山东安泰安全评价有限公司", "370402", "safety",
       "safety_pre_assessment", "safety_status_assessment", fee_raise="safety_pre_assessment"),
    _f("枣庄市众安安全技术咨询有限公司", "370403", "safety",
       "safety_pre_assessment", "lightning_risk_assessment", status="changes"),
    _f("济南安诺安全评价有限公司", "370112", "safety",
       "safety_pre_assessment", "safety_status_assessment"),
    _f("徐州中矿安全技术评价有限公司", "320311", "safety",
       "safety_status_assessment", "safety_pre_assessment"),
    # occupational health
    _f("枣庄市康宁职业卫生技术服务有限公司", "370402", "occ",
       "occ_hazard_pre_eval", "radiation_pre_eval"),
    _f("山东仁和职业健康评价有限公司", "370102", "occ",
       "occ_hazard_pre_eval", "radiation_pre_eval", "radiation_control_eval"),
    # water
    _f("枣庄市水润水利工程咨询有限公司", "370402", "water",
       "soil_water_conservation_plan", "water_resource_demo", "flood_impact_eval"),
    _f("滕州市蓝海水土保持技术有限公司", "370481", "water",
       "soil_water_conservation_plan", "soil_water_monitoring", status="review_overdue"),
    _f("山东黄河水文水资源咨询有限公司", "370102", "water", "water_resource_demo", "flood_impact_eval"),
    _f("山亭区青山水保技术服务部", "370406", "water", "soil_water_conservation_plan", sole=True),
    # geology and mining
    _f("枣庄市地矿勘查技术服务有限公司", "370403", "geology", "geohazard_risk_assessment",
       "mineral_overlay_assessment", "mine_geoenv_reclamation_plan", expired="geohazard"),
    _f("山东鲁南地质工程勘察院有限公司", "370481", "geology", "geohazard_risk_assessment",
       "geohazard_treatment_design", "land_reclamation_plan"),
    _f("徐州中煤地质工程有限公司", "320303", "geology",
       "geohazard_risk_assessment", "mine_geoenv_reclamation_plan", status="review_overdue"),
    # design and geotechnical survey
    _f("枣庄市建筑设计研究院有限公司", "370402", "design",
       "engineering_design", "preliminary_design", "planning_scheme_design",
       expired="urban_rural_planning"),
    _f("滕州市城建规划设计院有限公司", "370481", "design",
       "planning_scheme_design", "engineering_design"),
    _f("青岛北洋建筑设计有限公司", "370202", "design", "engineering_design", "preliminary_design"),
    _f("枣庄市岩土工程勘察有限公司", "370403", "geotech",
       "geotechnical_survey", "survey_planning_verification"),
    # testing
    _f("枣庄市建科工程检测有限公司", "370403", "testing",
       "construction_quality_testing", "fire_facility_testing",
       shared_phone="housing_construction"),
    _f("枣庄市永安消防检测有限公司", "370402", "testing", "fire_facility_testing", status="delisted"),
    _f("枣庄市雷盾防雷检测有限公司", "370402", "testing",
       "lightning_protection_inspection", "lightning_risk_assessment"),
    _f("枣庄市清泉水质检测有限公司", "370405", "testing",
       "drainage_water_quality_testing", "eia_acceptance_monitoring", status="changes_later"),
    _f("山东鲁南特种设备检测有限公司", "370403", "testing", "special_equipment_inspection"),
    _f("枣庄市通达公路工程试验检测有限公司", "370404", "traffic",
       "highway_waterway_testing", "road_involved_safety_eval", status="review_overdue"),
    _f("枣庄市运河水利工程检测有限公司", "370405", "testing", "water_project_quality_testing"),
    # appraisal
    _f("枣庄市信达房地产土地评估有限公司", "370402", "appraisal",
       "real_estate_appraisal", "land_valuation"),
    _f("山东正衡资产评估有限公司", "370102", "appraisal", "asset_appraisal", "mining_right_appraisal"),
    _f("枣庄市永信资产评估事务所有限公司", "370403", "appraisal",
       "asset_appraisal", "real_estate_appraisal", status="review_recent"),
    # supervision and audit
    _f("枣庄市建元工程监理有限公司", "370402", "supervision",
       "construction_supervision", "cost_consulting"),
    _f("滕州市宏远建设监理有限公司", "370481", "supervision", "construction_supervision"),
    _f("徐州华厦工程监理有限公司", "320302", "supervision",
       "construction_supervision", "cost_consulting", status="review_recent"),
    _f("枣庄鲁信会计师事务所有限公司", "370402", "audit", "financial_audit", "cost_consulting",
       former_staff="finance"),
    _f("北京中天华信会计师事务所有限公司", "110108", "audit", "financial_audit", "asset_appraisal"),
    # drawing review, traffic, relics, land
    _f("枣庄市鲁南施工图审查有限公司", "370402", "review", "construction_drawing_review",
       "fire_design_tech_review", "civil_defense_drawing_review"),
    _f("枣庄市畅通交通规划咨询有限公司", "370400", "traffic",
       "traffic_impact_assessment", "road_involved_safety_eval"),
    _f("山东齐鲁文物保护工程有限公司", "370102", "relic",
       "cultural_relic_impact", "archaeological_survey"),
    _f("枣庄市国土资源规划咨询有限公司", "370403", "land",
       "land_reclamation_plan", "land_saving_evaluation", "farmland_occupation_demo"),
    _f("临沂市沂蒙规划设计有限公司", "371302", "land",
       "land_saving_evaluation", "farmland_occupation_demo", status="changes"),
    # onboarding, not listed yet
    _f("山东翔宇测绘科技有限公司", "370112", "survey", "survey_property", status="draft"),
    _f("枣庄市新元环境科技有限公司", "370406", "env", "eia_report",
       status="draft_bare", login="agency_new"),
)
# fmt: on

CHANGES_NOTES = (
    "营业执照载明的法定代表人与填报信息不一致，请核对更正后重新提交承诺书。",
    "从业人员的社会保险缴纳证明不足近3个月，请补充上传。",
    "资质证书扫描件不清晰，无法核对有效期，请重新上传。",
)
DELIST_NOTE = (
    "经实质审查，承诺的从业人员未在本机构缴纳社会保险，承诺内容与实际不符；"
    "依据告知承诺制有关规定予以清退，并记入信用记录。"
)


@dataclass(frozen=True)
class OwnerSpec:
    name: str
    prefix: str  # USCC registration authority and type: 11 机关, 12 事业单位, 91 企业
    area: str
    login: str = ""


OWNERS: tuple[OwnerSpec, ...] = (
    OwnerSpec("枣庄市市中区教育和体育局", "11", "370402", login="owner"),
    OwnerSpec("滕州市住房和城乡建设局", "11", "370481"),
    OwnerSpec("枣庄市薛城区人民医院", "12", "370403"),
    OwnerSpec("枣庄高新技术产业开发区管理委员会", "11", "370400"),
    OwnerSpec("枣庄市台儿庄区水务局", "11", "370405"),
    OwnerSpec("枣庄市山亭区交通运输局", "11", "370406"),
    OwnerSpec("枣庄市峄城区农业农村局", "11", "370404"),
    OwnerSpec("山东鲁南置业有限公司", "91", "370402"),
    OwnerSpec("枣庄市城市建设投资发展集团有限公司", "91", "370400"),
    OwnerSpec("山东华宇新材料科技有限公司", "91", "370481"),
    OwnerSpec("山东运河物流园开发有限公司", "91", "370405"),
)

HOLDING_COMPANIES = (
    ("山东鲁南投资控股有限公司", "370402"),
    ("枣庄市国泰实业有限公司", "370403"),
    ("滕州市善国投资有限公司", "370481"),
    ("济南泉城科技投资有限公司", "370102"),
    ("青岛海川投资管理有限公司", "370202"),
    ("北京华宇投资管理有限公司", "110105"),
    ("徐州彭城实业发展有限公司", "320302"),
)

# One login per role (all with DEMO_PASSWORD), with what each is for.
LOGIN_NOTES = {
    "operator": "平台运营：入驻审核、服务事项目录、规则阈值",
    "regulator": "监管：项目、报价、合同、收费、预警与信用",
    "dept_eco": "审批部门：审批事项、所属单位、关联关系核查",
    "owner": "项目业主：发布采购公告、选取、合同、验收、评价",
    "agency": "已入驻的中介机构：服务项目与收费公示",
    "agency_new": "新注册的中介机构（草稿）：演示入驻流程",
}
# Staff organisations, created through the operator (the operator's own is the bootstrap).
OPERATOR_ORG = "枣庄市行政审批服务局信息中心"
REGULATOR_ORG = "枣庄市市场监督管理局监管科"
DEPARTMENT_CODE = "ecology_environment"

_SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾孔颜褚闫孟田任姜贾秦魏"
)
_MALE = "建国伟强磊军勇杰涛明超鹏刚峰斌浩凯亮志文海波宇晨东振庆德永新广春立成"
_FEMALE = "丽芳娜敏静燕霞婷慧玲红梅洁琳颖雪萍倩晓艳莉佳欣月琴凤"


# --- generation -------------------------------------------------------------------------------


class Ids:
    """Unique, valid identifiers and numbers, drawn from one random stream."""

    def __init__(self, rng: random.Random, taken_usccs: set[str], taken_phones: set[str]):
        self.rng = rng
        self.usccs = set(taken_usccs)
        self.phones = set(taken_phones)
        self.rics: set[str] = set()
        self.numbers: set[tuple[str, str]] = set()
        self.names: set[str] = set()

    def org_code(self, founded: int, province: str) -> str:
        rng = self.rng
        if founded >= 2016:
            head = {
                "37": rng.choice(("MA3C", "MA3M", "MA94", "MA3P")),
                "32": rng.choice(("MA1M", "MA1N", "MA20")),
                "11": rng.choice(("MA01", "MA00")),
            }[province]
            body = head + "".join(rng.choice(_USCC_CHARS[:28]) for _ in range(4))
        else:
            body = rng.choice("567") + "".join(rng.choice("0123456789") for _ in range(7))
        return body + org_code_check(body)

    def uscc(self, prefix: str, area: str, founded: int) -> str:
        while True:
            if prefix in ("11", "12"):
                body = ("00" if prefix == "11" else "4") + "".join(
                    self.rng.choice("0123456789") for _ in range(6 if prefix == "11" else 7)
                )
                org = body + org_code_check(body)
            else:
                org = self.org_code(founded, area[:2])
            code = make_uscc_code(f"{prefix}{area}{org}")
            if code not in self.usccs:
                self.usccs.add(code)
                return code

    def person(self, area: str, born: tuple[int, int]) -> tuple[str, str]:
        """A name and a resident ID number with a valid check digit."""
        rng = self.rng
        male = rng.random() < 0.62
        while True:
            given = "".join(rng.sample(_MALE if male else _FEMALE, rng.choice((1, 2, 2))))
            name = rng.choice(_SURNAMES) + given
            if name not in self.names:
                break
        self.names.add(name)
        places = _PEOPLE_AREAS[area[:4]]
        place = area if area in places and rng.random() < 0.6 else rng.choice(places)
        while True:
            year = rng.randint(*born)
            birthday = date(year, rng.randint(1, 12), rng.randint(1, 28))
            serial = rng.randrange(0, 1000, 1) // 2 * 2 + (1 if male else 0)
            for code in (place, _OLD_AREAS[area[:4]]):
                number = make_ric(f"{code}{birthday:%Y%m%d}{serial:03d}")
                if ric_is_valid(number) and number not in self.rics:
                    self.rics.add(number)
                    return name, number

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(
                ("135", "138", "139", "150", "152", "158", "186", "187", "188", "153", "189")
            )
            number += "".join(self.rng.choice("0123456789") for _ in range(8))
            if number not in self.phones:
                self.phones.add(number)
                return number

    def landline(self, area: Area) -> str:
        while True:
            if area.phone_prefix == "0632":
                head = "5" if area.code == "370481" else self.rng.choice("2468")
                number = f"0632-{head}{self.rng.randint(0, 999999):06d}"
            else:
                number = f"{area.phone_prefix}-{self.rng.choice('5678')}{self.rng.randint(0, 9999999):07d}"
            if number not in self.phones:
                self.phones.add(number)
                return number

    def unique_number(self, kind: str, make: Callable[[], str]) -> str:
        while True:
            number = make()
            if (kind, number) not in self.numbers:
                self.numbers.add((kind, number))
                return number


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def qualification_number(rng: random.Random, code: str, level_name: str, province: str, year: int) -> str:
    p2 = {"山东省": "37", "江苏省": "32", "北京市": "11"}[province]
    ps = PROVINCE_SHORT[province]
    grade = level_name[:1]
    formats = {
        "surveying_mapping": lambda: f"{grade}测资字{p2}{_digits(rng, 6)}",
        "engineering_survey": lambda: f"B2{p2}{_digits(rng, 6)}",
        "engineering_design": lambda: f"A2{p2}{_digits(rng, 6)}",
        "urban_rural_planning": lambda: f"自资规{grade}字{p2}{_digits(rng, 4)}",
        "consulting_credit": lambda: f"{grade}{year}{p2}{_digits(rng, 4)}",
        "safety_assessment": lambda: f"APJ-（{ps}）-{_digits(rng, 3)}",
        "occupational_health": lambda: f"（{ps}）卫职技字（{year}）第{_digits(rng, 3)}号",
        "radiation_health": lambda: f"（{ps}）卫放技字（{year}）第{_digits(rng, 3)}号",
        "cma": lambda: f"{year}{p2}{_digits(rng, 6)}",
        "geohazard": lambda: f"{ps}地灾评资{grade}字第{_digits(rng, 4)}号",
        "construction_testing": lambda: f"{ps}建检字第{year % 100:02d}{_digits(rng, 4)}号",
        "supervision": lambda: f"E2{p2}{_digits(rng, 6)}",
        "land_valuation_filing": lambda: f"{ps}土估备字〔{year}〕{_digits(rng, 4)}号",
        "real_estate_appraisal": lambda: f"{ps}房估字第{_digits(rng, 7)}号",
        "asset_appraisal_filing": lambda: f"{ps}财资评备〔{year}〕{_digits(rng, 3)}号",
        "lightning_testing": lambda: f"{ps}雷检{grade}字〔{year}〕{_digits(rng, 3)}号",
        "special_equipment_inspection": lambda: f"TS7{p2}{_digits(rng, 4)}-{year + 4}",
        "water_project_testing": lambda: f"水质检{grade}字第{_digits(rng, 4)}号",
        "highway_waterway_testing": lambda: f"交{ps}GJC{grade}{year}-{_digits(rng, 3)}",
        "drawing_review_agency": lambda: f"{ps}审图认字〔{year}〕{_digits(rng, 3)}号",
        "cpa_firm": lambda: f"{p2}{_digits(rng, 6)}",
        "archaeology": lambda: f"考执字（{year}）第{_digits(rng, 3)}号",
        "relic_conservation": lambda: f"文保设计{grade}字{_digits(rng, 3)}SJ{_digits(rng, 4)}",
    }
    return formats.get(code, lambda: f"{code[:6].upper()}-{year}-{_digits(rng, 6)}")()


def qualification_authority(code: str, rank: int | None, province: str) -> str:
    provincial, national = _QUAL_AUTHORITY.get(code, ("", ""))
    if national and (rank == 1 or not provincial):
        return national
    return _AUTHORITIES[province].get(provincial, f"{province}人民政府有关部门")


_PDF_OBJECTS = (
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
    "/Resources << /Font << /F1 5 0 R >> >> >>",
    None,  # the content stream
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
)


def tiny_pdf(title: str) -> bytes:
    """A one-page PDF (valid structure and cross-reference table) that says it is a demo file."""
    text = re.sub(r"[^A-Za-z0-9 .,:-]", "", title)[:80]
    stream = f"BT /F1 14 Tf 72 760 Td (Demo document - not a real certificate) Tj 0 -24 Td ({text}) Tj ET"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(_PDF_OBJECTS, start=1):
        offsets.append(len(out))
        if body is None:
            body = f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream"
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf(kind: str, number: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{kind}.pdf", tiny_pdf(f"{kind} {number}"), content_type="application/pdf")


# --- time -------------------------------------------------------------------------------------


class SimulatedClock:
    """Stands in for ``django.utils.timezone.now`` while history is replayed: the current event's
    time, and never earlier than (or equal to) the time it last returned, so that writes made in
    one event, or in two events of the same minute, keep their order."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC)
        self.last = datetime.min.replace(tzinfo=UTC)

    def set(self, moment: datetime) -> None:
        self.current = moment.astimezone(UTC)

    def now(self) -> datetime:
        self.last = max(self.current, self.last + timedelta(microseconds=1))
        return self.last


@contextmanager
def one_hash_for_the_demo_password() -> Iterator[None]:
    """Hash the shared demo password once (PBKDF2 takes a fraction of a second per call, which
    for some eighty accounts would be most of the run) and store that hash for every demo
    account; any other password is hashed as usual."""
    from django.contrib.auth import base_user

    real_make_password = base_user.make_password
    cached: dict[str, str] = {}

    def make_password(password, *args, **kwargs):
        if password != DEMO_PASSWORD or args or kwargs:
            return real_make_password(password, *args, **kwargs)
        if password not in cached:
            cached[password] = real_make_password(password)
        return cached[password]

    base_user.make_password = make_password
    try:
        yield
    finally:
        base_user.make_password = real_make_password


@contextmanager
def simulated_time(clock: SimulatedClock) -> Iterator[SimulatedClock]:
    real_now = timezone.now
    timezone.now = clock.now
    try:
        yield clock
    finally:
        timezone.now = real_now


def working_day_on_or_before(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def working_days_before(day: date, count: int) -> date:
    while count:
        day -= timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def working_days_after(day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def office_time(rng: random.Random, day: date, start: float = 8.5, end: float = 17.0) -> datetime:
    minutes = rng.randint(int(start * 60), int(end * 60))
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=SHANGHAI)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def first_of_month_before(day: date, months: int) -> date:
    year, month = day.year, day.month - months
    while month <= 0:
        month += 12
        year -= 1
    return date(year, month, 1)


# --- the timeline -----------------------------------------------------------------------------


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    label: str = field(compare=False)
    run: Callable[[], Any] = field(compare=False)


class Timeline:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.events: list[Event] = []

    def add(self, at: datetime, label: str, run: Callable[[], Any]) -> None:
        if at >= self.now:
            raise ValueError(f"{label}: {at} is not in the past")
        self.events.append(Event(at, len(self.events), label, run))

    def replay(self, clock: SimulatedClock) -> None:
        for event in sorted(self.events):
            clock.set(event.at)
            try:
                event.run()
            except Exception as exc:
                raise RuntimeError(
                    f"demo step failed: {event.label} at {event.at:%Y-%m-%d %H:%M}: {exc}"
                ) from exc


@dataclass
class FirmState:
    spec: FirmSpec
    username: str
    area: Area
    uscc: str
    legal_rep: str
    legal_rep_id: str
    phone: str
    mobile: str
    email: str
    founded: int
    contact: str
    rng: random.Random
    user: User | None = None
    firm: Intermediary | None = None
    qualifications: dict[str, Qualification] = field(default_factory=dict)
    practitioners: list[Practitioner] = field(default_factory=list)
    offers: dict[str, Offer] = field(default_factory=dict)


# --- the generator ----------------------------------------------------------------------------


def demo_exists() -> bool:
    return User.objects.filter(username=OPERATOR_USERNAME).exists()


def seed_demo(*, now: datetime | None = None) -> dict[str, Any]:
    """Build the demo market; return the manifest (logins, planted cases, counts).

    Raises ``DemoAlreadySeeded`` when the demo operator exists, and ``RuntimeError`` naming the
    step when a service refuses one (nothing is written then: it all runs in one transaction).
    """
    if demo_exists():
        raise DemoAlreadySeeded(OPERATOR_USERNAME)
    if not ServiceType.objects.exists() or not Department.objects.exists():
        raise RuntimeError("the catalogue is empty: run `manage.py migrate` first")
    builder = _Builder(now or timezone.now())
    with transaction.atomic():
        builder.plan()
        with one_hash_for_the_demo_password(), simulated_time(SimulatedClock()) as clock:
            builder.timeline.replay(clock)
        builder.finish()
    return builder.manifest


class _Builder:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.today = timezone.localdate(now)
        # Content (names, codes, fees) comes from ``rng`` in a fixed order; dates and times come
        # from ``trng``, whose draws may depend on the calendar, so the content never does.
        self.rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
        self.trng = random.Random(SEED + 1)  # noqa: S311
        self.timeline = Timeline(now)
        taken_usccs = set(Organisation.objects.exclude(uscc=None).values_list("uscc", flat=True))
        taken_usccs |= set(AffiliatedEntity.objects.values_list("uscc", flat=True))
        taken_phones = set(Department.objects.values_list("phone", flat=True))
        taken_phones |= set(AffiliatedEntity.objects.values_list("phone", flat=True))
        self.ids = Ids(self.rng, taken_usccs, taken_phones)
        self.service_types = {
            st.code: st
            for st in ServiceType.objects.filter(is_active=True)
            .select_related("category")
            .prefetch_related(
                "allowed_qualifications__qualification_type__levels",
                "allowed_qualifications__standard_level",
                "price_bands",
            )
        }
        self.departments = {d.code: d for d in Department.objects.all()}
        self.operator: User | None = None
        self.firms: list[FirmState] = []
        self.manifest: dict[str, Any] = {
            "now": now.isoformat(),
            "password": DEMO_PASSWORD,
            "logins": [],
            "red_hat_undeclared": [],
            "red_hat_declared": [],
            "shared_phone": [],
            "recent_fee_raise": [],
            "expired_qualifications": [],
            "declared_staff_ties": [],
            "review_overdue": [],
            "review_pending": [],
            "changes_requested": [],
            "delisted": [],
            "drafts": [],
            "counts": {},
        }
        self.launch = working_day_on_or_before(self.today - timedelta(days=430))

    # -- planning ------------------------------------------------------------------------------

    def plan(self) -> None:
        self._plan_staff()
        for number, spec in enumerate(FIRMS, start=1):
            self._plan_firm(number, spec)
        for number, spec in enumerate(OWNERS, start=1):
            self._plan_owner(number, spec)

    def _plan_staff(self) -> None:
        start = office_time(self.trng, working_days_before(self.launch, 3), 9, 10)
        self.timeline.add(start, "bootstrap operator", self._bootstrap_operator)
        self.timeline.add(start + timedelta(minutes=40), "regulator account", self._create_regulator)
        self.timeline.add(start + timedelta(minutes=70), "department account", self._create_department_login)

    def _bootstrap_operator(self) -> None:
        """The first operator cannot be created by an operator: written directly, and audited."""
        org = Organisation.objects.create(name=OPERATOR_ORG, kind=Role.OPERATOR)
        user = User(
            username=OPERATOR_USERNAME,
            email="operator@zjcs.example.cn",
            full_name="孙晓梅",
            phone="0632-3358188",
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        membership = Membership.objects.create(
            user=user, organisation=org, role=Role.OPERATOR, is_manager=True
        )
        actor = "seed_demo"
        audit_record(actor=actor, action="organisation.create", obj=org, after=snapshot(org))
        audit_record(actor=actor, action="user.create", obj=user, after=snapshot(user, USER_FIELDS))
        audit_record(
            actor=actor,
            action="membership.create",
            obj=membership,
            after=snapshot(membership, ["user_id", "organisation_id", "role", "is_manager"]),
        )
        self.operator = user
        self._login("operator", "operator", org.name)

    def _staff_user(self, org: Organisation, username: str, full_name: str) -> User:
        membership = staff_account_create(
            actor=self.operator,
            organisation=org,
            username=username,
            email=f"{username}@zjcs.example.cn",
            full_name=full_name,
            is_manager=True,
        )
        user = membership.user
        # Staff normally set their password through the reset e-mail; the demo sets a known one.
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        return user

    def _create_regulator(self) -> None:
        org = organisation_create(actor=self.operator, kind=Role.REGULATOR, name=REGULATOR_ORG)
        self._staff_user(org, "regulator", "刘建华")
        self._login("regulator", "regulator", org.name)

    def _create_department_login(self) -> None:
        department = self.departments[DEPARTMENT_CODE]
        org = organisation_create(actor=self.operator, kind=Role.DEPARTMENT, name=department.name_zh)
        # No service links a department row to its organisation yet: written here, and audited.
        before = {"organisation_id": department.organisation_id}
        department.organisation = org
        department.save(update_fields=["organisation"])
        audit_record(
            actor=self.operator,
            action="department.link",
            obj=department,
            before=before,
            after={"organisation_id": org.pk},
        )
        self._staff_user(org, "dept_eco", "周文涛")
        self._login("department", "dept_eco", org.name)

    def _login(self, role: str, username: str, organisation: str) -> None:
        self.manifest["logins"].append(
            {"role": role, "username": username, "organisation": organisation, "note": LOGIN_NOTES[username]}
        )

    def _plan_owner(self, number: int, spec: OwnerSpec) -> None:
        rng, trng = self.rng, self.trng
        username = spec.login or f"owner{number:02d}"
        code = self.ids.uscc(spec.prefix, spec.area, rng.randint(1995, 2020))
        name, _id = self.ids.person(spec.area, (1968, 1990))
        mobile = self.ids.mobile()
        day = self.launch + timedelta(days=trng.randint(5, 200) if not spec.login else 12)
        at = office_time(trng, working_day_on_or_before(day))

        def run() -> None:
            user_signup(
                username=username,
                email=f"{username}@example.cn",
                password=DEMO_PASSWORD,
                full_name=name,
                phone=mobile,
                role=Role.OWNER,
                organisation_name=spec.name,
                uscc=code,
            )

        self.timeline.add(at, f"owner {spec.name}", run)
        if spec.login:
            self._login("owner", username, spec.name)

    # -- firms ---------------------------------------------------------------------------------

    def _registration_day(self, spec: FirmSpec) -> date:
        rng, today = self.trng, self.today
        if spec.status == "draft_bare":
            return working_days_before(today, 1)
        if spec.status == "draft":
            return working_days_before(today, rng.randint(6, 10))
        if spec.status == "review_recent":
            return working_days_before(today, rng.randint(3, 6))
        if spec.status == "review_overdue":
            return working_days_before(today, rng.randint(14, 24))
        if spec.status == "changes":
            return today - timedelta(days=rng.randint(40, 110))
        if spec.login == "agency":
            return self.launch + timedelta(days=8)
        if spec.expired or spec.fee_raise or spec.status in ("delisted", "changes_later"):
            return self.launch + timedelta(days=rng.randint(5, 120))
        return self.launch + timedelta(days=rng.randint(5, 380))

    def _plan_firm(self, number: int, spec: FirmSpec) -> None:
        rng, trng, ids = self.rng, self.trng, self.ids
        area = AREAS[spec.area]
        founded = rng.randint(2003, 2022) if not spec.sole else rng.randint(2016, 2022)
        reg_day = working_day_on_or_before(self._registration_day(spec))
        founded = min(founded, reg_day.year - 1)
        legal_rep, legal_rep_id = ids.person(spec.area, (1962, 1988))
        phone = ids.landline(area)
        if spec.shared_phone:
            phone = self.departments[spec.shared_phone].phone
        contact = legal_rep if spec.sole or spec.shared_phone else ids.person(spec.area, (1975, 1998))[0]
        username = spec.login or f"firm{number:02d}"
        state = FirmState(
            spec=spec,
            username=username,
            area=area,
            uscc=ids.uscc("92" if spec.sole else "91", spec.area, founded),
            legal_rep=legal_rep,
            legal_rep_id=legal_rep_id,
            phone=phone,
            mobile=ids.mobile(),
            email=f"{username}@example.cn",
            founded=founded,
            contact=contact,
            rng=random.Random(rng.getrandbits(64)),  # noqa: S311
        )
        self.firms.append(state)
        services_ = [self.service_types[c] for c in spec.services if c in self.service_types]

        cursor = office_time(trng, reg_day, 8.5, 15.5)
        add = self.timeline.add

        def step(minutes: tuple[int, int], label: str, run: Callable[[], Any]) -> None:
            nonlocal cursor
            cursor += timedelta(minutes=trng.randint(*minutes))
            add(cursor, f"{spec.name}: {label}", run)

        add(cursor, f"{spec.name}: register", lambda: self._register(state))
        if spec.status == "draft_bare":
            self._login("intermediary", username, spec.name)
            self.manifest["drafts"].append(spec.name)
            return

        step((8, 30), "profile", lambda: self._profile(state))
        # qualifications that the offered services need or accept
        wanted: dict[str, Any] = {}
        for st in services_:
            for allowed in st.allowed_qualifications.all():
                code = allowed.qualification_type.code
                if code not in wanted and (st.qualification_required or rng.random() < 0.8):
                    wanted[code] = allowed
                if st.code != "planning_scheme_design":
                    break
        for code, allowed in wanted.items():
            qual = self._plan_qualification(state, allowed, reg_day, expired=(code == spec.expired))
            step((3, 9), f"qualification {code}", qual)
        # practitioners: 2 to 6 (a sole proprietor: 1 or 2), often with the legal representative
        line = LINES[spec.line]
        count = rng.randint(2, 6) if not spec.sole else rng.randint(1, 2)
        people = []
        if rng.random() < 0.5 or spec.sole:
            people.append((legal_rep, legal_rep_id))
        while len(people) < count:
            people.append(ids.person(spec.area, (1966, 1997)))
        for name, id_number in people:
            title, prefix = rng.choice(line.titles)
            cert = ids.unique_number("cert", lambda p=prefix: f"{p}{_digits(rng, 8)}")
            insured = first_of_month_before(reg_day, rng.randint(4, 84))
            practitioner = functools.partial(self._practitioner, state, name, id_number, title, cert, insured)
            step((3, 8), f"practitioner {name}", practitioner)
        # shareholders (none for a sole proprietor)
        if not spec.sole:
            for kind, sh_name, share, code in self._plan_shareholders(state):
                shareholder = functools.partial(self._shareholder, state, kind, sh_name, share, code)
                step((2, 5), f"shareholder {sh_name}", shareholder)
        if spec.declared:
            step((3, 6), "tie", functools.partial(self._declare_affiliate, state, *spec.declared))
        if spec.former_staff:
            left = date(rng.randint(2012, 2018), rng.randint(1, 12), 1)
            step((3, 6), "tie", functools.partial(self._declare_former_staff, state, spec.former_staff, left))
        # fee history, drawn now so that the content never depends on the calendar
        raises = {
            st.code: [
                (
                    rng.randint(60, 240),
                    Decimal(rng.choice(("1.05", "1.08", "1.10", "1.12", "1.15"))),
                    rng.choice(FEE_RAISE_NOTES),
                )
                for _ in range(rng.choice((0, 0, 0, 0, 1, 1, 2)))
            ]
            for st in services_
        }
        if spec.login == "agency" and services_:  # the demo firm shows a fee history
            raises[services_[0].code] = [
                (75, Decimal("1.08"), FEE_RAISE_NOTES[0]),
                (150, Decimal("1.10"), FEE_RAISE_NOTES[3]),
            ]
        if spec.status == "draft":
            self.manifest["drafts"].append(spec.name)
            return

        # commitment, review, offers, later events
        if spec.status == "review_recent":
            commit_day = working_days_before(self.today, trng.randint(1, 2))
        elif spec.status == "review_overdue":
            commit_day = working_days_before(self.today, trng.randint(4, 10))
        else:
            commit_day = working_days_after(reg_day, trng.randint(0, 3))
        commit_at = max(cursor + timedelta(minutes=20), office_time(trng, commit_day, 8.5, 11))
        add(commit_at, f"{spec.name}: commitment", lambda: self._commit(state))
        cursor = commit_at
        offer_times = []
        for st in services_:
            step((15, 50), f"offer {st.code}", functools.partial(self._offer, state, st))
            offer_times.append((st, cursor))
        review_at = max(
            office_time(trng, working_days_after(commit_day, trng.randint(1, 2)), 9, 17.5),
            cursor + timedelta(minutes=30),
        )
        later = office_time(trng, working_days_before(self.today, trng.randint(15, 40)), 9, 17)
        review = self._review
        decisions = services.ReviewDecision
        if spec.status in ("review_recent", "review_overdue"):
            key = "review_overdue" if spec.status == "review_overdue" else "review_pending"
            self.manifest[key].append(spec.name)
        elif spec.status == "changes":
            note = CHANGES_NOTES[len(self.manifest["changes_requested"]) % len(CHANGES_NOTES)]
            add(
                review_at,
                f"{spec.name}: request changes",
                functools.partial(review, state, decisions.REQUEST_CHANGES, note),
            )
            self.manifest["changes_requested"].append({"intermediary": spec.name, "note": note})
        else:
            add(review_at, f"{spec.name}: approve", functools.partial(review, state, decisions.APPROVE, ""))
            if spec.status == "changes_later":
                note = CHANGES_NOTES[len(self.manifest["changes_requested"]) % len(CHANGES_NOTES)]
                add(
                    later,
                    f"{spec.name}: request changes",
                    functools.partial(review, state, decisions.REQUEST_CHANGES, note),
                )
                self.manifest["changes_requested"].append({"intermediary": spec.name, "note": note})
            elif spec.status == "delisted":
                add(
                    later,
                    f"{spec.name}: delist",
                    functools.partial(review, state, decisions.DELIST, DELIST_NOTE),
                )
                self.manifest["delisted"].append({"intermediary": spec.name, "note": DELIST_NOTE})
        if spec.login == "agency":
            self._login("intermediary", spec.login, spec.name)
        # fee changes: raises months apart; the planted one a few working days before now
        for st, created_at in offer_times:
            if st.code == spec.fee_raise:
                at = office_time(trng, working_days_before(self.today, 6), 9, 17)
                if (self.today - at.date()).days > 20:  # a long holiday: stay well within 30 days
                    at = office_time(trng, self.today - timedelta(days=9), 9, 17)
                self._plan_fee_change(
                    state, st, at, factor=Decimal("1.25"), note="因人工成本上涨，上调收费标准", planted=True
                )
                continue
            if spec.status == "review_recent":
                continue
            moment = created_at
            for days, factor, note in raises[st.code]:
                day = working_day_on_or_before((moment + timedelta(days=days)).date())
                if (self.today - day).days < 35:
                    break
                moment = office_time(trng, day, 9, 17)
                self._plan_fee_change(state, st, moment, factor=factor, note=note, planted=False)

    def _plan_qualification(
        self, state: FirmState, allowed, reg_day: date, *, expired: bool
    ) -> Callable[[], Any]:
        rng, trng = self.rng, self.trng
        qtype = allowed.qualification_type
        levels = list(qtype.levels.all())
        level = None
        if levels:
            standard_rank = allowed.standard_level.rank if allowed.standard_level else levels[-1].rank
            choices = [lv for lv in levels if lv.rank <= standard_rank] or levels
            big = state.area.code.startswith("11") or state.spec.name.endswith("研究院有限公司")
            if big:
                level = levels[0]
            else:
                level = rng.choice(choices) if rng.random() < 0.75 else rng.choice(levels)
        province = state.area.province
        if expired:
            valid_until = self.today - timedelta(days=trng.randint(20, 70))
            valid_from = add_years(valid_until, -5) + timedelta(days=1)
        else:
            valid_from = reg_day - timedelta(days=trng.randint(30, 1400))
            valid_until = add_years(valid_from, 6 if qtype.code == "cma" else 5) - timedelta(days=1)
            if valid_until < self.today + timedelta(days=90):
                valid_from = reg_day - timedelta(days=trng.randint(20, 200))
                valid_until = add_years(valid_from, 5) - timedelta(days=1)
        level_name = level.name_zh if level else ""
        number = self.ids.unique_number(
            qtype.code, lambda: qualification_number(rng, qtype.code, level_name, province, valid_from.year)
        )
        authority = qualification_authority(qtype.code, level.rank if level else None, province)

        def run() -> None:
            qual = services.qualification_add(
                actor=state.user,
                intermediary=state.firm,
                qualification_type=qtype,
                level=level,
                number=number,
                authority=authority,
                valid_from=valid_from,
                valid_until=valid_until,
                certificate=pdf("qualification", number),
            )
            state.qualifications[qtype.code] = qual

        if expired:
            self.manifest["expired_qualifications"].append(
                {
                    "intermediary": state.spec.name,
                    "qualification_type": qtype.code,
                    "number": number,
                    "valid_until": valid_until.isoformat(),
                    "offers": [],
                }
            )
        return run

    def _plan_shareholders(self, state: FirmState) -> list[tuple[str, str, Decimal, str]]:
        """(kind, name, share, id number or USCC), shares summing to 100."""
        rng, ids, spec = self.rng, self.ids, state.spec
        rows: list[tuple[str, str, Decimal, str]] = []
        special = spec.redhat or spec.declared
        if special:
            affiliate = self._affiliate(*special)
            stake = Decimal(rng.choice(("20", "25", "30", "35")))
            rows.append(("firm", affiliate.name, stake, affiliate.uscc))
        elif state.area.code.startswith(("11", "32")) and rng.random() < 0.4:
            name, area = rng.choice(HOLDING_COMPANIES)
            rows.append(
                (
                    "firm",
                    name,
                    Decimal(rng.choice(("51", "60", "70"))),
                    ids.uscc("91", area, rng.randint(2000, 2015)),
                )
            )
        elif rng.random() < 0.2:
            name, area = rng.choice(HOLDING_COMPANIES)
            rows.append(
                (
                    "firm",
                    name,
                    Decimal(rng.choice(("20", "30", "40"))),
                    ids.uscc("91", area, rng.randint(2000, 2015)),
                )
            )
        remaining = Decimal(100) - sum((r[2] for r in rows), Decimal(0))
        people = rng.choice((1, 2, 2, 3))
        splits = {
            1: [Decimal(1)],
            2: [Decimal(rng.choice(("0.51", "0.6", "0.7", "0.8")))],
            3: [Decimal(rng.choice(("0.5", "0.4", "0.45"))), Decimal(rng.choice(("0.3", "0.35")))],
        }[people]
        shares = [(remaining * s).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP) for s in splits]
        shares.append(remaining - sum(shares, Decimal(0)))
        shares = [s for s in shares if s > 0]
        for index, share in enumerate(shares):
            if index == 0:
                name, id_number = state.legal_rep, state.legal_rep_id
            else:
                name, id_number = ids.person(state.area.code, (1960, 1990))
            rows.append(("person", name, share, id_number))
        return rows

    def _affiliate(self, dept_code: str, name: str) -> AffiliatedEntity:
        rows = AffiliatedEntity.objects.filter(department__code=dept_code).exclude(uscc="").order_by("pk")
        affiliate = rows.filter(name=name).first() or rows.filter(kind="institution").first() or rows.first()
        if affiliate is None or not uscc.is_valid(affiliate.uscc):
            raise RuntimeError(f"no affiliated institution with a valid USCC for department {dept_code}")
        return affiliate

    def _plan_fee_change(
        self, state: FirmState, st: ServiceType, at: datetime, *, factor: Decimal, note: str, planted: bool
    ) -> None:

        def run() -> None:
            offer = state.offers[st.code]
            current = offer.current_fee
            fee = _raised_fee(current, factor, st, note)
            schedule = services.fee_schedule_change(actor=state.user, offer=offer, fee=fee)
            offer.refresh_from_db()
            if planted:
                self.manifest["recent_fee_raise"].append(
                    {
                        "intermediary": state.spec.name,
                        "offer_id": offer.pk,
                        "service_type": st.code,
                        "from": _fee_text(current),
                        "to": _fee_text(schedule),
                        "raised_on": timezone.localtime(schedule.effective_from).date().isoformat(),
                    }
                )

        self.timeline.add(at, f"{state.spec.name}: fee change {st.code}", run)

    # -- the steps (run at their simulated time) -----------------------------------------------

    def _register(self, state: FirmState) -> None:
        firm = services.intermediary_register(
            username=state.username,
            email=state.email,
            password=DEMO_PASSWORD,
            full_name=state.contact,
            phone=state.phone if state.spec.shared_phone else state.mobile,
            organisation_name=state.spec.name,
            uscc=state.uscc,
            is_sole_proprietor=state.spec.sole,
        )
        state.firm = firm
        state.user = User.objects.get(username=state.username)

    def _profile(self, state: FirmState) -> None:
        rng, spec, line = state.rng, state.spec, LINES[state.spec.line]
        street = rng.choice(state.area.streets.split())
        address = f"{state.area.name}{street}{rng.randint(1, 399)}号"
        if not spec.sole and rng.random() < 0.5:
            address += f"{rng.choice(('鲁南', '金融', '科技', '创业', '商务'))}大厦{rng.randint(3, 21)}层"
        staff = rng.randint(12, 85) if not spec.sole else rng.randint(2, 5)
        if spec.sole:
            description = (
                f"个体工商户，经营者{state.legal_rep}，专业从事{line.blurb}，承接中小型项目，响应及时。"
            )
        else:
            description = (
                f"本公司成立于{state.founded}年，专业从事{line.blurb}。现有专业技术人员{staff}人，"
                f"建立了完善的质量管理体系，已完成各类项目{rng.randint(80, 900)}项。"
            )
        services.intermediary_update_profile(
            actor=state.user,
            intermediary=state.firm,
            name=spec.name,
            legal_representative=state.legal_rep,
            legal_representative_id_number=state.legal_rep_id,
            address=address,
            contact_name=state.contact,
            phone=state.phone,
            email=state.email,
            website="" if spec.sole or rng.random() < 0.5 else f"https://www.{state.username}.example.cn",
            description=description,
            is_sole_proprietor=spec.sole,
        )
        state.firm.refresh_from_db()
        if spec.shared_phone:
            department = self.departments[spec.shared_phone]
            self.manifest["shared_phone"].append(
                {
                    "intermediary": spec.name,
                    "legal_representative": state.legal_rep,
                    "phone": state.phone,
                    "department": department.code,
                    "department_name": department.name_zh,
                }
            )

    def _practitioner(
        self, state: FirmState, name: str, id_number: str, title: str, cert: str, insured: date
    ) -> None:
        person = services.practitioner_add(
            actor=state.user,
            intermediary=state.firm,
            name=name,
            id_number=id_number,
            title=title,
            certificate_number=cert,
            certificate=pdf("certificate", cert),
            insured_since=insured,
            social_insurance_proof=pdf("social-insurance", cert),
        )
        state.practitioners.append(person)

    def _shareholder(self, state: FirmState, kind: str, name: str, share: Decimal, code: str) -> None:
        services.shareholder_add(
            actor=state.user,
            intermediary=state.firm,
            kind=kind,
            name=name,
            share=share,
            id_number=code if kind == "person" else "",
            uscc=code if kind == "firm" else "",
        )
        spec = state.spec
        if kind == "firm" and (spec.redhat or spec.declared):
            dept_code = (spec.redhat or spec.declared)[0]
            key = "red_hat_undeclared" if spec.redhat else "red_hat_declared"
            self.manifest[key].append(
                {
                    "intermediary": spec.name,
                    "intermediary_uscc": state.uscc,
                    "shareholder": name,
                    "shareholder_uscc": code,
                    "share": str(share),
                    "department": dept_code,
                }
            )

    def _declare_affiliate(self, state: FirmState, dept_code: str, affiliate_name: str) -> None:
        affiliate = self._affiliate(dept_code, affiliate_name)
        services.tie_declare(
            actor=state.user,
            intermediary=state.firm,
            department=self.departments[dept_code],
            kind=DeclaredTie.Kind.AFFILIATED,
            affiliate=affiliate,
            description=f"{affiliate.name}持有本公司股权，系{self.departments[dept_code].name_zh}所属事业单位，"
            "本公司承诺不承接该部门审批事项涉及的中介服务。",
        )

    def _declare_former_staff(self, state: FirmState, dept_code: str, ended: date) -> None:
        department = self.departments[dept_code]
        services.tie_declare(
            actor=state.user,
            intermediary=state.firm,
            department=department,
            kind=DeclaredTie.Kind.FORMER_STAFF,
            person_name=state.legal_rep,
            ended_on=ended,
            description=f"法定代表人{state.legal_rep}曾在{department.name_zh}工作，{ended.year}年辞职离开。",
        )
        self.manifest["declared_staff_ties"].append(
            {
                "intermediary": state.spec.name,
                "department": dept_code,
                "person": state.legal_rep,
                "ended_on": ended.isoformat(),
            }
        )

    def _commit(self, state: FirmState) -> None:
        state.firm = services.commitment_sign(
            actor=state.user, intermediary=state.firm, signer_name=state.legal_rep, accept=True
        )

    def _review(self, state: FirmState, decision: str, note: str) -> None:
        state.firm = services.intermediary_review(
            actor=self.operator, intermediary=state.firm, decision=decision, note=note
        )

    def _offer(self, state: FirmState, st: ServiceType) -> None:
        rng, line = state.rng, LINES[state.spec.line]
        rule = FEE_RULES.get(st.code, DEFAULT_FEE_RULE)
        fee = _initial_fee(rng, rule, st)
        allowed = {a.qualification_type_id for a in st.allowed_qualifications.all()}
        quals = [q for q in state.qualifications.values() if q.qualification_type_id in allowed]
        people = rng.sample(state.practitioners, k=min(len(state.practitioners), rng.randint(1, 3)))
        basis = re.search(r"《[^》]+》", st.legal_basis or "")
        title = people[0].title if people else line.titles[0][0]
        description = rng.choice(
            (
                f"本公司组建专门项目组承接{st.name_zh}，项目负责人持{title}证书，近三年完成同类项目{rng.randint(8, 60)}项。",
                f"依据{basis.group(0) if basis else '国家有关规定和技术规范'}开展{st.name_zh}，"
                "提供从资料收集到成果交付的全过程服务。",
                f"{st.name_zh}：{line.blurb}团队，熟悉审批要求，可根据项目进度安排加急服务。",
            )
        )
        offer = services.offer_create(
            actor=state.user,
            intermediary=state.firm,
            service_type=st,
            description=description,
            included=INCLUDED.get(st.code) or INCLUDED.get(st.category.code) or line.included,
            service_days=rng.randint(*rule.days),
            fee=fee,
            practitioners=people,
            qualifications=quals,
        )
        state.offers[st.code] = offer
        for row in self.manifest["expired_qualifications"]:
            if row["intermediary"] == state.spec.name and row["qualification_type"] in {
                q.qualification_type.code for q in quals
            }:
                row["offers"].append({"offer_id": offer.pk, "service_type": st.code})

    # -- after the replay ----------------------------------------------------------------------

    def finish(self) -> None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for username in TOTP_USERS:
            user = User.objects.get(username=username)
            TOTPDevice.objects.create(
                user=user, name=DEMO_TOTP_DEVICE, key=demo_totp_key(username), confirmed=True
            )
        by_status = dict(
            Intermediary.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
        )
        firms = Intermediary.objects.all()
        self.manifest["counts"] = {
            "intermediaries": firms.count(),
            "out_of_town": sum(1 for f in self.firms if not f.area.local),
            "sole_proprietors": firms.filter(is_sole_proprietor=True).count(),
            "by_status": by_status,
            "qualifications": Qualification.objects.count(),
            "practitioners": Practitioner.objects.count(),
            "shareholders": Shareholder.objects.count(),
            "declared_ties": DeclaredTie.objects.count(),
            "offers": Offer.objects.count(),
            "fee_versions": FeeSchedule.objects.count(),
            "offers_with_fee_history": Offer.objects.annotate(n=Count("fee_versions"))
            .filter(n__gt=1)
            .count(),
            "owners": Organisation.objects.filter(kind=Role.OWNER).count(),
            "users": User.objects.count(),
            "audit_events": AuditEvent.objects.count(),
        }
        firm_ids = dict(Intermediary.objects.values_list("name", "pk"))
        for key in (
            "red_hat_undeclared",
            "red_hat_declared",
            "shared_phone",
            "recent_fee_raise",
            "expired_qualifications",
            "declared_staff_ties",
            "changes_requested",
            "delisted",
        ):
            for row in self.manifest[key]:
                row["intermediary_id"] = firm_ids.get(row["intermediary"])
        self.manifest["review_overdue_ids"] = [firm_ids[n] for n in self.manifest["review_overdue"]]


# --- fee arithmetic ---------------------------------------------------------------------------


def _step(value: Decimal, step: int) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def _round_to(value: float, step: int) -> Decimal:
    return Decimal(int(round(value / step)) * step)


def _band(st: ServiceType) -> tuple[Decimal, Decimal] | None:
    if st.pricing_regime == PricingRegime.MARKET:
        return None
    bands = list(st.price_bands.all())
    if not bands:
        return None
    return min(b.fee_min for b in bands), max(b.fee_max for b in bands)


def _clamp(st: ServiceType, fee_min: Decimal, fee_max: Decimal) -> tuple[Decimal, Decimal]:
    band = _band(st)
    if band:
        fee_min = max(fee_min, band[0])
        fee_max = min(fee_max, band[1])
    return fee_min, max(fee_max, fee_min)


def _rate(rule: FeeRule, value: float) -> Decimal:
    if rule.basis == "percent":
        return Decimal(str(round(value, 2)))
    if rule.basis == "per_unit":
        return Decimal(str(round(value, 1 if value < 10 else 0)))
    return _round_to(value, 1000)


def _initial_fee(rng: random.Random, rule: FeeRule, st: ServiceType) -> services.FeeInput:
    fee_min = _round_to(rng.uniform(*rule.fee_min), 500)
    fee_max = _round_to(rng.uniform(*rule.fee_max), 10_000 if rule.fee_max[0] >= 100_000 else 1_000)
    fee_min, fee_max = _clamp(st, fee_min, fee_max)
    rate = _rate(rule, rng.uniform(*rule.rate))
    if rule.basis == "fixed":
        rate = min(max(rate, fee_min), fee_max)
    return services.FeeInput(basis=rule.basis, rate=rate, unit=rule.unit, fee_min=fee_min, fee_max=fee_max)


def _raised_fee(current: FeeSchedule, factor: Decimal, st: ServiceType, note: str) -> services.FeeInput:
    if current.basis == "fixed":
        rate = _step(current.rate * factor, 1000)
    elif current.rate >= 100:
        rate = _step(current.rate * factor, 1)
    else:
        rate = (current.rate * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    fee_min = _step(current.fee_min * factor, 100)
    fee_max = _step(current.fee_max * factor, 1000)
    fee_min, fee_max = _clamp(st, fee_min, fee_max)
    if current.basis == "fixed":
        rate = min(max(rate, fee_min), fee_max)
    return services.FeeInput(
        basis=current.basis, rate=rate, unit=current.unit, fee_min=fee_min, fee_max=fee_max, note=note
    )


def _fee_text(fee: FeeSchedule) -> str:
    if fee.basis == "percent":
        head = f"{fee.rate.normalize()}%"
    elif fee.basis == "per_unit":
        head = f"{fee.rate.normalize()} {fee.unit}"
    else:
        head = f"{fee.rate.quantize(Decimal(1))} 元"
    return f"{head}（{fee.fee_min.quantize(Decimal(1))}–{fee.fee_max.quantize(Decimal(1))} 元）"
