"""The XLSX opened cell by cell with openpyxl (headers, frozen panes, autofilter, charts, the
split at the row limit) and converted by LibreOffice headless; the CSV files."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from reports import metrics, spreadsheet
from tests.reports.conftest import NOW

WEEK = metrics.Period(date(2026, 11, 2), date(2026, 11, 8), "UTC")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture
def xlsx(synthetic, tmp_path):
    result = metrics.compute(WEEK, now=NOW)
    return spreadsheet.write_xlsx(result, tmp_path / "week.xlsx"), result


def test_every_table_is_a_sheet_with_its_header_filter_panes_and_chart(xlsx):
    path, result = xlsx
    book = load_workbook(path)
    assert book.sheetnames == ["Report", *[s.name for s in result.sheets]]
    ws = book["By pool"]
    header = [c.value for c in ws[1]]
    assert header == ["Pool", *[title for _, title in metrics.FIGURES]]
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("1F4E78")
    assert ws.freeze_panes == "B2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}3"
    assert len(ws._charts) == 1
    # cell by cell: Pool A's row as worked out in test_metrics
    row = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    assert row["Pool"] == "Pool A"
    assert (row["E-mails received"], row["Cases opened"], row["Cases closed"]) == (6, 4, 3)
    assert row["Open backlog now"] == 3 and row["Overdue now"] == 1
    assert row["Resolution median (business h)"] == 22.0
    summary = {r[0].value: r[1].value for r in book["Summary"].iter_rows(min_row=2)}
    assert summary["First response p90 (business h)"] == 3.4
    assert summary["Surveys answered, % of closed"] == 75.0
    days = book["By day"]
    assert days["A2"].value.date() == date(2026, 11, 2) and days["A2"].number_format == "yyyy-mm-dd"
    # Mon: cases 1 (two) and 2; Wed: 3 and 4; Thu: 5; Sat: 6
    assert [days.cell(r, 2).value for r in range(2, 9)] == [3, 0, 2, 1, 0, 1, 0]


def test_a_long_table_continues_on_a_second_sheet(tmp_path):
    frame = pd.DataFrame({"n": range(10), "v": [i * 1.5 for i in range(10)]})
    sheet = metrics.Sheet("Long", [("n", "N"), ("v", "V")], frame)
    result = metrics.ReportResult(WEEK, [sheet])
    path = spreadsheet.write_xlsx(result, tmp_path / "long.xlsx", max_rows=5)  # 4 rows a sheet
    book = load_workbook(path)
    assert book.sheetnames == ["Report", "Long", "Long (2)", "Long (3)"]
    values = [
        r[0].value
        for name in ("Long", "Long (2)", "Long (3)")
        for r in book[name].iter_rows(min_row=2)
    ]
    assert values == list(range(10))  # nothing lost, nothing twice (pandas #15392)
    assert [c.value for c in book["Long (3)"][1]] == ["N", "V"]


def test_the_excel_row_limit_is_excels():
    assert spreadsheet.EXCEL_MAX_ROWS == 1_048_576


def test_csv_zip_has_one_file_per_table(synthetic, tmp_path):
    result = metrics.compute(WEEK, ["agent"], now=NOW)
    path = spreadsheet.write_csv_zip(result, tmp_path / "week.zip")
    names = zipfile.ZipFile(path).namelist()
    assert names == [spreadsheet.csv_name(s.name) for s in result.sheets]
    summary = zipfile.ZipFile(path).read("summary.csv").decode().splitlines()
    assert summary[0] == "Figure,Value" and "E-mails received,7" in summary


@pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice not installed (apt package libreoffice-calc; scripts/install-test-packages.sh)",
)
def test_libreoffice_opens_the_spreadsheet(xlsx, tmp_path):
    path, _ = xlsx
    out = tmp_path / "converted"
    done = subprocess.run(
        [
            SOFFICE,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    by_pool = next(out.glob("week-By pool.csv"), None)
    assert by_pool is not None, sorted(p.name for p in out.iterdir())
    lines = by_pool.read_text().splitlines()
    assert lines[0].startswith("Pool,E-mails received")
    assert lines[1].startswith("Pool A,6,4,3")
