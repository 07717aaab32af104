"""The staffing forecast: e-mails expected per day and per hour of the coming weeks, and the
agents they need.

1. **History.** Inbound e-mails per hour (grouped in the database), moved to the desk's
   time zone, for the last ``REPORTS_FORECAST_HISTORY_WEEKS`` full days.
2. **Two forecasts of the daily volume**, each measured on the history's last
   ``REPORTS_FORECAST_BACKTEST_WEEKS`` held out (trained on what came before, compared day by
   day: MAE and MAPE): *seasonal naive* (each day as the same weekday a week earlier) and
   *Holt-Winters* (``statsmodels`` ExponentialSmoothing: additive damped trend, additive
   weekly season). The one with the smaller MAE is used (a tie keeps the simpler naive
   one), refitted on the whole history.
3. **Per hour of the week**: each forecast day split by its weekday's hourly profile over
   the history (the share of the weekday's e-mails that came in each hour).
4. **Agents needed** per hour = volume × handling time per e-mail ÷ (1 productive hour ×
   occupancy target) ÷ (1 − shrinkage); per day the same with the agent's productive hours
   of a day (``REPORTS_AGENT_DAY_HOURS``). On top, the open backlog: each pool's open cases
   × the handling time per case, spread over the pool's SLA hours (counted in staffed hours,
   those in which agents replied in at least half of the history's weeks with replies)
   from now on.

The handling time is measured: for the cases closed in the last four weeks, the time they
spent *in progress* (claimed by an agent: not waiting in the queue, on the customer, in
consultation or postponed), each case capped at the 95th percentile, per case and per inbound
e-mail of those cases. With fewer than ``MIN_MEASURED`` such cases the forecast assumes
``REPORTS_HANDLING_MINUTES`` per e-mail and says so.

Erlang C is not used: it models callers who wait on the line and hang up, while an e-mail
waits in the queue as long as it has to; the occupancy target and the backlog term take its
place (README *Staffing forecast*).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from app.audit.models import Event
from app.cases.models import Case, Message, MessageDirection
from app.cases.workflow import CaseStatus
from app.core.settings import setting as core_setting
from app.extensions import db
from app.organisation.models import Pool
from reports.dashboard import WEEKDAYS, per_hour, to_local
from reports.metrics import Sheet
from reports.settings import setting

HOLT_WINTERS = "holt-winters"
SEASONAL_NAIVE = "seasonal-naive"
METHOD_TITLES = {HOLT_WINTERS: "Holt-Winters", SEASONAL_NAIVE: "Seasonal naive"}
PERIOD = 7  # days: the weekly season
MIN_MEASURED = 20  # closed cases needed to trust the measured handling time
MEASURE_DAYS = 28
IN_PROGRESS = CaseStatus.IN_PROGRESS.value
CLOSED = CaseStatus.CLOSED.value


class ForecastError(ValueError):
    """Too little history to forecast from."""


# --- the two forecasts -------------------------------------------------------------------------


def seasonal_naive(train: np.ndarray, horizon: int, period: int = PERIOD) -> np.ndarray:
    """Each coming day as the same day of the last season seen."""
    if len(train) < period:
        raise ForecastError(f"seasonal naive needs {period} days of history")
    last = np.asarray(train[-period:], dtype=float)
    return np.array([last[i % period] for i in range(horizon)])


def holt_winters(train: np.ndarray, horizon: int, period: int = PERIOD) -> np.ndarray:
    """Additive damped trend and additive season, fitted by statsmodels (its warnings about
    convergence are the fit's business: the backtest judges the result)."""
    if len(train) < 2 * period + 2:
        raise ForecastError(f"Holt-Winters needs {2 * period + 2} days of history")
    # Imported here: statsmodels (and SciPy under it) takes a second to import, and only the
    # forecast needs it, not every process that imports the reports.
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            np.asarray(train, dtype=float),
            trend="add",
            damped_trend=True,
            seasonal="add",
            seasonal_periods=period,
            initialization_method="estimated",
        ).fit()
        result = np.asarray(model.forecast(horizon), dtype=float)
    return np.clip(result, 0, None)  # no negative mail


METHODS = {SEASONAL_NAIVE: seasonal_naive, HOLT_WINTERS: holt_winters}


@dataclass(frozen=True)
class Backtest:
    method: str
    mae: float
    mape: float | None  # over the held-out days that had mail
    days: int

    @property
    def title(self) -> str:
        return METHOD_TITLES[self.method]


