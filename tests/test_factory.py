"""The app factory, configuration errors and the offline promise."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_two_apps_in_one_process_both_serve_views(app_config):
    from app import create_app

    first = create_app(dict(app_config))
    second = create_app(dict(app_config))
    for a in (first, second):
        assert "CaseView.list" in {r.endpoint for r in a.url_map.iter_rules()}


def test_login_page_is_served(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"password" in response.data.lower()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/cases/list/")
    assert response.status_code == 302
    assert "/login/" in response.location


def _run(env_extra):
    import os

    env = dict(os.environ, **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "desk", "credentials"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unreachable_database_url_gives_one_clear_line(tmp_path):
    result = _run(
        {
            "DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/nope",
            "LOOPDESK_INSTANCE": str(tmp_path),
        }
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("loopdesk: cannot use DATABASE_URL")
    assert "secret" not in lines[0]  # the password is not printed
    assert "Traceback" not in result.stderr


def test_wrong_redis_url_gives_one_clear_line(tmp_path):
    result = _run(
        {
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "LOOPDESK_INSTANCE": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
        }
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("loopdesk: cannot use REDIS_URL"), result.stderr


def test_secret_key_is_generated_once_and_kept(tmp_path):
    code = "import config; print(config.Config.SECRET_KEY)"
    env = {"LOOPDESK_INSTANCE": str(tmp_path)}
    import os

    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=dict(os.environ, **env),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs[0] and runs[0] == runs[1]
    assert (tmp_path / "secret_key").read_text().strip() == runs[0]


EXTERNAL = re.compile(rb"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)


def test_pages_load_nothing_from_the_internet(client, auth, desk):
    assert not EXTERNAL.search(client.get("/login/").data)
    auth.login("admin")
    pages = [
        "/cases/list/",
        f"/cases/show/{desk.case_a.id}",
        "/pools/list/",
        "/customers/list/",
        "/events/list/",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert not EXTERNAL.search(response.data), f"{page} loads an external asset"


def test_mail_pipe_asks_the_mta_to_retry_when_the_database_is_down(tmp_path):
    import os

    env = dict(
        os.environ,
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/nope",
        LOOPDESK_INSTANCE=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "mail", "pipe", "--mailbox", "a@desk.test"],
        cwd=ROOT,
        env=env,
        input=b"Subject: hi\r\n\r\nbody\r\n",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 75  # EX_TEMPFAIL: the MTA keeps the mail and retries
    assert b"cannot use DATABASE_URL" in result.stderr


def test_embedded_sqlite_uses_wal_and_enforces_foreign_keys(app_config, tmp_path):
    """The embedded default (whatever database this test run uses for the rest)."""
    from sqlalchemy import text

    from app import create_app
    from app.extensions import db

    app_config.update(SQLITE_WAL=True, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/e.db")
    app = create_app(app_config)
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()


def test_mail_pipe_as_the_mta_starts_it_opens_a_case(databases, tmp_path):
    """The real command, in its own process (it starts without the pages: faster per mail)."""
    from app.cases.models import Case
    from app.extensions import db
    from tests.mail.helpers import separate_desk

    app, url, env = separate_desk(databases, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "mail", "pipe"]
        + ["--mailbox", "support@desk.test"],
        cwd=ROOT,
        env=env,
        input=b"From: eve@customer.test\r\nSubject: Piped in\r\n\r\nHello\r\n",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert b"processed" in result.stdout
    with app.app_context():
        case = db.session.scalar(db.select(Case).where(Case.subject == "Piped in"))
        assert case is not None and case.customer.email == "eve@customer.test"
        db.session.remove()
        db.engine.dispose()
    databases.drop(url)


def test_a_desk_process_keeps_its_start_up_objects_out_of_the_collectors_way(tmp_path):
    """run.py (gunicorn, the CLI, `python run.py`) builds one app per process and freezes
    what start-up built, so full garbage collections stop walking it (see create_app)."""
    import os

    code = "import gc, run; print(gc.get_freeze_count())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=dict(os.environ, LOOPDESK_INSTANCE=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) > 100_000


def test_building_apps_in_one_process_does_not_freeze_them(app_config):
    import gc

    from app import create_app

    before = gc.get_freeze_count()
    create_app(dict(app_config))
    assert gc.get_freeze_count() == before
