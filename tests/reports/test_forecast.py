"""The staffing forecast: the two daily forecasts and their backtest on synthetic series,
the agents needed worked out by hand, and the forecast of a desk with twelve weeks of mail
(its page, and its sheets in the report's spreadsheet)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from app.audit.models import Event
from app.cases.models import Case, Message
from app.extensions import db
from reports import forecast

# Mon … Sun: a desk that is busy early in the week and quiet at the weekend.
PATTERN = np.array([120.0, 110, 100, 95, 80, 25, 15])


def weeks(n: int, noise: float, seed: int = 7, trend: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    days = np.arange(7 * n)
    return np.tile(PATTERN, n) + trend * days + rng.normal(0, noise, 7 * n)


def test_a_weekly_pattern_with_noise_is_recovered_within_ten_percent():
    series = weeks(12, noise=8)
    result = forecast.forecast_days(series, 14, holdout=14)
    assert result.method in (forecast.HOLT_WINTERS, forecast.SEASONAL_NAIVE)
    # The stated error: each weekday of the coming two weeks within 10 % of the pattern's
    # mean (10.6 e-mails), and the mean absolute error under 6 % of it.
    expected = np.tile(PATTERN, 2)
    assert np.max(np.abs(result.values - expected)) < 0.10 * PATTERN.mean()
    assert np.mean(np.abs(result.values - expected)) < 0.06 * PATTERN.mean()
    # The shape: busiest Monday, quietest Sunday.
    assert int(np.argmax(result.values[:7])) == 0 and int(np.argmin(result.values[:7])) == 6


def test_holt_winters_beats_seasonal_naive_on_a_growing_desk_and_is_chosen():
    series = weeks(12, noise=5, trend=1.5)  # ten more e-mails a day every week
    result = forecast.forecast_days(series, 14, holdout=14)
    scores = {b.method: b for b in result.backtests}
    hw, naive = scores[forecast.HOLT_WINTERS], scores[forecast.SEASONAL_NAIVE]
    # Naive repeats the last week: 10.5 e-mails a day behind in the first held-out week,
    # 21 in the second, 15.75 on average (plus the noise).
    assert naive.mae == pytest.approx(15.75, abs=3)
    assert hw.mae < 0.5 * naive.mae
    assert result.method == forecast.HOLT_WINTERS
    assert hw.mape is not None and naive.mape is not None


def test_seasonal_naive_wins_when_the_weekly_pattern_changed_and_ties_on_an_exact_one():
    # The desk moved its quiet days to Monday and Tuesday three weeks ago: the naive
    # forecast follows at once, Holt-Winters' season still remembers nine old weeks.
    shifted = np.concatenate([np.tile(PATTERN, 9), np.tile(np.roll(PATTERN, 2), 3)])
    shifted = shifted + np.random.default_rng(3).normal(0, 2, len(shifted))
    result = forecast.forecast_days(shifted, 14, holdout=14)
    scores = {b.method: b.mae for b in result.backtests}
    assert scores[forecast.SEASONAL_NAIVE] < scores[forecast.HOLT_WINTERS]
    assert result.method == forecast.SEASONAL_NAIVE
    # An exact repetition: both are (all but) perfect, and the tie keeps the simpler one.
    exact = forecast.forecast_days(np.tile(PATTERN, 12), 14, holdout=14)
    assert all(b.mae < 1e-6 for b in exact.backtests)
    assert exact.method == forecast.SEASONAL_NAIVE


def test_too_little_history_is_refused_with_the_reason():
    with pytest.raises(forecast.ForecastError, match="needs at least 21"):
        forecast.forecast_days(np.ones(20), 7, holdout=14)
    # Enough for the naive forecast, not for Holt-Winters: the naive one is used.
    result = forecast.forecast_days(np.tile(PATTERN, 3), 7, holdout=7)
    assert [b.method for b in result.backtests] == [forecast.SEASONAL_NAIVE]


def test_the_errors_by_hand():
    mae, mape = forecast.errors(np.array([10.0, 12, 5]), np.array([8.0, 12, 0]))
    assert mae == pytest.approx((2 + 0 + 5) / 3)
    assert mape == pytest.approx((2 / 8 + 0) / 2 * 100)  # the day without mail left out


def test_the_agents_needed_by_hand():
    # 30 e-mails in an hour, 15 minutes each: 7.5 hours of work; an agent's hour at 85 %
    # occupancy gives 0.85 h; 30 % shrinkage: 7.5 / 0.85 / 0.7 = 12.605 agents.
    assert forecast.agents_needed(30, 0.25, 1, 0.85, 0.30) == pytest.approx(12.6050, abs=1e-4)
    # A day: 200 e-mails × 0.25 h = 50 h over 8 productive hours × 0.85, ÷ 0.7: 10.504.
    assert forecast.agents_needed(200, 0.25, 8, 0.85, 0.30) == pytest.approx(10.5042, abs=1e-4)
    with pytest.raises(ValueError):
        forecast.agents_needed(1, 1, 1, 0.85, 1.0)


def test_the_backlog_is_drained_over_the_sla_in_staffed_hours():
    monday = datetime(2026, 11, 9)
    slots = [monday + timedelta(hours=h) for h in range(48)]
    staffed = {(d, h) for d in range(7) for h in range(8, 16)}  # 08:00-16:00
    now = monday + timedelta(hours=10)
    # 40 open cases of 0.5 h with an 8-hour SLA: 20 h of work over the next 8 staffed
    # hours (Mon 10-15, Tue 08-09): 2.5 h per hour, / 0.8 occupancy / (1 - 0.2) = 3.906.
    extra = forecast.backlog_drain(slots, staffed, now, [(40, 8)], 0.5, 0.8, 0.2)
    busy = [slots[i] for i, x in enumerate(extra) if x]
    assert busy[0] == monday + timedelta(hours=10) and len(busy) == 8
    assert busy[-1] == monday + timedelta(days=1, hours=9)
    assert extra[10] == pytest.approx(2.5 / 0.8 / 0.8)
    assert sum(extra) == pytest.approx(20 / 0.8 / 0.8)


# --- a desk with twelve weeks of mail ----------------------------------------------------------

TODAY = datetime(2026, 11, 30)  # a Monday; the history runs to Sunday 29 November
NOW = TODAY + timedelta(hours=9, minutes=30)


def _history(desk):
    """Twelve weeks of mail in pool A on the weekly pattern (÷10), arriving 09:00-12:59,
    each mail a case; the last four weeks' cases closed after 30 minutes in progress."""
    rng = np.random.default_rng(11)
    start = TODAY - timedelta(days=84)
    cases, messages, events = [], [], []
    n = 0
    for day in range(84):
        date = start + timedelta(days=day)
        for k in range(int(PATTERN[date.weekday()] / 10)):
            n += 1
            at = date + timedelta(hours=9 + k % 4, minutes=int(rng.integers(0, 60)))
            recent = day >= 84 - 28
            cases.append(
                dict(
                    number=f"HIS-{n}",
                    subject="history",
                    pool_id=desk.pool_a.id,
                    status="closed" if recent else "received",
                    priority=2,
                    received_at=at,
                    updated_at=at,
                    closed_at=at + timedelta(minutes=40) if recent else None,
                    first_response_at=at + timedelta(minutes=25) if recent else None,
                    sla_paused_business_seconds=0,
                )
            )
    ids = [
        db.session.execute(insert(Case.__table__).values(**c)).inserted_primary_key[0]
        for c in cases
    ]
    for case_id, c in zip(ids, cases, strict=True):
        messages.append(
            dict(
                case_id=case_id,
                direction="inbound",
                author_id=None,  # every row names the same columns (one executemany)
                subject="x",
                created_at=c["received_at"],
            )
        )
        if c["closed_at"]:
            claimed = c["received_at"] + timedelta(minutes=5)
            for at, old, new in (
                (claimed, "received", "in_progress"),
                (claimed + timedelta(minutes=30), "in_progress", "closed"),
            ):
                events.append(
                    dict(
                        case_id=case_id,
                        created_at=at,
                        actor_name="agent_a",
                        object_type="case",
                        action="status",
                        old_value=old,
                        new_value=new,
                    )
                )
            messages.append(
                dict(
                    case_id=case_id,
                    direction="outbound",
                    author_id=desk.user("agent_a").id,
                    subject="re",
                    created_at=claimed + timedelta(minutes=20),
                )
            )
    db.session.execute(insert(Message.__table__), messages)
    db.session.execute(insert(Event.__table__), events)
    db.session.commit()
    return len(cases)


