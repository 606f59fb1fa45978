"""A large synthetic market for the monitoring benchmark (``bench.monitor``).

``build_large_market()`` writes firms, owners, projects and everything that follows from them
straight into the tables: with ``COPY`` (psycopg 3 ``cursor.copy``) on PostgreSQL, with
``executemany`` elsewhere (small scales only). Ids are assigned here, above any existing row,
and the sequences are moved past them at the end; every constraint and foreign key stays on.

The market is the seeded catalogue (departments, approval items, service types, price bands,
allowed qualifications) plus, for ``firms`` intermediaries and ``projects`` projects over the
last two years:

- intermediaries with valid USCCs, a legal representative, shareholders (people, sometimes a
  firm), practitioners, contacts, offers for one to four service types of their line of work
  and fee schedules (a few raised later, a few capped too low);
- owners (one per ten firms) with a user each, projects across the six methods and every
  state of the workflow, published over two years, with working-day deadlines from the
  platform's calendar; about ``applications / projects`` applications per project (direct
  selection has one) with sealed or unsealed quotes, states and client IPs; selections with
  winners, contracts, amendments, deliveries, acceptances, ledger payments, walk-aways,
  relaunches, complaints and reports filed with approval cases;
- department staff and relatives, declared ties;
- a sprinkling of planted violations (about 1% of projects) for every rule category: favoured
  firms of some owners, captive suppliers, bid-rotation rings sharing a shareholder, shared
  network addresses, quotes outside bands or schedules, contracts above quotes, payments
  before acceptance, untied charges, late steps, staff and affiliate ties, off-platform
  reports. Natural noise (single applicants, identical round quotes, outliers) comes on top.

Everything derives from ``seed``: two builds with the same arguments write the same rows
(dates are relative to the moment of the build).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models
from django.utils import timezone

# Shares of the methods among projects (DESIGN §3.5).
METHODS = [
    ("direct", 0.15),
    ("random_draw", 0.22),
    ("lowest_price", 0.28),
    ("reference_price", 0.15),
    ("credit_preference", 0.10),
    ("scored_comparison", 0.10),
]
DISCRETIONARY = ("credit_preference", "scored_comparison")
PRICE_ONLY = ("lowest_price", "reference_price")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力鹏飞斌宇浩凯健俊帆志刚海峰晨"
DISTRICTS = [
    ("市中区", "02"),
    ("薛城区", "03"),
    ("峄城区", "04"),
    ("台儿庄区", "05"),
    ("山亭区", "06"),
    ("滕州市", "81"),
]
ROADS = "光明大道 君山路 文化路 青檀路 振兴路 建设路 龙头路 解放路 华山路 长白山路 黄河路 泰山路 学院路 善国路".split()
BRANDS = "鲁信诚正恒达中鼎华泰金源汇通联创博远卓越天宇宏图瑞丰新元晟嘉永安同济明德弘毅德润".replace(" ", "")
TRADES = [
    "工程咨询",
    "环境科技",
    "测绘",
    "安全技术",
    "检测",
    "评估",
    "规划设计",
    "造价咨询",
    "项目管理",
    "技术服务",
]
IP_BLOCKS = ["60.214", "60.216", "119.185", "119.186", "221.0", "27.223", "112.234", "123.132"]
CHUNK = 5_000  # projects generated and written per batch


def _local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


class _Workdays:
    """The platform's working-day calendar (``marketplace.core.workdays``) over a date range,
    as a sorted list, so adding or counting working days is a lookup."""

    def __init__(self, start: date, end: date):
        from marketplace.core.workdays import is_working_day

        self.start = start
        self.days: list[date] = []
        day = start
        while day <= end:
            if is_working_day(day):
                self.days.append(day)
            day += timedelta(days=1)

    def add(self, start: date, n: int) -> date:
        """``n`` working days after ``start`` (``start`` not counted)."""
        index = bisect_right(self.days, start) + n - 1
        return self.days[min(index, len(self.days) - 1)]

    def between(self, start: date, end: date) -> int:
        return max(0, bisect_right(self.days, end) - bisect_right(self.days, start))


class _Table:
    """Rows for one model: ``columns`` are given per row, every other concrete field gets its
    default (``''`` for text, the build time for ``auto_now`` dates). JSON values are Python."""

    def __init__(self, model: type[models.Model], columns: list[str], now: datetime):
        self.model = model
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(columns) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__}: unknown columns {sorted(unknown)}")
        self.columns = list(columns)
        self.extra: list[str] = []
        self.extra_values: list[Any] = []
        for name, f in fields.items():
            if name in columns:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value: Any = now
            else:
                value = f.get_default()
            if value is None and not f.null:
                raise ValueError(f"{model.__name__}.{name} needs a value")
            self.extra.append(name)
            self.extra_values.append(value)
        self.all_columns = self.columns + self.extra
        self.json = {
            i for i, name in enumerate(self.all_columns) if isinstance(fields[name], models.JSONField)
        }
        self.fields = [fields[name] for name in self.all_columns]
        self.rows: list[tuple] = []
        self.written = 0
        self.next_id = 0
        self.first_id = 1

    def add(self, *values: Any) -> None:
        self.rows.append(values)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def flush(self) -> None:
        if not self.rows:
            return
        table = connection.ops.quote_name(self.model._meta.db_table)
        names = ", ".join(
            connection.ops.quote_name(self.model._meta.get_field(n).column) for n in self.all_columns
        )
        extra = tuple(self.extra_values)
        if connection.vendor == "postgresql":
            json_at = sorted(self.json)
            with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in self.rows:
                    full = row + extra
                    if json_at:
                        full = list(full)
                        for i in json_at:
                            full[i] = json.dumps(full[i], ensure_ascii=False)
                    copy.write_row(full)
        else:
            marks = ", ".join(["%s"] * len(self.all_columns))
            prepared = [
                [f.get_db_prep_save(v, connection) for f, v in zip(self.fields, row + extra, strict=True)]
                for row in self.rows
            ]
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", prepared)  # noqa: S608
        self.written += len(self.rows)
        self.rows = []


def _max_id(model: type[models.Model]) -> int:
    return model.objects.aggregate(m=models.Max("pk"))["m"] or 0


def _person_hash(n: int) -> str:
    """A person's keyed ID hash stands in as a deterministic SHA-256 (only equality matters)."""
    return hashlib.sha256(f"bench-person-{n}".encode()).hexdigest()


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")


def _money(value: float) -> Decimal:
    """A quote as firms write it: whole tens of yuan."""
    return Decimal(max(10, int(round(value / 10.0)) * 10))


def _usccs(prefix: str, serial_base: int) -> Callable[[int], str]:
    """Valid USCCs: prefix, Zaozhuang area and district, a serial, the computed check character."""
    from stdnum.cn import uscc

    def make(n: int) -> str:
        district = DISTRICTS[n % len(DISTRICTS)][1]
        body = f"{prefix}3704{district}{serial_base + n:09d}"[:17]
        return body + uscc.calc_check_digit(body)

    return make


