"""Entry point: ``flask --app run ...`` for commands, ``python run.py`` to serve the desk.

``make run`` uses this with the embedded queue; production serves ``run:app`` with gunicorn.
"""

import sys

from app import create_app, freeze_startup_objects
from app.core.urls import desk_base_url, served_address
from app.errors import ConfigurationError

EX_TEMPFAIL = 75  # sysexits.h: "try again later"; an MTA keeps the mail and retries


def _is_mail_pipe() -> bool:
    """``flask --app run mail pipe …``: started by the MTA once per mail."""
    args = sys.argv[1:]
    return any(args[i : i + 2] == ["mail", "pipe"] for i in range(len(args) - 1))


def _exit_code_for_startup_failure() -> int:
    """``mail pipe`` runs under an MTA: a desk that cannot start must make it retry (75), not
    bounce the mail as a permanent failure (any other code)."""
    return EX_TEMPFAIL if _is_mail_pipe() else 2


try:
    # The pipe serves no pages: it starts without them (faster, once per mail).
    app = create_app(views=not _is_mail_pipe())
except ConfigurationError as exc:
    print(f"loopdesk: {exc}", file=sys.stderr)
    sys.exit(_exit_code_for_startup_failure())
freeze_startup_objects()  # one app for the life of this process


if __name__ == "__main__":
    from app.cli import _read_credentials

    # LOOPDESK_HOST / LOOPDESK_PORT (config.py) choose the address; links to customers
    # follow it unless DESK_BASE_URL names the public one.
    host, port = served_address(app.config)
    user, password = _read_credentials()
    with app.app_context():
        links = (
            f"start with {desk_base_url()} (DESK_BASE_URL)"
            if app.config.get("DESK_BASE_URL")
            else "follow the address the desk is opened at (DESK_BASE_URL fixes one)"
        )
    print(
        f"\n  Loopdesk is running at http://{host}:{port}/"
        "  (LOOPDESK_HOST and LOOPDESK_PORT change it)\n"
        f"  Links mailed to customers {links}\n"
        f"  Log in as {user!r} with password {password!r}\n",
        flush=True,
    )
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
