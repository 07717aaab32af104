"""Settings: declared once, read once, checked on the way in; a bad value stops the desk with
one line that names it, whichever door (environment or app config) it came through."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent


def _start(tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "desk", "credentials"],
        cwd=ROOT,
        env=dict(os.environ, LOOPDESK_INSTANCE=str(tmp_path), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("MAIL_PORT", "abc", "not a whole number"),
        ("DEFAULT_SLA_HOURS", "0", "must be at least 1"),
        ("OUTBOX_INTERRUPTED", "maybe", "must be one of fail, resend"),
        ("AUTO_MAIL_LIMITS", "ten per minute", "minutes:count pairs"),  # was silently ignored
        ("MAIL_FETCH_INTERVAL", "5", "must be at least 10"),  # was silently raised to 10
        ("LOOPDESK_EMBEDDED_WORKER", "sometimes", "expected on or off"),
        ("DESK_TIMEZONE", "Mars/Olympus", "not a time zone"),
    ],
)
def test_a_bad_value_in_the_environment_stops_the_desk_with_one_line(tmp_path, name, value, reason):
    result = _start(tmp_path, **{name: value, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"loopdesk: {name}={value!r}: {lines[0].split(': ', 2)[2]}"], result.stderr
    assert reason in lines[0]


def test_a_secret_setting_is_not_printed(tmp_path):
    result = _start(tmp_path, DATABASE_URL="sqlite-but-wrong:secret-password")
    assert result.returncode == 2
    assert "secret-password" not in result.stderr
    assert result.stderr.startswith("loopdesk: DATABASE_URL=***:")


def test_a_bad_value_in_the_app_config_is_refused_too(app_config):
    from app import create_app

    with pytest.raises(ConfigurationError, match="OUTBOX_MAX_ATTEMPTS=0: must be at least 1"):
        create_app(dict(app_config, OUTBOX_MAX_ATTEMPTS=0))


def test_values_are_parsed_once_into_the_app_config(app_config, monkeypatch):
    from app import create_app

    monkeypatch.setenv("AUTO_MAIL_LIMITS", "5:3,60:20")
    monkeypatch.setenv("OUTBOX_ENQUEUE_ON_COMMIT", "off")
    app = create_app(dict(app_config))
    assert app.config["AUTO_MAIL_LIMITS"] == ((5, 3), (60, 20))
    assert app.config["OUTBOX_ENQUEUE_ON_COMMIT"] is False
    assert app.config["MAIL_FETCH_INTERVAL"] == 60  # the default


def test_every_setting_is_documented_in_the_readme():
    from app.features import settings

    readme = (ROOT / "README.md").read_text()
    missing = [s.env_name for s in settings() if f"`{s.env_name}`" not in readme]
    assert not missing, f"settings missing from the README's configuration table: {missing}"