def errors(predicted: np.ndarray, actual: np.ndarray) -> tuple[float, float | None]:
    """MAE and MAPE (in %, over the days with mail) of a forecast."""
    predicted, actual = np.asarray(predicted, float), np.asarray(actual, float)
    mae = float(np.mean(np.abs(predicted - actual)))
    some = actual > 0
    if not some.any():
        return mae, None
    return mae, float(np.mean(np.abs(predicted[some] - actual[some]) / actual[some]) * 100)


def backtest(series: np.ndarray, holdout: int) -> list[Backtest]:
    """Each method trained on all but the last ``holdout`` days, scored on those."""
    train, test = series[:-holdout], series[-holdout:]
    results = []
    for method, fit in METHODS.items():
        try:
            predicted = fit(train, holdout)
        except ForecastError:
            continue
        mae, mape = errors(predicted, test)
        results.append(
            Backtest(method, round(mae, 3), None if mape is None else round(mape, 2), holdout)
        )
    if not results:
        raise ForecastError("not enough history for a backtest")
    return results


def choose(backtests: list[Backtest]) -> str:
    """The method with the smallest MAE; on a tie the seasonal naive one (the simpler)."""
    order = {SEASONAL_NAIVE: 0, HOLT_WINTERS: 1}
    return min(backtests, key=lambda b: (b.mae, order[b.method])).method


@dataclass
class DailyForecast:
    method: str
    backtests: list[Backtest]
    values: np.ndarray  # the coming days, from the day after the history


def forecast_days(series: np.ndarray, horizon: int, holdout: int) -> DailyForecast:
    """Backtest both methods on the last ``holdout`` days, forecast ``horizon`` days with
    the better one refitted on the whole series."""
    series = np.asarray(series, dtype=float)
    if len(series) < holdout + PERIOD:
        raise ForecastError(
            f"{len(series)} days of history: the forecast needs at least {holdout + PERIOD}"
        )
    tests = backtest(series, holdout)
    method = choose(tests)
    return DailyForecast(method, tests, METHODS[method](series, horizon))


# --- hours of the week -------------------------------------------------------------------------


def hourly_profile(hourly: pd.Series) -> np.ndarray:
    """7 × 24 shares: of a weekday's e-mails, the part that came in each hour (a weekday
    without mail spreads evenly)."""
    grid = np.zeros((7, 24))
    for at, n in hourly.items():
        grid[at.weekday(), at.hour] += n
    totals = grid.sum(axis=1, keepdims=True)
    return np.where(totals > 0, grid / np.where(totals > 0, totals, 1), 1 / 24)


def split_by_hour(days: list[date], values: np.ndarray, profile: np.ndarray) -> pd.DataFrame:
    rows = []
    for day, total in zip(days, values, strict=True):
        for hour in range(24):
            rows.append(
                {
                    "slot": datetime.combine(day, time(hour)),
                    "weekday": WEEKDAYS[day.weekday()],
                    "hour": hour,
                    "emails": float(total) * profile[day.weekday(), hour],
                }
            )
    return pd.DataFrame(rows)


# --- staffing ----------------------------------------------------------------------------------


def agents_needed(
    volume: float,
    handling_hours: float,
    productive_hours: float,
    occupancy: float,
    shrinkage: float,
) -> float:
    """volume × handling time ÷ (productive hours × occupancy target) ÷ (1 − shrinkage)."""
    if not 0 < occupancy <= 1 or not 0 <= shrinkage < 1 or productive_hours <= 0:
        raise ValueError("occupancy in (0, 1], shrinkage in [0, 1), productive hours > 0")
    return volume * handling_hours / (productive_hours * occupancy) / (1 - shrinkage)


def backlog_drain(
    slots: list[datetime],
    staffed: set[tuple[int, int]],
    now: datetime,
    backlog: list[tuple[int, float]],
    handling_case_hours: float,
    occupancy: float,
    shrinkage: float,
) -> list[float]:
    """Agents per slot (hour) to work off the open backlog: each pool's ``(open cases, SLA
    hours)``, its work (cases × handling time per case) spread evenly over the first SLA
    hours of staffed slots that start at or after ``now``."""
    extra = [0.0] * len(slots)
    upcoming = [
        i for i, slot in enumerate(slots) if slot >= now and (slot.weekday(), slot.hour) in staffed
    ]
    for cases, sla_hours in backlog:
        if cases <= 0 or not upcoming:
            continue
        window = upcoming[: max(1, math.ceil(sla_hours))]
        per_slot = cases * handling_case_hours / len(window)
        for i in window:
            extra[i] += agents_needed(per_slot, 1.0, 1.0, occupancy, shrinkage)
    return extra


