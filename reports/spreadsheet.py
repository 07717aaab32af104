"""A report as a spreadsheet: XLSX (XlsxWriter) or CSV files in a ZIP.

XLSX: one sheet per table, a formatted header row, frozen panes, an autofilter and a native
Excel chart beside the data. The workbook is written in XlsxWriter's ``constant_memory``
mode, row by row from the frames (never pandas' ``to_excel``, which loses data in that mode:
pandas #15392), so memory does not grow with the rows; a table longer than Excel's
1,048,576 rows continues on a sheet "<name> (2)", and so on.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

from reports.metrics import ReportResult, Sheet

EXCEL_MAX_ROWS = 1_048_576  # header included
CHART_MAX_POINTS = 500  # a chart of more categories is unreadable anyway
SHEET_NAME_MAX = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_names(name: str, parts: int) -> list[str]:
    base = _BAD_SHEET_CHARS.sub("-", name)[:SHEET_NAME_MAX]
    names = [base]
    for n in range(2, parts + 1):
        suffix = f" ({n})"
        names.append(base[: SHEET_NAME_MAX - len(suffix)] + suffix)
    return names


def _blank(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return False


def _plain(value):
    """A cell value XlsxWriter and csv understand (numpy scalars become Python ones)."""
    if _blank(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (datetime, date)):
        value = value.item()
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def _rows(sheet: Sheet) -> Iterable[tuple]:
    keys = [key for key, _ in sheet.columns]
    yield from sheet.frame[keys].itertuples(index=False, name=None)


def write_xlsx(result: ReportResult, path: Path, *, max_rows: int = EXCEL_MAX_ROWS) -> Path:
    """Write ``result`` to ``path`` (see the module docstring); ``max_rows`` (header
    included) is Excel's limit, smaller only in tests."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_numbers": False, "nan_inf_to_errors": False},
    )
    header = workbook.add_format(
        {
            "bold": True,
            "bg_color": "#1F4E78",
            "font_color": "#FFFFFF",
            "text_wrap": True,
            "valign": "top",
            "border": 1,
        }
    )
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    decimal = workbook.add_format({"num_format": "0.00"})
    title = workbook.add_format({"bold": True, "font_size": 13})
    _info_sheet(workbook, result, title)
    for sheet in result.sheets:
        per_sheet = max_rows - 1
        total = len(sheet.frame)
        parts = max(1, math.ceil(total / per_sheet))
        rows = iter(_rows(sheet))
        decimals = {
            i
            for i, (key, _) in enumerate(sheet.columns)
            if key.endswith(("_h", "_pct")) or key == "mean_score"
        }
        for part, name in enumerate(sheet_names(sheet.name, parts)):
            ws = workbook.add_worksheet(name)
            for col, (_, label) in enumerate(sheet.columns):
                width = (
                    max(10, min(40, len(label) + 2)) if col else max(14, min(40, len(label) + 10))
                )
                ws.set_column(col, col, width)
            ws.set_row(0, 45)
            ws.write_row(0, 0, [label for _, label in sheet.columns], header)
            count = min(per_sheet, total - part * per_sheet)
            for r in range(1, count + 1):
                for c, raw in enumerate(next(rows)):
                    value = _plain(raw)
                    if value is None:
                        continue
                    if isinstance(value, datetime):
                        ws.write_datetime(r, c, value, moment)
                    elif isinstance(value, date):
                        ws.write_datetime(r, c, datetime.combine(value, datetime.min.time()), day)
                    elif isinstance(value, bool):
                        ws.write_boolean(r, c, value)
                    elif isinstance(value, (int, float)):
                        ws.write_number(r, c, value, decimal if c in decimals else None)
                    else:
                        ws.write_string(r, c, str(value))
            ws.freeze_panes(1, 1)
            ws.autofilter(0, 0, max(count, 1), len(sheet.columns) - 1)
            if sheet.chart and count and part == 0:
                _chart(workbook, ws, name, sheet, min(count, CHART_MAX_POINTS))
    workbook.close()
    return path


def _info_sheet(workbook, result: ReportResult, title) -> None:
    ws = workbook.add_worksheet("Report")
    p = result.period
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 40)
    ws.write_string(0, 0, "Loopdesk report", title)
    ws.write_string(1, 0, "Period")
    ws.write_string(1, 1, f"{p.since.isoformat()} to {p.until.isoformat()} ({p.time_zone})")
    ws.write_string(2, 0, "Sheets")
    ws.write_string(2, 1, ", ".join(s.name for s in result.sheets))
    ws.write_string(3, 0, "Definitions")
    ws.write_string(3, 1, "see the README, section Reports")


def _chart(workbook, ws, name: str, sheet: Sheet, points: int) -> None:
    spec = sheet.chart or {}
    keys = [key for key, _ in sheet.columns]
    chart = workbook.add_chart({"type": spec.get("kind", "column")})
    category = keys.index(spec["category"])
    for value in spec["values"]:
        col = keys.index(value)
        chart.add_series(
            {
                "name": [name, 0, col],
                "categories": [name, 1, category, points, category],
                "values": [name, 1, col, points, col],
            }
        )
    chart.set_title({"name": spec.get("title", sheet.name)})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 720, "height": 380})
    ws.insert_chart(1, len(keys) + 1, chart)


def csv_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".csv"


def write_csv_zip(result: ReportResult, path: Path) -> Path:
    """One CSV file per table (UTF-8, header row of titles) in a ZIP at ``path``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for sheet in result.sheets:
            with archive.open(csv_name(sheet.name), "w") as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.writer(text)
                writer.writerow([label for _, label in sheet.columns])
                for row in _rows(sheet):
                    writer.writerow(["" if (v := _plain(x)) is None else v for x in row])
                text.flush()
                text.detach()
    return path