def test_the_forecast_of_a_desk_from_its_history(desk, app):
    _history(desk)
    app.config.update(REPORTS_OCCUPANCY_TARGET_PCT=80, REPORTS_SHRINKAGE_PCT=20)
    result = forecast.build(None, NOW, "UTC")
    assert (result.history_since.isoformat(), result.history_until.isoformat()) == (
        "2026-09-07",
        "2026-11-29",
    )
    # Handling: 30 minutes in progress per closed case, one e-mail each.
    assert result.handling.measured and result.handling.cases == 4 * 53
    assert result.handling.per_email_h == pytest.approx(0.5)
    # The mail is exactly periodic (12, 11, 10, 9, 8, 2, 1 a day): both methods forecast it.
    assert min(b.mae for b in result.backtests) < 0.5
    assert list(result.days["emails"].round()[:7]) == [12, 11, 10, 9, 8, 2, 1]
    monday = result.days.iloc[0]
    # 12 e-mails × 0.5 h ÷ (8 h × 0.8) ÷ 0.8 = 1.17 agents for the day.
    assert monday["agents"] == pytest.approx(12 * 0.5 / (8 * 0.8) / 0.8, abs=0.01)
    # Mail comes at 09-12 only, 3 an hour on Mondays: 3 × 0.5 / 0.8 / 0.8 = 2.34 agents.
    hours = result.hours[result.hours["slot"].dt.date == TODAY.date()]
    assert hours["emails"].sum() == pytest.approx(12, abs=0.5)
    nine = hours[hours["hour"] == 9].iloc[0]
    assert nine["emails"] == pytest.approx(3, abs=0.3)
    assert nine["agents_volume"] == pytest.approx(3 * 0.5 / 0.64, abs=0.2)
    # The open backlog (the 8 weeks before, never closed, + the desk's two new cases) is
    # drained over pool A's 8 SLA hours and pool B's 24, in the hours agents replied in
    # (09:25-13:25: 09 to 13) from this hour on.
    assert sum(b["cases"] for b in result.backlog) > 200
    drained = hours[hours["agents_backlog"] > 0]
    assert set(drained["hour"]) == {9, 10, 11, 12, 13}
    assert hours[hours["hour"] == 8]["agents_backlog"].iloc[0] == 0  # before now, not staffed