class _Builder:
    def __init__(self, firms: int, projects: int, applications: int, seed: int):
        self.n_firms = max(20, firms)
        self.n_projects = max(50, projects)
        self.n_applications = max(self.n_projects, applications)
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.tz = _local_tz()
        self.today = timezone.localdate(self.now)
        self.start = self.today - timedelta(days=730)
        self.cal = _Workdays(self.start - timedelta(days=30), self.today + timedelta(days=400))
        self.counts: dict[str, int] = defaultdict(int)
        self.planted: dict[str, int] = defaultdict(int)
        self._tables: dict[type[models.Model], _Table] = {}

    # --- plumbing ------------------------------------------------------------------------------

    def table(self, model: type[models.Model], columns: list[str]) -> _Table:
        t = _Table(model, ["id", *columns], self.now)
        t.next_id = _max_id(model)
        t.first_id = t.next_id + 1
        self._tables[model] = t
        return t

    def flush(self, *tables: _Table) -> None:
        for t in tables:
            t.flush()

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    def ip(self) -> str:
        r = self.rng
        return f"{r.choice(IP_BLOCKS)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    # --- reference data ------------------------------------------------------------------------

    def load_catalog(self) -> None:
        from marketplace.catalog.models import (
            AffiliatedEntity,
            ApprovalItem,
            Department,
            PriceBand,
            QualificationLevel,
            ServiceType,
            ServiceTypeQualification,
        )

        r = self.rng
        self.types = list(
            ServiceType.objects.filter(is_active=True)
            .order_by("pk")
            .values("id", "code", "name_zh", "category_id", "pricing_regime", "standard_practitioners")
        )
        if not self.types:
            raise RuntimeError("the catalogue is empty: run the migrations (they seed it)")
        for st in self.types:
            st["base"] = r.lognormvariate(math.log(25_000), 0.6)
            st["weight"] = r.paretovariate(1.2)
        self.type_by_id = {st["id"]: st for st in self.types}
        self.types_by_category: dict[int, list[int]] = defaultdict(list)
        for st in self.types:
            self.types_by_category[st["category_id"]].append(st["id"])
        self.bands: dict[int, list[tuple]] = defaultdict(list)
        for b in PriceBand.objects.order_by("service_type_id", "scale_from").values_list(
            "service_type_id", "scale_from", "scale_to", "fee_min", "fee_max"
        ):
            self.bands[b[0]].append(b[1:])
        levels: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for qt, pk, rank in QualificationLevel.objects.values_list("qualification_type_id", "pk", "rank"):
            levels[qt].append((pk, rank))
        self.levels = levels
        self.allowed: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
        for st, qt, rank in ServiceTypeQualification.objects.values_list(
            "service_type_id", "qualification_type_id", "standard_level__rank"
        ):
            self.allowed[st].append((qt, rank))
        self.all_qualification_types = sorted(levels) or sorted(
            {qt for v in self.allowed.values() for qt, _ in v}
        )
        self.departments = list(Department.objects.order_by("pk").values("id", "name_zh", "phone", "address"))
        self.affiliates = list(
            AffiliatedEntity.objects.order_by("pk").values("id", "department_id", "uscc", "phone", "name")
        )
        self.items_by_type: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for item_id, department_id, st in ApprovalItem.objects.values_list(
            "pk", "department_id", "service_types"
        ):
            if st is not None:
                self.items_by_type[st].append((item_id, department_id))

    # --- parties -------------------------------------------------------------------------------

    def build_parties(self) -> None:
        from marketplace.accounts.models import Membership, Organisation, Role, User
        from marketplace.providers.models import (
            DeclaredTie,
            FeeSchedule,
            Intermediary,
            Offer,
            Practitioner,
            Shareholder,
        )

        r = self.rng
        orgs = self.table(Organisation, ["name", "kind", "uscc", "is_active", "created_at"])
        users = self.table(User, ["username", "password", "full_name", "date_joined", "is_active"])
        members = self.table(Membership, ["user_id", "organisation_id", "role", "is_manager", "created_at"])
        firms = self.table(
            Intermediary,
            [
                "organisation_id",
                "name",
                "uscc",
                "legal_representative",
                "legal_representative_id_hash",
                "address",
                "contact_name",
                "phone",
                "email",
                "status",
                "commitment_signed_at",
                "commitment_signed_by",
                "commitment_version",
                "listed_at",
                "reviewed_at",
                "credit_score",
                "credit_grade",
            ],
        )
        holders = self.table(Shareholder, ["intermediary_id", "kind", "name", "id_hash", "uscc", "share"])
        pracs = self.table(
            Practitioner,
            [
                "intermediary_id",
                "name",
                "id_hash",
                "id_last4",
                "title",
                "certificate_number",
                "certificate",
                "insured_since",
                "social_insurance_proof",
            ],
        )
        offers = self.table(
            Offer, ["intermediary_id", "service_type_id", "description", "included", "service_days"]
        )
        fees = self.table(
            FeeSchedule,
            ["offer_id", "version", "basis", "rate", "unit", "fee_min", "fee_max", "note", "effective_from"],
        )
        self.ties = self.table(
            DeclaredTie,
            ["intermediary_id", "department_id", "kind", "person_name", "ended_on", "description"],
        )
        firm_uscc = _usccs("91", 800_000_000)
        owner_uscc = _usccs("12", 700_000_000)
        self.person = 0
        categories = sorted(self.types_by_category)
        cat_weights = [
            sum(self.type_by_id[t]["weight"] for t in self.types_by_category[c]) for c in categories
        ]
        self.firm_info: dict[int, dict[str, Any]] = {}
        pools: dict[int, list[tuple[int, float]]] = defaultdict(list)
        lr_people: list[tuple[int, str]] = []
        # Affiliated institutions with a USCC registered as intermediaries (RP06 look-alikes and cases).
        affiliate_firms = [a for a in self.affiliates if a["uscc"]][: max(1, self.n_firms // 5000)]
        self.fee_max_of: dict[tuple[int, int], Decimal] = {}
        for i in range(self.n_firms):
            org_id, user_id, firm_id = orgs.new_id(), users.new_id(), firms.new_id()
            district, _code = DISTRICTS[i % len(DISTRICTS)]
            if i < len(affiliate_firms):
                aff = affiliate_firms[i]
                uscc, name = aff["uscc"], aff["name"]
                self.planted["RP06 affiliates registered as firms"] += 1
            else:
                uscc = firm_uscc(i)
                name = f"枣庄{r.choice(BRANDS)}{r.choice(BRANDS)}{r.choice(TRADES)}有限公司"
            listed_at = self.at(self.start - timedelta(days=r.randint(30, 900)), 10)
            status = r.choices(["listed", "listed_under_review", "delisted"], [0.95, 0.03, 0.02])[0]
            created = listed_at - timedelta(days=3)
            orgs.add(org_id, name, Role.INTERMEDIARY, uscc, True, created)
            users.add(user_id, f"mkt-firm-{firm_id}", "!", _name(r), created, True)
            members.add(members.new_id(), user_id, org_id, Role.INTERMEDIARY, True, created)
            # Some people run two or three firms (sibling firms share a legal representative).
            if lr_people and r.random() < 0.01:
                lr_n, lr_name = r.choice(lr_people)
            else:
                self.person += 1
                lr_n, lr_name = self.person, _name(r)
                lr_people.append((lr_n, lr_name))
            lr_hash = _person_hash(lr_n)
            phone = f"0632-{r.randint(2_000_000, 8_999_999)}"
            address = f"枣庄市{district}{r.choice(ROADS)}{r.randint(1, 999)}号{r.randint(1, 30)}{r.randint(1, 40):02d}室"
            credit = Decimal(r.randint(600, 1000)) / 10
            firms.add(
                firm_id,
                org_id,
                name,
                uscc,
                lr_name,
                lr_hash,
                address,
                _name(r),
                phone,
                f"office{firm_id}@firm{firm_id}.example.cn",
                status,
                listed_at - timedelta(days=1),
                lr_name,
                "2026-1",
                listed_at,
                listed_at,
                credit,
                "A" if credit >= 90 else "B" if credit >= 75 else "C",
            )
            # Shareholders: the legal representative, often a partner, sometimes a holding firm.
            share = Decimal(r.choice([100, 100, 80, 70, 60, 51]))
            firm_share = Decimal(0)
            if i > 10 and r.random() < 0.05:
                firm_share = Decimal(r.choice([20, 30, 40]))
                other = r.randrange(max(1, i - 1))
                holders.add(holders.new_id(), firm_id, "firm", "持股企业", "", firm_uscc(other), firm_share)
                share = min(share, Decimal(100) - firm_share)
            holders.add(holders.new_id(), firm_id, "person", lr_name, lr_hash, "", share)
            rest = Decimal(100) - share - firm_share
            if rest > 0:
                self.person += 1
                holders.add(
                    holders.new_id(), firm_id, "person", _name(r), _person_hash(self.person), "", rest
                )
            people = [lr_n]
            for k in range(r.randint(2, 5)):
                self.person += 1
                people.append(self.person)
                pracs.add(
                    pracs.new_id(),
                    firm_id,
                    _name(r),
                    _person_hash(self.person),
                    f"{self.person % 10000:04d}",
                    r.choice(
                        [
                            "高级工程师",
                            "工程师",
                            "注册测绘师",
                            "注册安全工程师",
                            "注册会计师",
                            "一级造价工程师",
                        ]
                    ),
                    f"PRAC-{firm_id}-{k}",
                    "providers/practitioner/bench.pdf",
                    (listed_at - timedelta(days=r.randint(100, 2000))).date(),
                    "providers/practitioner/bench-si.pdf",
                )
            # Offers: one to four service types of the firm's line of work.
            category = r.choices(categories, cat_weights)[0]
            own = self.types_by_category[category]
            chosen = set(r.sample(own, min(len(own), r.choice([1, 1, 2, 2, 3, 4]))))
            if r.random() < 0.2:
                chosen.add(r.choice(self.types)["id"])
            activity = min(r.paretovariate(2.5), 12.0)
            for st_id in sorted(chosen):
                st = self.type_by_id[st_id]
                offer_id = offers.new_id()
                offers.add(
                    offer_id,
                    firm_id,
                    st_id,
                    f"{name}提供{st['name_zh']}服务。",
                    "现场踏勘、编制报告、评审修改。",
                    r.randint(10, 40),
                )
                fee_max = _money(st["base"] * 40)
                if r.random() < 0.0005:
                    fee_max = _money(st["base"] * 0.3)  # a schedule capped below what it charges (FE02)
                    self.planted["FE02 schedules capped below quotes"] += 1
                fee_min = _money(st["base"] * 0.1)
                v1_from = listed_at
                fees.add(
                    fees.new_id(),
                    offer_id,
                    1,
                    "percent",
                    Decimal("0.3500"),
                    "",
                    fee_min,
                    fee_max,
                    "首次公示",
                    v1_from,
                )
                self.fee_max_of[(firm_id, st_id)] = fee_max
                if r.random() < 0.05:
                    raise_it = r.random() < 0.3
                    factor = Decimal("1.15") if raise_it else Decimal("0.95")
                    when = self.at(self.start + timedelta(days=r.randint(0, 720)), 9)
                    new_max = _money(float(fee_max * factor))
                    fees.add(
                        fees.new_id(),
                        offer_id,
                        2,
                        "percent",
                        Decimal("0.3500"),
                        "",
                        fee_min,
                        new_max,
                        "调整收费标准",
                        when,
                    )
                    if when <= self.now:
                        self.fee_max_of[(firm_id, st_id)] = new_max
                if status == "listed":
                    pools[st_id].append((firm_id, activity))
            self.firm_info[firm_id] = {
                "name": name,
                "uscc": uscc,
                "user": user_id,
                "ip": self.ip(),
                "lr": lr_hash,
                "people": people,
                "types": sorted(chosen),
                "listed": status == "listed",
            }
            if r.random() < 0.01:
                self.ties.add(
                    self.ties.new_id(),
                    firm_id,
                    r.choice(self.departments)["id"],
                    "former_staff",
                    _name(r),
                    self.start - timedelta(days=r.randint(800, 3000)),
                    "股东曾在该部门任职，已离职多年。",
                )
            if i % 2000 == 1999:
                self.flush(orgs, users, members, firms)
        self.flush(orgs, users, members, firms, holders, pracs, offers, fees)
        # Offers point at their current fee version.
        with connection.cursor() as cursor:
            offer_t = connection.ops.quote_name(Offer._meta.db_table)
            fee_t = connection.ops.quote_name(FeeSchedule._meta.db_table)
            cursor.execute(
                f"UPDATE {offer_t} SET current_fee_id = ("  # noqa: S608
                f"SELECT f.id FROM {fee_t} f WHERE f.offer_id = {offer_t}.id AND f.effective_from <= %s "
                "ORDER BY f.version DESC LIMIT 1) WHERE id >= %s",
                [self.now, offers.first_id],
            )
        self.firm_ids = sorted(self.firm_info)
        self.listed_ids = [f for f in self.firm_ids if self.firm_info[f]["listed"]]

        # Owners: one per ten firms, a few of them big.
        self.owners: list[dict[str, Any]] = []
        for i in range(max(10, self.n_firms // 10)):
            org_id, user_id = orgs.new_id(), users.new_id()
            kind = r.random()
            name = (
                f"枣庄市{r.choice(DISTRICTS)[0]}{r.choice(['城建', '交通', '水务', '文旅', '教育', '卫健'])}"
                f"{'投资集团有限公司' if kind < 0.5 else '发展中心'}{i:04d}"
            )
            created = self.at(self.start - timedelta(days=r.randint(10, 400)), 9)
            orgs.add(org_id, name, Role.OWNER, owner_uscc(i), True, created)
            users.add(user_id, f"mkt-owner-{org_id}", "!", _name(r), created, True)
            members.add(members.new_id(), user_id, org_id, Role.OWNER, True, created)
            self.owners.append(
                {
                    "id": org_id,
                    "user": user_id,
                    "weight": r.paretovariate(1.3),
                    "favourite": None,
                    "name": name,
                }
            )
        self.flush(orgs, users, members)
        self.owner_cum = []
        total = 0.0
        for o in self.owners:
            total += o["weight"]
            self.owner_cum.append(total)
        # Favoured firms: some big owners keep picking one firm (FA02, FA09); half of those firms
        # work for nobody else (FA08 captive suppliers) and are kept out of the open pools.
        big = sorted(self.owners, key=lambda o: -o["weight"])[: max(2, len(self.owners) // 10)]
        self.captive: set[int] = set()
        for owner in r.sample(big, max(1, len(self.owners) // 100)):
            firm = r.choice(self.listed_ids)
            owner["favourite"] = firm
            if r.random() < 0.5:
                self.captive.add(firm)
            self.planted["FA02/FA09 owners with a favoured firm"] += 1
        self.planted["FA08 captive firms"] = len(self.captive)
        # The open pool of each service type, weighted by how active each firm is.
        self.pools: dict[int, tuple[list[int], list[float]]] = {}
        for st_id, entries in pools.items():
            ids, cum, total = [], [], 0.0
            for firm, weight in entries:
                if firm in self.captive:
                    continue
                total += weight
                ids.append(firm)
                cum.append(total)
            if ids:
                self.pools[st_id] = (ids, cum)
        self.type_ids_with_pool = sorted(st for st in self.pools if len(self.pools[st][0]) >= 3)
        self.type_weights = [self.type_by_id[st]["weight"] for st in self.type_ids_with_pool]
        # Bid-rotation rings: three or four firms of one service type sharing a shareholder.
        self.rings: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for _ in range(max(1, self.n_projects // 5000)):
            st_id = r.choices(self.type_ids_with_pool, self.type_weights)[0]
            ids = self.pools[st_id][0]
            if len(ids) < 8:
                continue
            ring = r.sample(ids, r.choice([3, 4]))
            self.person += 1
            boss = _person_hash(self.person)
            boss_name = _name(r)
            for firm in ring:
                holders.add(holders.new_id(), firm, "person", boss_name, boss, "", Decimal("10"))
            self.rings[st_id].append({"firms": ring, "turn": 0, "left": r.randint(5, 8)})
            self.planted["CO05 bid-rotation rings (shared shareholder, CO03)"] += 1
        self.flush(holders)
        self.counts["intermediaries"] = firms.written
        self.counts["owners"] = len(self.owners)
        self.counts["shareholders"] = holders.written
        self.counts["practitioners"] = pracs.written
        self.counts["offers"] = offers.written
        self.counts["fee schedule versions"] = fees.written

    # --- projects ------------------------------------------------------------------------------

    def build_projects(self) -> None:
        from billing.models import LedgerEntry
        from marketplace.oversight.models import Complaint, FiledReport
        from marketplace.procurement.models import (
            Amendment,
            Application,
            Contract,
            Delivery,
            Project,
            Requirement,
            Selection,
            WalkAway,
        )

        self.p = self.table(
            Project,
            [
                "public_number",
                "owner_id",
                "created_by_id",
                "title",
                "service_type_id",
                "investment_project_code",
                "approval_case_number",
                "approval_item_id",
                "department_id",
                "funding_source",
                "scale",
                "price_floor",
                "price_ceiling",
                "service_content",
                "service_days",
                "required_practitioners",
                "method",
                "method_reason",
                "price_weight",
                "registration_deadline",
                "selection_time",
                "status",
                "published_at",
                "secret_commitment",
                "relaunch_of_id",
                "result_published_at",
                "publicity_ends_on",
                "contract_due",
                "delivery_due",
                "acceptance_due",
                "failure_reason",
                "created_at",
                "updated_at",
            ],
        )
        self.req = self.table(Requirement, ["project_id", "qualification_type_id", "min_level_id"])
        self.app = self.table(
            Application,
            [
                "project_id",
                "intermediary_id",
                "submitted_by_id",
                "submitted_at",
                "client_ip",
                "sealed_quote",
                "quote_amount",
                "state",
                "disqualification_reason",
                "withdrawn_at",
                "credit_score_at_close",
            ],
        )
        self.sel = self.table(
            Selection,
            [
                "project_id",
                "round",
                "method",
                "performed_at",
                "candidates",
                "details",
                "winner_id",
                "reason",
                "annulled",
            ],
        )
        self.con = self.table(
            Contract,
            [
                "project_id",
                "intermediary_id",
                "amount",
                "document",
                "uploaded_by_org_id",
                "uploaded_at",
                "confirmed_at",
                "pay_after_acceptance",
            ],
        )
        self.amd = self.table(
            Amendment, ["contract_id", "old_amount", "new_amount", "reason", "created_at", "created_by_id"]
        )
        self.dlv = self.table(
            Delivery,
            ["project_id", "document", "note", "delivered_at", "decision", "decision_reason", "decided_at"],
        )
        self.walk = self.table(WalkAway, ["project_id", "intermediary_id", "reason", "recorded_at"])
        self.led = self.table(
            LedgerEntry,
            [
                "contract_id",
                "kind",
                "amount",
                "milestone",
                "occurred_at",
                "reference",
                "intermediary_id",
                "owner_id",
            ],
        )
        self.cmp = self.table(
            Complaint,
            [
                "project_id",
                "intermediary_id",
                "department_id",
                "alleges_designation",
                "text",
                "contact",
                "filed_at",
            ],
        )
        self.rep = self.table(
            FiledReport,
            [
                "department_id",
                "approval_case_number",
                "investment_project_code",
                "service_type_code",
                "intermediary_uscc",
                "filed_on",
                "received_at",
            ],
        )
        chunk_tables = [
            self.p,
            self.req,
            self.app,
            self.sel,
            self.con,
            self.amd,
            self.dlv,
            self.walk,
            self.led,
            self.cmp,
            self.rep,
        ]
        r = self.rng
        competitive = self.n_projects * (1 - METHODS[0][1])
        self.mean_apps = max(1.5, (self.n_applications - self.n_projects * METHODS[0][1]) / competitive)
        self.flaky = set(r.sample(self.listed_ids, max(1, len(self.listed_ids) // 2000)))
        self.planted["PR06 firms that walk away often"] = len(self.flaky)
        self.awards: list[tuple[int, int, int | None, date]] = []  # project, firm, department, day
        self.relaunch_queue: list[tuple[dict[str, Any], int]] = []
        days = 730
        made = 0
        # Publication days spread evenly over two years; relaunches come on top, in order.
        while made < self.n_projects:
            if self.relaunch_queue and r.random() < 0.5:
                spec, depth = self.relaunch_queue.pop(0)
                made += self.project(spec=spec, depth=depth)
            else:
                published = self.start + timedelta(days=int(days * made / self.n_projects))
                made += self.project(published=published)
            if self.p.next_id % CHUNK == 0:
                self.flush(*chunk_tables)
        self.flush(*chunk_tables)
        for name, t in [
            ("projects", self.p),
            ("requirements", self.req),
            ("applications", self.app),
            ("selections", self.sel),
            ("contracts", self.con),
            ("amendments", self.amd),
            ("deliveries", self.dlv),
            ("walk-aways", self.walk),
            ("ledger entries", self.led),
            ("complaints", self.cmp),
            ("filed reports", self.rep),
        ]:
            self.counts[name] = t.written

    def app_mean(self) -> float:
        """The mean number of applicants to aim for, nudged so the total reaches the target
        (duplicates drawn from a small pool and applications after today fall out)."""
        made = self.p.next_id - self.p.first_id + 1
        expected = 1.03 * self.n_applications * made / self.n_projects
        behind = (expected - self.app.next_id + self.app.first_id - 1) / max(1.0, expected)
        return self.mean_apps * min(2.0, max(0.5, 1.0 + 20.0 * behind))

    def quote_range(
        self, st: dict[str, Any], scale: float, method: str, funding: str
    ) -> tuple[Decimal, Decimal, bool]:
        """The project's price floor and ceiling (and whether a government band applies)."""
        r = self.rng
        for lo, hi, fee_min, fee_max in self.bands.get(st["id"], []):
            if float(lo) <= scale and (hi is None or scale < float(hi)):
                return Decimal(fee_min), Decimal(fee_max), True
        estimate = st["base"] * (scale / 500.0) ** 0.45 * r.uniform(0.8, 1.25)
        estimate = max(estimate, 3000.0)
        if method == "direct":
            limit = settings.DIRECT_SELECTION_THRESHOLDS[funding]
            if estimate >= limit * 0.95:
                estimate = limit * r.uniform(0.3, 0.9)
            return _money(estimate * 0.8), _money(estimate), False
        if method == "random_draw":
            fixed = _money(estimate)
            return fixed, fixed, False
        return _money(estimate * 0.6), _money(estimate * 1.1), False

    def pick_firms(self, st_id: int, k: int, exclude: Iterable[int] = ()) -> list[int]:
        ids, cum = self.pools[st_id]
        chosen: list[int] = []
        seen = set(exclude)
        for f in self.rng.choices(ids, cum_weights=cum, k=k * 2 + 2):
            if f not in seen:
                seen.add(f)
                chosen.append(f)
                if len(chosen) == k:
                    break
        return chosen

    def project(
        self, published: date | None = None, spec: dict[str, Any] | None = None, depth: int = 0
    ) -> int:
        """One project with everything that follows from it; returns 1."""
        r = self.rng
        cal = self.cal
        p = self.p
        pid = p.new_id()
        favourite = None
        ring = None
        if spec is not None:
            owner, st_id, method, funding, scale = (
                spec["owner"],
                spec["st"],
                spec["method"],
                spec["funding"],
                spec["scale"],
            )
            published = spec["published"]
            relaunch_of = spec["pid"]
            item = spec["item"]
        else:
            relaunch_of = None
            owner = self.owners[bisect_right(self.owner_cum, r.random() * self.owner_cum[-1])]
            funding = "fiscal" if r.random() < 0.6 else "private"
            method = r.choices([m for m, _ in METHODS], [w for _, w in METHODS])[0]
            scale = 10 ** r.uniform(1.0, 4.7)
            if owner["favourite"] is not None and r.random() < 0.35:
                favourite = owner["favourite"]
                st_id = r.choice(self.firm_info[favourite]["types"])
                method = "direct" if r.random() < 0.6 else r.choice(DISCRETIONARY)
                if st_id not in self.pools:
                    favourite, st_id = None, r.choices(self.type_ids_with_pool, self.type_weights)[0]
            else:
                st_id = r.choices(self.type_ids_with_pool, self.type_weights)[0]
            recent = published >= self.today - timedelta(days=300)
            if recent and method in PRICE_ONLY and self.rings.get(st_id) and r.random() < 0.25:
                ring = next((g for g in self.rings[st_id] if g["left"] > 0), None)
            items = self.items_by_type.get(st_id)
            item = r.choice(items) if items and r.random() < 0.8 else None
        st = self.type_by_id[st_id]
        floor, ceiling, banded = self.quote_range(st, scale, method, funding)
        if method == "direct" and banded and ceiling >= settings.DIRECT_SELECTION_THRESHOLDS[funding]:
            method = "lowest_price"
        department = item[1] if item else (r.choice(self.departments)["id"] if r.random() < 0.5 else None)
        pub_at = self.at(published, r.randint(9, 16), r.choice([0, 15, 30, 45]))
        short = r.random() < 0.001
        if short:
            self.planted["PR01 short registration periods"] += 1
        deadline_day = cal.add(published, 3 if short else r.randint(5, 8))
        deadline = self.at(deadline_day, 17)
        selection_day = cal.add(deadline_day, 1)
        selection_at = self.at(selection_day, 9, 30)
        draft = spec is None and published > self.today - timedelta(days=20) and r.random() < 0.3
        case = ""
        invest = ""
        if item and r.random() < 0.5:
            case = f"ZZSP{published:%Y%m%d}{pid:07d}"
            invest = f"2024-370400-{pid % 100:02d}-01-{pid:06d}"
        content = f"为{owner['name'][:12]}项目提供{st['name_zh']}服务，按规范编制成果并通过评审。"
        if r.random() < 0.0005:
            content += "仅限本市注册企业报名。"
            self.planted["FA04 regional wording"] += 1
        practitioners = r.randint(0, st["standard_practitioners"])
        if r.random() < 0.0005:
            practitioners = st["standard_practitioners"] + 2
            self.planted["FA04 excess practitioners"] += 1
        row = {
            "status": "draft" if draft else "published",
            "published_at": None if draft else pub_at,
            "result_published_at": None,
            "publicity_ends_on": None,
            "contract_due": None,
            "delivery_due": None,
            "acceptance_due": None,
            "failure_reason": "",
        }
        if draft:
            self._write_project(
                pid,
                row,
                owner,
                st,
                case,
                invest,
                item,
                department,
                funding,
                scale,
                floor,
                ceiling,
                content,
                practitioners,
                method,
                deadline,
                selection_at,
                relaunch_of,
                pub_at,
            )
            return 1
        self._requirements(pid, st_id)
        # Applicants.
        if favourite is not None:
            firms = [favourite]
            if method != "direct":
                firms += self.pick_firms(st_id, max(1, round(self.mean_apps) - 1), exclude=firms)
        elif ring is not None:
            firms = list(ring["firms"]) + self.pick_firms(st_id, r.randint(0, 2), exclude=ring["firms"])
        elif method == "direct":
            firms = self.pick_firms(st_id, 1)
        else:
            k = max(1, min(25, 1 + int(r.gammavariate(2.5, (self.app_mean() - 0.5) / 2.5))))
            firms = self.pick_firms(st_id, k)
        r.shuffle(firms)
        sealed = self.now < deadline
        cancelled = not sealed and spec is None and r.random() < 0.015
        closed = not sealed and not cancelled
        apps: list[dict[str, Any]] = []
        window = max(60, int((deadline - pub_at).total_seconds()))
        shared_ip = closed and len(firms) >= 2 and r.random() < 0.002
        if shared_ip:
            self.planted["CO03 applicants sharing a network address"] += 1
        for n, firm in enumerate(firms):
            info = self.firm_info[firm]
            submitted = pub_at + timedelta(seconds=r.randint(60, window - 30))
            if submitted > self.now:
                continue
            late = closed and r.random() < 0.0005
            if late:
                submitted = min(self.now, deadline + timedelta(minutes=r.randint(3, 300)))
                self.planted["PR02 late applications accepted"] += 1
            ip = info["ip"] if r.random() < 0.85 else self.ip()
            if shared_ip and n == 1:
                ip = apps[0]["ip"]
            quote = self.quote(floor, ceiling, method)
            if (firm, st_id) in self.fee_max_of and r.random() < 0.0005 and method != "random_draw":
                quote = self.fee_max_of[(firm, st_id)] + Decimal(1000)
                self.planted["FE02 quotes above own schedule"] += 1
            if banded and r.random() < 0.005:
                quote = _money(float(ceiling) * 1.3)
                self.planted["FE01 quotes outside the band"] += 1
            state = "submitted"
            if closed:
                state = r.choices(["valid", "disqualified", "withdrawn"], [0.93, 0.03, 0.04])[0]
                if method == "direct" or firm == favourite:
                    state = "valid"
            elif r.random() < 0.03:
                state = "withdrawn"
            apps.append(
                {
                    "id": self.app.new_id(),
                    "firm": firm,
                    "at": submitted,
                    "ip": ip,
                    "quote": quote,
                    "state": state,
                }
            )
        valid = [a for a in apps if a["state"] == "valid"]
        # Ring members (and favoured firms) get their turn: the chosen one quotes lowest.
        chosen_winner = None
        if ring is not None and valid:
            members = [a for a in valid if a["firm"] in ring["firms"]]
            if len(members) >= 2:
                turn = members[ring["turn"] % len(members)]
                ring["turn"] += 1
                ring["left"] -= 1
                turn["quote"] = _money(float(min(a["quote"] for a in valid)) * 0.99)
                if turn["quote"] < floor:
                    turn["quote"] = floor
                chosen_winner = turn
        if favourite is not None:
            chosen_winner = next((a for a in valid if a["firm"] == favourite), None)
        status = "published" if sealed else "cancelled" if cancelled else "registration_closed"
        winner = None
        forced_fail = spec is not None and spec.get("fail_again", 0) > 0
        if closed and self.now >= selection_at:
            if valid and not forced_fail and r.random() > 0.01:
                winner = chosen_winner or self.pick_winner(method, valid)
            else:
                status = "failed"
                row["failure_reason"] = (
                    "有效报名不足，选取失败。" if not valid else "选取过程中发现问题，依法终止。"
                )
        for a in apps:
            info = self.firm_info[a["firm"]]
            judged = a["state"] in ("valid", "disqualified")
            self.app.add(
                a["id"],
                pid,
                a["firm"],
                info["user"],
                a["at"],
                a["ip"],
                f"v1:{a['id']:x}:sealed",
                a["quote"] if judged else None,
                a["state"],
                "资质证书不在有效期内" if a["state"] == "disqualified" else "",
                a["at"] + timedelta(hours=2) if a["state"] == "withdrawn" else None,
                None,
            )
        if winner is not None:
            status = self.after_award(
                pid, row, owner, st, method, funding, department, case, invest, winner, valid, selection_at
            )
        elif closed and self.now < selection_at:
            status = "selecting" if self.today == selection_day else "registration_closed"
        row["status"] = status
        # Failed or cancelled projects are often relaunched (FA05 chains are planted).
        if status in ("failed", "cancelled") and (r.random() < 0.5 or (spec and spec.get("fail_again"))):
            fail_again = spec.get("fail_again", 0) - 1 if spec else (2 if r.random() < 0.01 else 0)
            if fail_again == 2:
                self.planted["FA05 relaunch chains"] += 1
            again = cal.add(selection_day if status == "failed" else published, r.randint(3, 8))
            if again < self.today - timedelta(days=1):
                row["status"] = "relaunched"
                self.relaunch_queue.append(
                    (
                        {
                            "owner": owner,
                            "st": st_id,
                            "method": method,
                            "funding": funding,
                            "scale": scale,
                            "published": again,
                            "pid": pid,
                            "item": item,
                            "fail_again": max(0, fail_again),
                        },
                        depth + 1,
                    )
                )
        self._write_project(
            pid,
            row,
            owner,
            st,
            case,
            invest,
            item,
            department,
            funding,
            scale,
            floor,
            ceiling,
            content,
            practitioners,
            method,
            deadline,
            selection_at,
            relaunch_of,
            pub_at,
        )
        if r.random() < 0.001:
            self.cmp.add(
                self.cmp.new_id(),
                pid,
                None,
                department,
                r.random() < 0.5,
                "有人反映业主在报名前已内定中介机构，要求核查。",
                "",
                min(self.now, pub_at + timedelta(days=3)),
            )
            self.planted["FA07 complaints"] += 1
        return 1

    def quote(self, floor: Decimal, ceiling: Decimal, method: str) -> Decimal:
        if method == "random_draw" or floor == ceiling:
            return floor
        r = self.rng
        if r.random() < 0.002:
            self.planted["FE07 abnormally low quotes"] += 1
            return _money(float(floor) * 0.3)
        value = float(floor) + (float(ceiling) - float(floor)) * min(1.0, max(0.0, r.betavariate(2.5, 2.0)))
        return min(ceiling, max(floor, _money(value)))

    def pick_winner(self, method: str, valid: list[dict[str, Any]]) -> dict[str, Any]:
        r = self.rng
        if method in ("lowest_price", "direct"):
            return min(valid, key=lambda a: (a["quote"], a["at"]))
        if method == "reference_price":
            reference = sum(float(a["quote"]) for a in valid) / len(valid) * 0.95
            return min(valid, key=lambda a: (abs(float(a["quote"]) - reference), a["at"]))
        if method == "scored_comparison":
            ranked = sorted(valid, key=lambda a: a["quote"])
            return ranked[min(len(ranked) - 1, int(r.expovariate(1.0)))]
        return r.choice(valid)

    def _requirements(self, pid: int, st_id: int) -> None:
        r = self.rng
        allowed = self.allowed.get(st_id)
        if not allowed or r.random() > 0.4:
            return
        qt, standard = r.choice(allowed)
        levels = sorted(self.levels.get(qt, []), key=lambda lv: lv[1])
        level = None
        if levels and standard is not None:
            at_or_below = [lv for lv in levels if lv[1] >= standard]
            above = [lv for lv in levels if lv[1] < standard]
            if above and r.random() < 0.002:
                level = above[0][0]
                self.planted["FA04 level above the standard"] += 1
            elif at_or_below:
                level = r.choice(at_or_below)[0]
        self.req.add(self.req.new_id(), pid, qt, level)

    def after_award(
        self, pid, row, owner, st, method, funding, department, case, invest, winner, valid, selection_at
    ):
        """Selection, publicity, contract, delivery, acceptance and payments as far as today."""
        r = self.rng
        cal = self.cal
        day = selection_at.date()
        firm = winner["firm"]
        info = self.firm_info[firm]
        candidates = [a["id"] for a in valid][:50]
        annul = len(valid) >= 2 and r.random() < 0.002
        self.sel.add(
            self.sel.new_id(),
            pid,
            1,
            method,
            selection_at,
            candidates,
            {"method": method, "valid": len(valid)},
            winner["id"],
            "",
            annul,
        )
        if annul:
            self.planted["FA05 annulled and given to another"] += 1
            second = next(a for a in valid if a is not winner)
            winner, firm = second, second["firm"]
            info = self.firm_info[firm]
            selection_at = selection_at + timedelta(days=10)
            day = selection_at.date()
            self.sel.add(
                self.sel.new_id(),
                pid,
                2,
                method,
                selection_at,
                candidates,
                {"method": method, "valid": len(valid) - 1},
                winner["id"],
                "异议成立后重新选取",
                False,
            )
        row["result_published_at"] = selection_at
        short = r.random() < 0.001
        if short:
            self.planted["PR05 short publicity"] += 1
        ends = cal.add(day, 1 if short else settings.RESULT_PUBLICITY_WORKING_DAYS)
        row["publicity_ends_on"] = ends
        self.awards.append((pid, firm, department, day))
        if self.today <= ends:
            return "selected"
        due = cal.add(ends, settings.CONTRACT_WORKING_DAYS)
        row["contract_due"] = due
        walks = r.random() < (0.3 if firm in self.flaky else 0.003)
        if walks:
            recorded = self.at(cal.add(due, 1), 10)
            if recorded > self.now:
                return "contracting"
            self.walk.add(self.walk.new_id(), pid, firm, "中选机构书面放弃中选资格。", recorded)
            row["failure_reason"] = "中选机构放弃，项目流标。"
            return "failed"
        quote = winner["quote"]
        amount = quote
        plant_fe04 = r.random() < 0.002
        if plant_fe04:
            amount = _money(float(quote) * 1.08)
            self.planted["FE04 contract above the winning quote"] += 1
        uploaded = self.at(cal.add(ends, 1), 10)
        late = r.random() < 0.003
        confirm_day = (
            cal.add(due, r.randint(3, 8))
            if late
            else cal.add(ends, r.randint(1, settings.CONTRACT_WORKING_DAYS))
        )
        if late:
            self.planted["PR03 contracts confirmed late"] += 1
        confirmed = self.at(confirm_day, 15)
        if uploaded > self.now:
            return "contracting"
        contract_id = self.con.new_id()
        pay_after = r.random() < 0.8
        # Amendments during the service; the contract carries the amended amount.
        amended_at = confirmed + timedelta(days=r.randint(5, 20))
        amendment = None
        if amended_at <= self.now and method == "direct" and r.random() < 0.002:
            # An amendment pushes a direct award over the threshold (FA01).
            amendment = (amount, Decimal(settings.DIRECT_SELECTION_THRESHOLDS[funding]) * Decimal("1.3"))
            self.planted["FA01 direct awards amended over the threshold"] += 1
        elif amended_at <= self.now and r.random() < 0.01:
            amendment = (amount, _money(float(amount) * (1.25 if r.random() < 0.1 else 1.05)))
        if amendment is not None:
            self.amd.add(
                self.amd.new_id(), contract_id, *amendment, "增加服务内容", amended_at, owner["user"]
            )
            amount = amendment[1]
        self.con.add(
            contract_id,
            pid,
            firm,
            amount,
            "contracts/bench.pdf",
            owner["id"],
            uploaded,
            confirmed if confirmed <= self.now else None,
            pay_after,
        )
        if confirmed > self.now:
            return "contracting"
        service_days = r.randint(10, 40)
        delivery_due = cal.add(confirm_day, service_days)
        row["delivery_due"] = delivery_due
        kind = r.random()
        if kind < 0.003:
            delivered_day = cal.add(delivery_due, r.randint(12, 25))
            self.planted["PR04 deliveries more than 10 working days late"] += 1
        elif kind < 0.03:
            delivered_day = cal.add(delivery_due, r.randint(1, 8))
        else:
            delivered_day = cal.add(confirm_day, max(1, service_days - r.randint(0, 6)))
        delivered = self.at(delivered_day, 11)
        if delivered > self.now:
            self._payments(contract_id, pay_after, amount, confirmed, None, owner, firm)
            return "in_service"
        acceptance_due = cal.add(delivered_day, settings.ACCEPTANCE_WORKING_DAYS)
        returned = r.random() < 0.03
        slow = r.random() < 0.002
        decided_day = (
            cal.add(acceptance_due, r.randint(3, 6)) if slow else cal.add(delivered_day, r.randint(1, 8))
        )
        if slow:
            self.planted["PR05 acceptance decided late"] += 1
        decided = self.at(decided_day, 16)
        if returned and decided <= self.now:
            self.dlv.add(
                self.dlv.new_id(), pid, "deliveries/bench.pdf", "", delivered, "returned", "补充材料", decided
            )
            delivered_day = cal.add(decided_day, 3)
            delivered = self.at(delivered_day, 11)
            acceptance_due = cal.add(delivered_day, settings.ACCEPTANCE_WORKING_DAYS)
            decided_day = cal.add(delivered_day, r.randint(1, 5))
            decided = self.at(decided_day, 16)
            if delivered > self.now:
                row["acceptance_due"] = acceptance_due
                self._payments(contract_id, pay_after, amount, confirmed, None, owner, firm)
                return "in_service"
        row["acceptance_due"] = acceptance_due
        if decided > self.now:
            self.dlv.add(self.dlv.new_id(), pid, "deliveries/bench.pdf", "", delivered, "pending", "", None)
            self._payments(contract_id, pay_after, amount, confirmed, None, owner, firm)
            return "delivered"
        self.dlv.add(self.dlv.new_id(), pid, "deliveries/bench.pdf", "", delivered, "accepted", "", decided)
        self._payments(contract_id, pay_after, amount, confirmed, decided, owner, firm)
        if case:
            filed = decided_day + timedelta(days=r.randint(3, 20))
            if filed <= self.today:
                self.rep.add(
                    self.rep.new_id(),
                    department,
                    case,
                    invest,
                    st["code"],
                    info["uscc"],
                    filed,
                    self.at(filed, 17),
                )
                if r.random() < 0.01:
                    # The case also carries a report from a firm not procured here (FA06).
                    other = self.firm_info[r.choice(self.firm_ids)]
                    if other["uscc"] != info["uscc"]:
                        self.rep.add(
                            self.rep.new_id(),
                            department,
                            case,
                            invest,
                            st["code"],
                            other["uscc"],
                            filed,
                            self.at(filed, 17),
                        )
                        self.planted["FA06 off-platform reports"] += 1
        if decided + timedelta(days=30) <= self.now:
            return "closed"
        if decided + timedelta(days=7) <= self.now:
            return "rated"
        return "accepted"

    def _payments(self, contract_id, pay_after, amount, confirmed, decided, owner, firm) -> None:
        r = self.rng
        ref = f"ZF{contract_id:09d}"
        early = pay_after and r.random() < 0.002
        if early:
            self.planted["FE06 payments before acceptance"] += 1
        if not pay_after or early:
            advance = _money(float(amount) * 0.3)
            when = confirmed + timedelta(days=3)
            if when <= self.now:
                self.led.add(
                    self.led.new_id(), contract_id, "charge", advance, "预付款", when, ref + "A", None, None
                )
            rest = amount - advance
        else:
            rest = amount
        if decided is None:
            return
        when = decided + timedelta(days=r.randint(5, 20))
        if when > self.now:
            return
        if r.random() < 0.001:
            rest += Decimal(5000)
            self.planted["FE05 payments above the contract"] += 1
        untied = r.random() < 0.001
        if untied:
            self.planted["FE09 charges not tied to a contract line"] += 1
        self.led.add(
            self.led.new_id(),
            contract_id,
            "charge",
            rest,
            "" if untied else "验收后付款",
            when,
            ref + "B",
            None,
            None,
        )
        if r.random() < 0.0005:
            self.led.add(
                self.led.new_id(),
                None,
                "offline_payment",
                Decimal(3000),
                "",
                when,
                ref + "C",
                firm,
                owner["id"],
            )
            self.planted["FE09 charges not tied to a contract line"] += 1

    def _write_project(
        self,
        pid,
        row,
        owner,
        st,
        case,
        invest,
        item,
        department,
        funding,
        scale,
        floor,
        ceiling,
        content,
        practitioners,
        method,
        deadline,
        selection_at,
        relaunch_of,
        pub_at,
    ) -> None:
        created = (pub_at or self.now) - timedelta(days=2)
        self.p.add(
            pid,
            f"ZZZJ-BENCH-{pid:08d}",
            owner["id"],
            owner["user"],
            f"{owner['name'][:20]}{st['name_zh']}项目",
            st["id"],
            invest,
            case,
            item[0] if item else None,
            department,
            funding,
            Decimal(str(round(scale, 2))),
            floor,
            ceiling,
            content,
            self.rng.randint(10, 40),
            practitioners,
            method,
            "金额低于直接选取限额，选定具备资质的机构。" if method == "direct" else "",
            40 if method == "scored_comparison" else 0,
            deadline,
            selection_at,
            row["status"],
            row["published_at"],
            hashlib.sha256(f"commit-{pid}".encode()).hexdigest(),
            relaunch_of,
            row["result_published_at"],
            row["publicity_ends_on"],
            row["contract_due"],
            row["delivery_due"],
            row["acceptance_due"],
            row["failure_reason"],
            created,
            created,
        )

    # --- staff and ties ------------------------------------------------------------------------

    def build_staff(self) -> None:
        from marketplace.oversight.models import DepartmentStaff, StaffRelative
        from marketplace.providers.models import Intermediary, Shareholder

        r = self.rng
        staff = self.table(
            DepartmentStaff,
            ["department_id", "name", "id_hash", "position", "phone", "email", "started_on", "ended_on"],
        )
        rel = self.table(StaffRelative, ["staff_id", "name", "id_hash", "relation"])
        holders = self.table(Shareholder, ["intermediary_id", "kind", "name", "id_hash", "uscc", "share"])
        for d in self.departments:
            for _ in range(r.randint(60, 150)):
                self.person += 1
                sid = staff.new_id()
                ended = self.today - timedelta(days=r.randint(30, 2000)) if r.random() < 0.1 else None
                staff.add(
                    sid,
                    d["id"],
                    _name(r),
                    _person_hash(self.person),
                    r.choice(["科员", "副科长", "科长", "副局长", "审批员"]),
                    f"13{r.randint(100_000_000, 999_999_999)}",
                    "",
                    date(2000 + r.randint(0, 20), r.randint(1, 12), 1),
                    ended,
                )
                if r.random() < 0.2:
                    self.person += 1
                    rel.add(
                        rel.new_id(),
                        sid,
                        _name(r),
                        _person_hash(self.person),
                        r.choice(["配偶", "子女", "兄弟姐妹"]),
                    )
        # Ties planted on winners of department projects (RP01-RP05), some declared.
        awards = [a for a in self.awards if a[2] is not None]
        affiliates_by_department: dict[int, list[dict]] = defaultdict(list)
        for a in self.affiliates:
            affiliates_by_department[a["department_id"]].append(a)
        phone_updates: list[tuple[str, int]] = []
        for _project, firm, department, day in r.sample(
            awards, min(len(awards), max(5, self.n_projects // 4000))
        ):
            info = self.firm_info[firm]
            kind = r.choice(["staff", "relative", "former", "affiliate", "contact"])
            if kind == "staff":
                staff.add(
                    staff.new_id(), department, "某某", info["lr"], "科长", "", "", date(2010, 1, 1), None
                )
                self.planted["RP02 legal representative on the department's staff"] += 1
            elif kind == "relative":
                self.person += 1
                sid = staff.new_id()
                staff.add(
                    sid,
                    department,
                    _name(r),
                    _person_hash(self.person),
                    "副局长",
                    "",
                    "",
                    date(2012, 3, 1),
                    None,
                )
                rel.add(rel.new_id(), sid, "某某", _person_hash(info["people"][-1]), "子女")
                self.planted["RP02 practitioner is a staff member's relative"] += 1
            elif kind == "former":
                left = day - timedelta(days=r.randint(60, 600))
                staff.add(
                    staff.new_id(),
                    department,
                    "某某",
                    _person_hash(info["people"][-1]),
                    "审批员",
                    "",
                    "",
                    date(2008, 5, 1),
                    left,
                )
                self.planted["RP03 former staff within the cooling-off period"] += 1
            elif kind == "affiliate" and affiliates_by_department.get(department):
                aff = r.choice(affiliates_by_department[department])
                if not aff["uscc"]:
                    continue
                holders.add(holders.new_id(), firm, "firm", aff["name"], "", aff["uscc"], Decimal("30"))
                self.planted["RP01 affiliate holds shares in the winner"] += 1
            else:
                phone = next(d["phone"] for d in self.departments if d["id"] == department)
                if not phone:
                    continue
                phone_updates.append((phone, firm))
                self.planted["RP04 winner shares the department's phone"] += 1
            if r.random() < 0.4:
                self.ties.add(
                    self.ties.new_id(), firm, department, "other", "", None, "已如实申报与该部门的关联关系。"
                )
        self.flush(staff, rel, holders, self.ties)
        if phone_updates:
            table = connection.ops.quote_name(Intermediary._meta.db_table)
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {table} SET phone = %s WHERE id = %s", phone_updates)  # noqa: S608
        self.counts["department staff"] = staff.written
        self.counts["staff relatives"] = rel.written
        self.counts["declared ties"] = self.ties.written

    def finish(self) -> None:
        """Sequences past the ids written here, and fresh planner statistics."""
        models_ = list(self._tables)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models_):
                cursor.execute(sql)
            if connection.vendor == "postgresql":
                for model in models_:
                    cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            else:
                cursor.execute("ANALYZE")


def build_large_market(
    firms: int = 20_000,
    projects: int = 200_000,
    applications: int = 1_000_000,
    seed: int = 20_240_601,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the market; return the row counts, the planted cases and the seconds per phase.

    Runs outside a transaction (each COPY commits), so VACUUM ANALYZE can follow."""
    say = log or (lambda message: None)
    builder = _Builder(firms, projects, applications, seed)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for phase in ("load_catalog", "build_parties", "build_projects", "build_staff", "finish"):
        t0 = time.perf_counter()
        getattr(builder, phase)()
        timings[phase] = round(time.perf_counter() - t0, 1)
        say(f"market: {phase} {timings[phase]} s")
    return {
        "counts": dict(builder.counts),
        "planted": dict(sorted(builder.planted.items())),
        "seconds": round(time.perf_counter() - started, 1),
        "phases": timings,
        "awards": len(builder.awards),
    }
