"""CSV (streamed, row by row) and Excel (openpyxl's write-only workbook) for any table."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook

from .selectors import Filters
from .tables import Table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal | date):
        return value if isinstance(value, date) else float(value)
    return value


class _Echo:
    """A file-like object that hands back what is written (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(table: Table, rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so Excel reads the file as UTF-8 (Chinese names)
    yield writer.writerow([str(label) for _key, label in table.columns])
    for row in rows:
        yield writer.writerow(["" if row.get(k) is None else str(row.get(k)) for k, _label in table.columns])


def _filename(name: str, extension: str) -> str:
    return f"{name}-{timezone.localdate().isoformat()}.{extension}"


def csv_response(name: str, table: Table, filters: Filters) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        _csv_lines(table, table.rows(filters)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(name, "csv")}"'
    return response


def xlsx_response(name: str, table: Table, filters: Filters) -> HttpResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=name[:31])
    sheet.append([str(label) for _key, label in table.columns])
    for row in table.rows(filters):
        sheet.append([_cell(row.get(k)) for k, _label in table.columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_filename(name, "xlsx")}"'
    return response
