"""The intake form answers counted per field and value, the knowledge base's use per article,
language and pool, on the synthetic desk (tests/reports/conftest.py), worked out by hand; a
supervisor's report sees his pools only, on the engine and through a run's spreadsheet."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import current_app
from openpyxl import load_workbook

from app.audit.actor import acting_as
from app.cases.intake_answers import record_intake_answers
from app.cases.models import Case
from app.extensions import db
from app.knowledge.models import KnowledgeArticle, KnowledgeArticleUse, KnowledgeArticleVersion
from forms_designer.models import IntakeForm, IntakeFormVersion
from reports import metrics, spreadsheet
from tests.reports.conftest import NOW, t
from tests.reports.test_runs import start, work

WEEK = metrics.Period(date(2026, 11, 2), date(2026, 11, 8), "UTC")

SCHEMA = {
    "languages": ["en"],
    "fields": [
        {"key": "intro", "type": "heading", "label": {"en": "About you"}},
        {
            "key": "product",
            "type": "single_choice",
            "label": {"en": "Product"},
            "options": [
                {"value": "printer", "label": {"en": "Printer"}},
                {"value": "scanner", "label": {"en": "Scanner"}},
            ],
        },
        {
            "key": "accessories",
            "type": "multiple_choice",
            "label": {"en": "Accessories"},
            "options": [
                {"value": "toner", "label": {"en": "Toner"}},
                {"value": "cable", "label": {"en": "Cable"}},
            ],
        },
        {"key": "invoice_no", "type": "short_text", "label": {"en": "Invoice number"}},
        {"key": "partner", "type": "hidden", "label": {"en": "Partner"}},
    ],
}

# Case number (conftest) -> answers. Cases 1, 2, 5: pool A, Billing; 3: pool A, Hardware,
# received in October (outside the week); 4: pool A, no topic; 6: pool B, no topic.
ANSWERS = {
    1: {"product": "printer", "accessories": ["toner", "cable"], "invoice_no": "INV-1",
        "partner": "acme"},
    2: {"product": "printer", "accessories": ["toner"], "partner": "acme"},
    3: {"product": "scanner", "partner": "acme"},
    4: {"product": "scanner", "partner": "globex"},
    5: {"product": "printer", "invoice_no": "INV-5"},
    6: {"product": "printer", "accessories": ["cable"], "partner": "acme"},
}  # fmt: skip


@pytest.fixture
def desk_with_answers(synthetic):
    form = IntakeForm(name="Hardware requests")
    version = IntakeFormVersion(form=form, number=1, status="published", schema=SCHEMA)
    db.session.add_all([form, version])
    db.session.flush()
    with acting_as(None):
        for n, answers in ANSWERS.items():
            case = db.session.get(Case, synthetic.cases[n])
            record_intake_answers(case, version.id, SCHEMA, answers)
    reset = KnowledgeArticle(status="published")
    reset.versions = [
        KnowledgeArticleVersion(language="en", title="Reset password"),
        KnowledgeArticleVersion(language="pl", title="Reset hasła"),
    ]
    invoice = KnowledgeArticle(status="published")
    invoice.versions = [KnowledgeArticleVersion(language="en", title="Invoice copy")]
    db.session.add_all([reset, invoice])
    db.session.flush()
    for article, language, n, at in (
        (reset, "en", 1, t(2, 11)),
        (reset, "en", 2, t(3, 10)),
        (reset, "pl", 6, t(7, 12)),
        (invoice, "en", 5, t(5, 9, 30)),
        (invoice, "en", 3, t(28, 10, month=10)),  # before the week
        (reset, "en", 4, datetime(2026, 11, 9, 8)),  # after it
    ):
        db.session.add(
            KnowledgeArticleUse(
                article=article, language=language, case_id=synthetic.cases[n], at=at
            )
        )
    db.session.commit()
    return synthetic


def _counts(sheet, *keys):
    return {tuple(r[k] for k in keys): r["count"] for r in sheet.frame.to_dict("records")}


def test_intake_answers_are_counted_per_field_and_value(desk_with_answers):
    result = metrics.compute(WEEK, now=NOW)
    desk = result.sheet("Intake answers")
    assert [key for key, _ in desk.columns] == ["field_key", "field", "value", "count"]
    # the week's cases 1, 2, 4, 5, 6 (case 3 came in October); each chosen accessory counts;
    # the invoice number is free text and left out, the heading collects nothing
    assert desk.frame[["field", "value", "count"]].values.tolist() == [
        ["Accessories", "Cable", 2],  # 1, 6
        ["Accessories", "Toner", 2],  # 1, 2
        ["Partner", "acme", 3],  # 1, 2, 6
        ["Partner", "globex", 1],  # 4
        ["Product", "Printer", 4],  # 1, 2, 5, 6
        ["Product", "Scanner", 1],  # 4
    ]


def test_intake_answers_per_pool_and_topic(desk_with_answers):
    result = metrics.compute(WEEK, now=NOW)
    by_pool = _counts(result.sheet("Intake answers by pool"), "pool", "field_key", "value")
    assert by_pool == {
        ("Pool A", "accessories", "Cable"): 1,
        ("Pool A", "accessories", "Toner"): 2,
        ("Pool A", "partner", "acme"): 2,
        ("Pool A", "partner", "globex"): 1,
        ("Pool A", "product", "Printer"): 3,
        ("Pool A", "product", "Scanner"): 1,
        ("Pool B", "accessories", "Cable"): 1,
        ("Pool B", "partner", "acme"): 1,
        ("Pool B", "product", "Printer"): 1,
    }
    by_topic = _counts(result.sheet("Intake answers by topic"), "topic", "field_key", "value")
    assert by_topic == {
        (metrics.NONE_LABEL, "accessories", "Cable"): 1,  # 6
        (metrics.NONE_LABEL, "partner", "acme"): 1,  # 6
        (metrics.NONE_LABEL, "partner", "globex"): 1,  # 4
        (metrics.NONE_LABEL, "product", "Printer"): 1,  # 6
        (metrics.NONE_LABEL, "product", "Scanner"): 1,  # 4
        ("Billing", "accessories", "Cable"): 1,  # 1
        ("Billing", "accessories", "Toner"): 2,  # 1, 2
        ("Billing", "partner", "acme"): 2,  # 1, 2
        ("Billing", "product", "Printer"): 3,  # 1, 2, 5
    }  # Hardware: case 3 only, outside the week
    only_agents = metrics.compute(WEEK, ["agent"], now=NOW)
    assert "Intake answers" in [s.name for s in only_agents.sheets]
    assert "Intake answers by pool" not in [s.name for s in only_agents.sheets]


def test_knowledge_base_use_per_article_language_and_pool(desk_with_answers):
    sheet = metrics.compute(WEEK, now=NOW).sheet("Knowledge base use")
    assert [title for _, title in sheet.columns] == [
        "Article",
        "Language",
        "Pool",
        "Times inserted",
    ]
    # uses before and after the week are not counted
    assert sheet.frame.values.tolist() == [
        ["Reset password", "en", "Pool A", 2],  # cases 1 and 2
        ["Invoice copy", "en", "Pool A", 1],  # case 5
        ["Reset hasła", "pl", "Pool B", 1],  # case 6
    ]


def test_a_supervisors_report_counts_answers_and_articles_of_his_pools_only(desk_with_answers):
    pool_a = desk_with_answers.desk.pool_a.id
    result = metrics.compute(WEEK, now=NOW, pool_ids=[pool_a])
    desk = _counts(result.sheet("Intake answers"), "field_key", "value")
    assert desk[("product", "Printer")] == 3  # not case 6 of pool B
    assert ("accessories", "Cable") in desk and desk[("accessories", "Cable")] == 1
    assert set(result.sheet("Intake answers by pool").frame["pool"]) == {"Pool A"}
    assert result.sheet("Knowledge base use").frame.values.tolist() == [
        ["Reset password", "en", "Pool A", 2],
        ["Invoice copy", "en", "Pool A", 1],
    ]


def test_the_new_sheets_in_a_supervisors_spreadsheet(desk_with_answers):
    desk = desk_with_answers.desk
    run = start(desk, "supervisor_a")
    work()
    db.session.refresh(run)
    assert run.status == "done", run.error
    book = load_workbook(f"{current_app.config['FILE_STORE']}/{run.path}")
    use = [[c.value for c in row] for row in book["Knowledge base use"].iter_rows()]
    assert use == [
        ["Article", "Language", "Pool", "Times inserted"],
        ["Reset password", "en", "Pool A", 2],
        ["Invoice copy", "en", "Pool A", 1],
    ]
    answers = [[c.value for c in row] for row in book["Intake answers"].iter_rows()]
    assert answers[0] == ["Field key", "Field", "Value", "Answers"]
    assert ["product", "Product", "Printer", 3] in answers[1:]


def test_the_new_sheets_as_csv(desk_with_answers, tmp_path):
    import zipfile

    result = metrics.compute(WEEK, ["pool"], now=NOW)
    path = spreadsheet.write_csv_zip(result, tmp_path / "week.zip")
    files = zipfile.ZipFile(path)
    use = files.read(spreadsheet.csv_name("Knowledge base use")).decode().splitlines()
    assert use[0] == "Article,Language,Pool,Times inserted"
    assert use[1] == "Reset password,en,Pool A,2"
    intake = files.read(spreadsheet.csv_name("Intake answers by pool")).decode().splitlines()
    assert "Pool B,product,Product,Printer,1" in intake
