"""Shared by the open-data tests: a small market with whole journeys, the export read back as
JSON, and the offline OCDS validator (../shared/ocds, see its README)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from billing.models import LedgerEntry
from marketplace.oversight.ocds.export import Window, iter_releases, write_package
from marketplace.procurement.models import Amendment, Contract
from tests.oversight.test_competition import Market

OCDS_KIT = Path(settings.BASE_DIR).parent / "shared" / "ocds"

needs_kit = pytest.mark.skipif(
    not (OCDS_KIT / "validate.py").exists(), reason=f"the OCDS kit is not at {OCDS_KIT}"
)


def export(window: Window | None = None, **kwargs) -> dict:
    """The export as the command writes it, parsed back."""
    out = io.StringIO()
    write_package(out, iter_releases(window, **kwargs), uri="urn:test")
    return json.loads(out.getvalue())


def by_ocid(package: dict) -> dict[str, dict]:
    return {r["ocid"]: r for r in package["releases"]}


def validate(package: dict, tmp_path: Path) -> str:
    """Run the kit's validator (libcoveocds, offline); assert it accepts the package."""
    path = tmp_path / "package.json"
    path.write_text(json.dumps(package, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own file
        [sys.executable, str(OCDS_KIT / "validate.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "schema_errors=0 closed_codelist_violations=0" in result.stdout, result.stdout
    return result.stdout


class FullMarket(Market):
    """``Market`` plus what follows a result: the contract, amendments and payments."""

    def contract(self, project, winner, amount, *, confirmed=True):
        contract = Contract.objects.create(
            project=project,
            intermediary=winner,
            amount=Decimal(amount),
            document="contracts/test.pdf",
            uploaded_by_org=project.owner,
            uploaded_at=timezone.now() - timedelta(days=5),
            confirmed_at=timezone.now() - timedelta(days=4) if confirmed else None,
        )
        project.status = "in_service"
        project.delivery_due = timezone.localdate() + timedelta(days=20)
        project.save(update_fields=["status", "delivery_due", "updated_at"])
        return contract

    def amend(self, contract, new_amount, reason="增加补充测绘内容"):
        amendment = Amendment.objects.create(
            contract=contract,
            old_amount=contract.amount,
            new_amount=Decimal(new_amount),
            reason=reason,
            created_at=timezone.now() - timedelta(days=2),
            created_by=self._user(contract.project.owner),
        )
        contract.amount = Decimal(new_amount)
        contract.save(update_fields=["amount"])
        return amendment

    def pay(self, contract, amount, kind="charge", days_ago=1):
        return LedgerEntry.objects.create(
            contract=contract,
            kind=kind,
            amount=Decimal(amount),
            milestone="首付款",
            occurred_at=timezone.now() - timedelta(days=days_ago),
            reference=f"PAY{LedgerEntry.objects.count() + 1:06d}",
        )