# --- reading the desk --------------------------------------------------------------------------


@dataclass
class Handling:
    per_email_h: float
    per_case_h: float
    cases: int  # closed cases measured
    measured: bool


def _scoped(stmt, pool_ids):
    return stmt if pool_ids is None else stmt.where(Case.pool_id.in_(pool_ids))


def measure_handling(pool_ids: list[int] | None, now: datetime) -> Handling:
    """The time in progress of the cases closed in the last four weeks (module docstring)."""
    since = now - timedelta(days=MEASURE_DAYS)
    closed = _scoped(
        select(Case.id).where(
            Case.status == CLOSED, Case.closed_at >= since, Case.closed_at <= now
        ),
        pool_ids,
    )
    following = (
        func.lead(Event.created_at)
        .over(partition_by=Event.case_id, order_by=(Event.created_at, Event.id))
        .label("until")
    )
    spans = (
        select(Event.case_id, Event.created_at, Event.new_value, following)
        .where(Event.action == "status", Event.case_id.in_(closed))
        .subquery()
    )
    rows = db.session.execute(
        select(spans.c.case_id, spans.c.created_at, spans.c.until).where(
            spans.c.new_value == IN_PROGRESS, spans.c.until.is_not(None)
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["case_id", "since", "until"])
    fallback = setting("REPORTS_HANDLING_MINUTES") / 60
    if frame.empty:
        return Handling(fallback, fallback, 0, False)
    frame["hours"] = (
        pd.to_datetime(frame["until"]) - pd.to_datetime(frame["since"])
    ).dt.total_seconds() / 3600
    per_case = frame.groupby("case_id")["hours"].sum()
    per_case = per_case[per_case > 0]
    if len(per_case) < MIN_MEASURED:
        return Handling(fallback, fallback, int(len(per_case)), False)
    per_case = per_case.clip(upper=per_case.quantile(0.95))
    mails = dict(
        db.session.execute(
            select(Message.case_id, func.count(Message.id))
            .where(
                Message.direction == MessageDirection.INBOUND.value,
                Message.case_id.in_(closed),
            )
            .group_by(Message.case_id)
        )
        .tuples()
        .all()
    )
    emails = sum(max(1, mails.get(int(c), 0)) for c in per_case.index)
    return Handling(
        per_email_h=float(per_case.sum() / emails),
        per_case_h=float(per_case.mean()),
        cases=int(len(per_case)),
        measured=True,
    )


def staffed_hours(
    pool_ids, since: datetime, until: datetime, zone: ZoneInfo
) -> set[tuple[int, int]]:
    """(weekday, hour) in which agents replied in at least half of the history's weeks that
    had replies at all (every hour of the week when nobody ever replied)."""
    replies = to_local(
        per_hour(
            Message.created_at,
            pool_ids,
            since,
            until,
            Message.direction == MessageDirection.OUTBOUND.value,
            Message.author_id.is_not(None),
            base=Message.__table__.join(Case.__table__, Case.id == Message.case_id),
        ),
        zone,
    )
    seen: dict[tuple[int, int], set] = {}
    for at in replies.index:
        seen.setdefault((at.weekday(), at.hour), set()).add(at.isocalendar()[:2])
    active = len(set().union(*seen.values())) if seen else 0  # weeks with any reply
    staffed = {slot for slot, w in seen.items() if len(w) * 2 >= active}
    return staffed or {(d, h) for d in range(7) for h in range(24)}


def open_backlog(pool_ids) -> list[dict[str, Any]]:
    """Open cases now per pool with the pool's SLA hours (the desk's default without)."""
    default = int(core_setting("DEFAULT_SLA_HOURS") or 24)
    stmt = _scoped(
        select(Pool.id, Pool.name, Pool.sla_hours, func.count(Case.id))
        .join(Case, Case.pool_id == Pool.id)
        .where(Case.status != CLOSED)
        .group_by(Pool.id, Pool.name, Pool.sla_hours)
        .order_by(Pool.name),
        pool_ids,
    )
    return [
        {"pool": name, "cases": int(n), "sla_hours": int(sla or default)}
        for _, name, sla, n in db.session.execute(stmt)
    ]


# --- the forecast ------------------------------------------------------------------------------


@dataclass
class StaffingForecast:
    time_zone: str
    history_since: date
    history_until: date
    method: str
    backtests: list[Backtest]
    hourly_mae: float | None  # of the chosen method's held-out days split by the profile
    handling: Handling
    occupancy: float
    shrinkage: float
    day_hours: int
    backlog: list[dict[str, Any]]
    days: pd.DataFrame  # day, weekday, emails, agents
    hours: pd.DataFrame  # slot, weekday, hour, emails, agents_volume, agents_backlog, agents
    history: pd.DataFrame  # day, emails (the history's daily counts)

    @property
    def method_title(self) -> str:
        return METHOD_TITLES[self.method]

    def chart_data(self) -> dict[str, Any]:
        """What the page's charts draw (JSON): the history and the forecast per day, and
        the agents per hour of the coming seven days."""
        week = self.hours.iloc[: 7 * 24]
        return {
            "method": self.method_title,
            "history": [
                {"day": d.isoformat(), "emails": int(n)}
                for d, n in zip(self.history["day"], self.history["emails"], strict=True)
            ],
            "days": [
                {"day": r.day.isoformat(), "emails": float(r.emails), "agents": float(r.agents)}
                for r in self.days.itertuples(index=False)
            ],
            "hours": [
                {
                    "slot": r.slot.strftime("%a %H:00"),
                    "emails": float(r.emails),
                    "agents_volume": float(r.agents_volume),
                    "agents_backlog": float(r.agents_backlog),
                }
                for r in week.itertuples(index=False)
            ],
        }


def build(
    pool_ids: list[int] | None, now: datetime, time_zone: str | None = None
) -> StaffingForecast:
    """The staffing forecast for the pools ``pool_ids`` (None: the whole desk)."""
    zone_name = time_zone or str(core_setting("DESK_TIMEZONE") or "UTC")
    zone = ZoneInfo(zone_name)
    weeks = int(setting("REPORTS_FORECAST_HISTORY_WEEKS"))
    holdout = 7 * int(setting("REPORTS_FORECAST_BACKTEST_WEEKS"))
    horizon = 7 * int(setting("REPORTS_FORECAST_WEEKS"))
    occupancy = setting("REPORTS_OCCUPANCY_TARGET_PCT") / 100
    shrinkage = setting("REPORTS_SHRINKAGE_PCT") / 100
    day_hours = int(setting("REPORTS_AGENT_DAY_HOURS"))

    local_now = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    today = local_now.date()
    first = today - timedelta(days=7 * weeks)
    since_utc = (
        datetime.combine(first, time())
        .replace(tzinfo=zone)
        .astimezone(ZoneInfo("UTC"))
        .replace(tzinfo=None)
    )
    inbound = to_local(
        per_hour(
            Message.created_at,
            pool_ids,
            since_utc,
            now,
            Message.direction == MessageDirection.INBOUND.value,
            base=Message.__table__.join(Case.__table__, Case.id == Message.case_id),
        ),
        zone,
    )
    start, end = pd.Timestamp(first), pd.Timestamp(today)
    if not inbound.empty:
        inbound = inbound[(inbound.index >= start) & (inbound.index < end)]
    history_index = pd.date_range(first, today - timedelta(days=1), freq="D")
    daily = (
        inbound.groupby(inbound.index.normalize()).sum().reindex(history_index, fill_value=0)
        if not inbound.empty
        else pd.Series(0, index=history_index)
    )
    series = daily.to_numpy(dtype=float)
    result = forecast_days(series, horizon, holdout)

    # The hourly error of the chosen method: its held-out days split by the training profile.
    cut = pd.Timestamp(history_index[-holdout])
    train_hours = inbound[inbound.index < cut] if not inbound.empty else inbound
    held_days = [d.date() for d in history_index[-holdout:]]
    held = split_by_hour(
        held_days, METHODS[result.method](series[:-holdout], holdout), hourly_profile(train_hours)
    )
    actual = inbound.reindex(pd.DatetimeIndex(held["slot"]), fill_value=0).to_numpy(float)
    hourly_mae = round(float(np.mean(np.abs(held["emails"].to_numpy() - actual))), 3)

    handling = measure_handling(pool_ids, now)
    profile = hourly_profile(inbound)
    coming = [today + timedelta(days=i) for i in range(horizon)]
    hours = split_by_hour(coming, result.values, profile)
    hours["agents_volume"] = [
        agents_needed(v, handling.per_email_h, 1.0, occupancy, shrinkage) for v in hours["emails"]
    ]
    backlog = open_backlog(pool_ids)
    staffed = staffed_hours(pool_ids, since_utc, now, zone)
    hours["agents_backlog"] = backlog_drain(
        list(hours["slot"]),
        staffed,
        local_now.replace(minute=0, second=0, microsecond=0),
        [(b["cases"], b["sla_hours"]) for b in backlog],
        handling.per_case_h,
        occupancy,
        shrinkage,
    )
    hours["agents"] = hours["agents_volume"] + hours["agents_backlog"]
    days = pd.DataFrame(
        {
            "day": coming,
            "weekday": [WEEKDAYS[d.weekday()] for d in coming],
            "emails": result.values,
            "agents": [
                agents_needed(v, handling.per_email_h, day_hours, occupancy, shrinkage)
                for v in result.values
            ],
            "peak_hour_agents": hours.groupby(hours["slot"].dt.date)["agents"].max().to_numpy(),
        }
    )
    for column in ("emails", "agents_volume", "agents_backlog", "agents"):
        hours[column] = hours[column].round(2)
    for column in ("emails", "agents", "peak_hour_agents"):
        days[column] = days[column].round(2)
    return StaffingForecast(
        time_zone=zone_name,
        history_since=first,
        history_until=today - timedelta(days=1),
        method=result.method,
        backtests=result.backtests,
        hourly_mae=hourly_mae,
        handling=handling,
        occupancy=occupancy,
        shrinkage=shrinkage,
        day_hours=day_hours,
        backlog=backlog,
        days=days,
        hours=hours,
        history=pd.DataFrame({"day": [d.date() for d in history_index], "emails": series}),
    )


# --- in the report's spreadsheet ---------------------------------------------------------------


def sheets(forecast: StaffingForecast) -> list[Sheet]:
    """The forecast as report sheets (``reports.spreadsheet`` writes them with their
    native charts): the method and its backtest, per day, per hour."""
    f = forecast
    method_rows: list[tuple[str, Any]] = [
        (
            "History",
            f"{f.history_since.isoformat()} to {f.history_until.isoformat()} ({f.time_zone})",
        ),
        ("Method used", f.method_title),
    ]
    for b in f.backtests:
        method_rows.append(
            (f"{b.title}: MAE (e-mails per day, last {b.days} days held out)", b.mae)
        )
        method_rows.append((f"{b.title}: MAPE %", b.mape))
    method_rows += [
        (f"{f.method_title}: MAE per hour (held-out days)", f.hourly_mae),
        (
            "Handling time per e-mail (minutes)"
            + ("" if f.handling.measured else ", assumed: too few closed cases to measure"),
            round(f.handling.per_email_h * 60, 1),
        ),
        ("Handling time per open case (minutes)", round(f.handling.per_case_h * 60, 1)),
        ("Closed cases measured (last 4 weeks)", f.handling.cases),
        ("Occupancy target %", round(f.occupancy * 100)),
        ("Shrinkage %", round(f.shrinkage * 100)),
        ("Productive hours of an agent's day", f.day_hours),
        ("Open backlog now (cases)", sum(b["cases"] for b in f.backlog)),
    ]
    method = Sheet(
        "Forecast method",
        [("item", "Item"), ("value", "Value")],
        pd.DataFrame(method_rows, columns=["item", "value"]).astype({"value": object}),
    )
    by_day = Sheet(
        "Forecast by day",
        [
            ("day", "Day"),
            ("weekday", "Weekday"),
            ("emails", "E-mails expected"),
            ("agents", "Agents needed (day)"),
            ("peak_hour_agents", "Agents needed, busiest hour"),
        ],
        f.days,
        chart={
            "kind": "line",
            "title": f"E-mails expected per day ({f.method_title})",
            "category": "day",
            "values": ["emails"],
        },
    )
    by_hour = Sheet(
        "Forecast by hour",
        [
            ("slot", "Hour"),
            ("weekday", "Weekday"),
            ("hour", "Hour of day"),
            ("emails", "E-mails expected"),
            ("agents_volume", "Agents for the new mail"),
            ("agents_backlog", "Agents for the backlog"),
            ("agents", "Agents needed"),
        ],
        f.hours,
        chart={
            "kind": "column",
            "title": "Agents needed per hour",
            "category": "slot",
            "values": ["agents"],
        },
    )
    return [method, by_day, by_hour]
