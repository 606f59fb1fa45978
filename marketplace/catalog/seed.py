"""Seed the service catalogue and the demo city's departments from ``data/*.json``.

``seed_catalog()`` is idempotent: every row is matched by its code (levels by type and code,
affiliates by department and name, price bands by service type and lower scale bound) and
updated to match the files. The files are authoritative for the rows they name: price bands
and allowed qualifications of a seeded service type that the files no longer list are
removed, and an approval item's service types are set to exactly those listed. Rows the
files do not name (added by the operator) are left alone; nothing else is ever deleted.

It works with the real models (``seed_catalog()``) and with a migration's historical models
(``seed_catalog(apps, using=schema_editor.connection.alias)``).

The data files are generated reference data: the service types come from
``/work/shared/data/service_types.csv`` (legal basis kept as researched, "(?)" marks
included); departments, affiliates, phone numbers, addresses and USCCs are invented for the
demo city, and price bands marked 示例/演示 are invented figures.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

DATA_DIR = Path(__file__).resolve().parent / "data"
DATA_FILES = (
    "categories.json",
    "qualification_types.json",
    "service_types.json",
    "departments.json",
    "approval_items.json",
)


@cache
def load(name: str) -> Any:
    """One data file, parsed (UTF-8 JSON)."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def seed_catalog(apps: Any = None, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Create or update the catalogue; return how many rows of each kind the files hold."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps

    def model(name: str) -> Any:
        return apps.get_model("catalog", name)

    ServiceCategory = model("ServiceCategory")
    QualificationType = model("QualificationType")
    QualificationLevel = model("QualificationLevel")
    ServiceType = model("ServiceType")
    ServiceTypeQualification = model("ServiceTypeQualification")
    PriceBand = model("PriceBand")
    Department = model("Department")
    AffiliatedEntity = model("AffiliatedEntity")
    ApprovalItem = model("ApprovalItem")

    counts = dict.fromkeys(
        (
            "categories",
            "qualification_types",
            "qualification_levels",
            "service_types",
            "service_type_qualifications",
            "price_bands",
            "departments",
            "affiliates",
            "approval_items",
        ),
        0,
    )

    with transaction.atomic(using=using):
        categories = {}
        for row in load("categories.json"):
            categories[row["code"]], _ = ServiceCategory.objects.using(using).update_or_create(
                code=row["code"],
                defaults={
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "position": row["position"],
                },
            )
        counts["categories"] = len(categories)

        qtypes: dict[str, Any] = {}
        levels: dict[tuple[str, str], Any] = {}
        for row in load("qualification_types.json"):
            qt, _ = QualificationType.objects.using(using).update_or_create(
                code=row["code"],
                defaults={
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "authority": row["authority"],
                    "legal_basis": row["legal_basis"],
                },
            )
            qtypes[qt.code] = qt
            for lv in row["levels"]:
                levels[(qt.code, lv["code"])], _ = QualificationLevel.objects.using(using).update_or_create(
                    qualification_type=qt,
                    code=lv["code"],
                    defaults={"name_zh": lv["name_zh"], "name_en": lv["name_en"], "rank": lv["rank"]},
                )
        counts["qualification_types"] = len(qtypes)
        counts["qualification_levels"] = len(levels)

        service_types: dict[str, Any] = {}
        for row in load("service_types.json"):
            st, _ = ServiceType.objects.using(using).update_or_create(
                code=row["code"],
                defaults={
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "category": categories[row["category"]],
                    "description": row["description"],
                    "legal_basis": row["legal_basis"],
                    "pricing_regime": row["pricing_regime"],
                    "pricing_basis": row["pricing_basis"],
                    "qualification_required": row["qualification_required"],
                    "standard_practitioners": row["standard_practitioners"],
                    "is_active": row["is_active"],
                },
            )
            service_types[st.code] = st

            allowed = []
            for q in row["qualifications"]:
                qt = qtypes[q["type"]]
                level = levels[(qt.code, q["standard_level"])] if q["standard_level"] else None
                ServiceTypeQualification.objects.using(using).update_or_create(
                    service_type=st, qualification_type=qt, defaults={"standard_level": level}
                )
                allowed.append(qt.pk)
            ServiceTypeQualification.objects.using(using).filter(service_type=st).exclude(
                qualification_type__in=allowed
            ).delete()
            counts["service_type_qualifications"] += len(allowed)

            lower_bounds = []
            for band in row["price_bands"]:
                scale_from = _dec(band["scale_from"])
                PriceBand.objects.using(using).update_or_create(
                    service_type=st,
                    scale_from=scale_from,
                    defaults={
                        "scale_to": _dec(band["scale_to"]),
                        "fee_min": _dec(band["fee_min"]),
                        "fee_max": _dec(band["fee_max"]),
                        "basis": band["basis"],
                    },
                )
                lower_bounds.append(scale_from)
            PriceBand.objects.using(using).filter(service_type=st).exclude(
                scale_from__in=lower_bounds
            ).delete()
            counts["price_bands"] += len(lower_bounds)
        counts["service_types"] = len(service_types)

        departments: dict[str, Any] = {}
        for row in load("departments.json"):
            dept, _ = Department.objects.using(using).update_or_create(
                code=row["code"],
                defaults={
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "region": row["region"],
                    "phone": row["phone"],
                    "address": row["address"],
                    "email": row["email"],
                },
            )
            departments[dept.code] = dept
            for aff in row["affiliates"]:
                AffiliatedEntity.objects.using(using).update_or_create(
                    department=dept,
                    name=aff["name"],
                    defaults={
                        "kind": aff["kind"],
                        "uscc": aff["uscc"],
                        "phone": aff["phone"],
                        "address": aff["address"],
                    },
                )
                counts["affiliates"] += 1
        counts["departments"] = len(departments)

        for row in load("approval_items.json"):
            item, _ = ApprovalItem.objects.using(using).update_or_create(
                code=row["code"],
                defaults={
                    "name_zh": row["name_zh"],
                    "name_en": row["name_en"],
                    "department": departments[row["department"]],
                },
            )
            item.service_types.set([service_types[code] for code in row["service_types"]])
            counts["approval_items"] += 1

    return counts