def test_the_forecast_page_and_its_sheets(desk, client, auth, app):
    _history(desk)
    auth.login("manager")
    page = client.get("/reports/forecast")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Seasonal naive" in html and "Holt-Winters" in html and "MAE" in html
    assert 'id="chart-forecast"' in html and 'id="table-forecast-days"' in html
    auth.logout()
    auth.login("agent_a")
    assert client.get("/reports/forecast").status_code == 403


def test_the_report_spreadsheet_carries_the_forecast_with_a_native_chart(desk, app, tmp_path):
    import zipfile

    from openpyxl import load_workbook

    from app.audit.actor import acting_as
    from reports import services

    _history(desk)
    manager = desk.user("manager")
    params = {"since": "2026-11-23", "until": "2026-11-29", "time_zone": "UTC"}
    with acting_as(manager):
        run = services.start_run(services.DESK_REPORT, dict(params, breakdowns=[]), manager)
    services.run_report(run.id, run.job_id, now=NOW)
    db.session.refresh(run)
    assert run.status == "done", run.error
    path = services.result_file(run)
    book = load_workbook(path)
    assert {"Forecast method", "Forecast by day", "Forecast by hour"} <= set(book.sheetnames)
    method = {
        row[0]: row[1] for row in book["Forecast method"].iter_rows(min_row=2, values_only=True)
    }
    assert method["Method used"] in ("Holt-Winters", "Seasonal naive")
    assert method["Seasonal naive: MAPE %"] is not None
    assert any(key.startswith("Holt-Winters: MAE") for key in method)
    days = list(book["Forecast by day"].iter_rows(min_row=2, values_only=True))
    assert len(days) == 28 and round(days[0][2]) == 12  # Monday 30 November: 12 e-mails
    # The native chart of the day sheet, and of the hour sheet.
    with zipfile.ZipFile(path) as archive:
        assert sum(n.startswith("xl/charts/chart") for n in archive.namelist()) >= 3

    # Without the forecast when asked so.
    with acting_as(manager):
        plain = services.start_run(
            services.DESK_REPORT, dict(params, breakdowns=[], forecast=False), manager
        )
    services.run_report(plain.id, plain.job_id, now=NOW)
    assert "Forecast by day" not in load_workbook(services.result_file(plain)).sheetnames
