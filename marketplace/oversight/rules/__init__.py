"""Monitoring rules, one module per category (DESIGN section 4)."""

import importlib

CATEGORY_MODULES = ["forced_agency", "related_party", "fees", "competition", "process"]


def _load() -> bool:
    for name in CATEGORY_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return True


load_all = _load()
