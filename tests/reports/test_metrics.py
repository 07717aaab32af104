"""The figures of the synthetic desk (tests/reports/conftest.py), worked out by hand.

Pool A counts Monday to Friday 08:00-16:00; pool B round the clock. The desk fixture adds
two open cases of today (one per pool) that only the backlog sees.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from reports import metrics
from tests.reports.conftest import NOW

WEEK = metrics.Period(date(2026, 11, 2), date(2026, 11, 8), "UTC")


def _figures(result, sheet="Summary"):
    frame = result.sheet(sheet).frame
    return dict(zip(frame["figure"], frame["value"], strict=True))


def _row(result, sheet, label):
    frame = result.sheet(sheet).frame
    key = frame.columns[0]
    rows = frame[frame[key] == label]
    assert len(rows) == 1, f"{label} not in {list(frame[key])}"
    return rows.iloc[0].to_dict()


def titles():
    return dict(metrics.FIGURES)


@pytest.fixture
def result(synthetic):
    return metrics.compute(WEEK, now=NOW)


def test_the_week_in_figures(result):
    f = {key: _figures(result)[title] for key, title in titles().items()}
    # inbound mails: case 1 two, cases 2, 3 (its reopening mail), 4, 5, 6 one each
    assert f["emails_received"] == 7
    # received in the week: 1, 2, 4, 5, 6 (3 came in October)
    assert f["cases_opened"] == 5
    # closed now with the last close in the week: 1, 2, 3 (again), 6
    assert f["cases_closed"] == 4
    assert f["cases_reopened"] == 1  # 3: closed -> in progress on Wednesday
    # open now: 4, 5 and the desk fixture's two cases of today
    assert f["backlog_now"] == 4
    assert f["overdue_now"] == 1  # 4; 5 waits on the customer (clock paused)
    assert f["closed_on_time_without_consultation"] == 1  # 1
    assert f["closed_on_time_with_consultation"] == 1  # 6
    assert f["closed_late_with_consultation"] == 1  # 2
    assert f["closed_late_without_consultation"] == 1  # 3
    assert f["surveys_answered"] == 3  # 1, 3, 6 of 4 closed
    assert f["survey_rate_pct"] == 75.0


def test_response_and_resolution_times_in_business_hours(result):
    f = {key: _figures(result)[title] for key, title in titles().items()}
    # First responses in the week (business hours): 1 Mon 09-11 = 2; 2 Mon 14-16 + Tue
    # 08-10 = 4; 5 Thu 09:00-09:30 = 0.5; 6 (round the clock) Sat 10-12 = 2.
    # [0.5, 2, 2, 4]: median 2, p90 (linear) 2 + 0.7 * (4 - 2) = 3.4
    assert f["first_responses"] == 4
    assert f["first_response_median_h"] == 2.0
    assert f["first_response_p90_h"] == 3.4
    assert f["first_response_sla_pct"] == 75.0  # 5 answered at 09:30, due 09:15
    # Resolutions: 1 Mon 09-15 = 6; 2 Mon 2 + Tue 8 + Wed 8 + Thu 4 = 22; 3 from Wed Oct 28
    # 09:00: 7 + 8 + 8 + (Mon) 8 + (Tue) 8 + (Wed) 4 = 43; 6 Sat 10 - Sun 08 = 22.
    # [6, 22, 22, 43]: median 22, p90 22 + 0.7 * 21 = 36.7
    assert f["resolution_median_h"] == 22.0
    assert f["resolution_p90_h"] == 36.7
    assert f["resolution_sla_pct"] == 50.0  # 1 and 6 on time


def test_agent_efficiency(result):
    f = {key: _figures(result)[title] for key, title in titles().items()}
    # replies in the week: agent_a 1 (case 1) + 2 (case 2) + 1 (3) + 1 (5); agent_b 1 (6)
    assert f["replies_sent"] == 6
    assert f["cases_handled"] == 5  # 1, 2, 3, 5, 6
    # Handling time = business hours received or in progress, arrival to close:
    # 1: 09-10 received, 10-11 and 14-15 in progress = 3; 2: Mon 14-15, 15-16, Tue 08-10,
    # Wed 09-16, Thu 08-12 = 1 + 1 + 2 + 7 + 4 = 15; 3: Oct 28 09:00-10:00 and Nov 4
    # 10-12 = 3; 6: Sat 10-12 and Sun 07-08 = 3. Median 3, mean 24 / 4 = 6.
    assert f["handling_median_h"] == 3.0
    assert f["handling_mean_h"] == 6.0
    assert f["one_touch_resolutions"] == 2  # 1 and 6 (3 and 2 had two replies)
    agent_a = _row(result, "By agent", "agent_a")
    assert (agent_a["cases_opened"], agent_a["cases_closed"], agent_a["cases_reopened"]) == (
        3,
        3,
        1,
    )
    assert (agent_a["cases_handled"], agent_a["replies_sent"], agent_a["emails_received"]) == (
        4,
        5,
        5,
    )
    assert agent_a["one_touch_resolutions"] == 1
    assert agent_a["handling_median_h"] == 3.0  # [3, 15, 3]
    agent_b = _row(result, "By agent", "agent_b")
    assert (agent_b["cases_closed"], agent_b["replies_sent"], agent_b["resolution_median_h"]) == (
        1,
        1,
        22.0,
    )
    nobody = _row(result, "By agent", metrics.NONE_LABEL)
    assert (nobody["backlog_now"], nobody["overdue_now"], nobody["emails_received"]) == (3, 1, 1)


def test_breakdowns_by_pool_topic_and_mailbox(result):
    pool_a = _row(result, "By pool", "Pool A")
    assert (pool_a["emails_received"], pool_a["cases_opened"], pool_a["cases_closed"]) == (6, 4, 3)
    assert (pool_a["backlog_now"], pool_a["overdue_now"]) == (3, 1)
    pool_b = _row(result, "By pool", "Pool B")
    assert (pool_b["cases_closed"], pool_b["closed_on_time_with_consultation"]) == (1, 1)
    billing = _row(result, "By topic", "Billing")
    assert (billing["cases_opened"], billing["cases_closed"], billing["emails_received"]) == (
        3,
        2,
        4,
    )
    hardware = _row(result, "By topic", "Hardware")
    assert (hardware["cases_reopened"], hardware["closed_late_without_consultation"]) == (1, 1)
    mailbox_b = _row(result, "By mailbox", "b@desk.test")
    assert mailbox_b["emails_received"] == 1


def test_consultations_before_and_after_the_deadline_per_department(result):
    legal = _row(result, "Consultations", "Legal")
    assert (legal["sent"], legal["answered_before_deadline"], legal["answered_after_deadline"]) == (
        2,
        1,
        0,
    )
    assert (legal["open_past_deadline"], legal["open_within_deadline"]) == (1, 0)
    finance = _row(result, "Consultations", "Finance")
    assert (
        finance["sent"],
        finance["answered_before_deadline"],
        finance["answered_after_deadline"],
    ) == (2, 1, 1)


def test_survey_scores_and_answers_per_value(result):
    survey = result.sheet("Survey").frame
    assert survey.to_dict("records") == [
        {
            "questionnaire": "Exit survey",
            "question": "How satisfied?",
            "answers": 3,
            "mean_score": 4.0,
            "lowest": 3.0,
            "highest": 5.0,
        }
    ]
    answers = result.sheet("Answers").frame
    counts = {(r["question"], r["value"]): r["count"] for r in answers.to_dict("records")}
    assert counts[("Product", "Printer")] == 2
    assert counts[("Product", "Scanner")] == 1
    assert counts[("How satisfied?", "5")] == 1


def test_volume_by_day_and_hour_of_week(result):
    by_day = result.sheet("By day").frame
    assert len(by_day) == 7
    monday = by_day.iloc[0]
    assert (monday["emails_received"], monday["cases_opened"], monday["cases_closed"]) == (3, 2, 1)
    assert by_day["emails_received"].sum() == 7
    week = result.sheet("By hour of week").frame
    assert len(week) == 168
    slot = week[week["slot"] == "Mon 09"].iloc[0]
    assert slot["emails_received"] == 1 and slot["cases_opened"] == 1
    assert week["emails_received"].sum() == 7


def test_the_local_day_follows_the_time_zone(synthetic):
    # In Tokyo (UTC+9) case 6's mail of Saturday 10:00 UTC lands on Saturday 19:00.
    tokyo = metrics.Period(date(2026, 11, 2), date(2026, 11, 8), "Asia/Tokyo")
    week = metrics.compute(tokyo, ["pool"], now=NOW).sheet("By hour of week").frame
    assert week[week["slot"] == "Sat 19"].iloc[0]["emails_received"] == 1


def test_a_supervisors_scope_covers_only_his_pools(synthetic):
    pool_a = synthetic.desk.pool_a.id
    result = metrics.compute(WEEK, now=NOW, pool_ids=[pool_a])
    f = {key: _figures(result)[title] for key, title in titles().items()}
    assert (f["emails_received"], f["cases_closed"], f["backlog_now"]) == (6, 3, 3)
    assert list(result.sheet("By pool").frame["pool"]) == ["Pool A"]
    finance = _row(result, "Consultations", "Finance")
    assert finance["sent"] == 1  # case 6 of pool B is not counted


def _summary(result):
    return {key: _figures(result)[title] for key, title in titles().items()}


def test_a_period_with_cases_but_no_first_reply_has_empty_medians(synthetic):
    # Wednesday: case 4 arrives and waits; case 3 is reopened, answered and closed again, but
    # its first reply was in October. No first reply in the period, one resolution.
    wednesday = metrics.Period(date(2026, 11, 4), date(2026, 11, 4), "UTC")
    result = metrics.compute(wednesday, now=NOW)
    f = _summary(result)
    assert (f["cases_opened"], f["first_responses"], f["cases_closed"]) == (1, 0, 1)
    assert f["first_response_median_h"] is None and f["first_response_p90_h"] is None
    assert f["first_response_sla_pct"] is None
    assert f["resolution_median_h"] == 43.0  # case 3, worked out above
    pool_a = _row(result, "By pool", "Pool A")
    assert pool_a["cases_opened"] == 1 and pd.isna(pool_a["first_response_median_h"])


def test_a_period_without_replies_or_closes_has_empty_times(synthetic):
    # Friday: nothing arrives, nobody replies or closes; only the backlog is there.
    friday = metrics.Period(date(2026, 11, 6), date(2026, 11, 6), "UTC")
    result = metrics.compute(friday, now=NOW)
    f = _summary(result)
    assert (f["cases_opened"], f["cases_closed"], f["first_responses"]) == (0, 0, 0)
    assert f["backlog_now"] == 4
    for column in ("first_response_median_h", "resolution_median_h", "resolution_p90_h"):
        assert f[column] is None, column
    assert f["handling_median_h"] is None and f["survey_rate_pct"] is None
    nobody = _row(result, "By agent", metrics.NONE_LABEL)
    assert nobody["backlog_now"] == 3 and pd.isna(nobody["resolution_median_h"])


def test_an_empty_period_and_scope_give_zeros_and_empty_sheets(synthetic):
    long_ago = metrics.Period(date(2020, 1, 1), date(2020, 1, 31), "UTC")
    result = metrics.compute(long_ago, now=NOW, pool_ids=[])
    f = _summary(result)
    assert f["emails_received"] == 0 and f["backlog_now"] == 0
    assert f["first_response_median_h"] is None and f["resolution_median_h"] is None
    for name in ("By agent", "By pool", "Intake answers", "Knowledge base use", "Answers"):
        sheet = result.sheet(name)
        assert sheet.frame.empty and set(k for k, _ in sheet.columns) <= set(sheet.frame)


def test_hours_that_come_as_objects_do_not_break_the_percentiles(synthetic):
    # What crashed ("dtype 'object' does not support operation 'quantile'"): a period whose
    # cases have no first reply gave a column of None, which pandas keeps as objects.
    engine = metrics.Engine(metrics.Period(date(2026, 11, 4), date(2026, 11, 4)), now=NOW)
    cases = engine.cases()
    cases["first_response_h"] = pd.Series([None] * len(cases), dtype=object, index=cases.index)
    table = engine.summarise(cases, engine.emails(), engine.handled(), "pool_id")
    assert table["first_response_median_h"].isna().all()
    assert table["resolution_median_h"].max() == 43.0
