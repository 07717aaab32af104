"""Entry point: ``flask --app run ...`` for commands, ``python run.py`` to serve the desk.

``make run`` uses this with the embedded queue; production serves ``run:app`` with gunicorn.
"""

import os
import sys

from app import create_app, freeze_startup_objects
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
    host = os.environ.get("LOOPDESK_HOST", "127.0.0.1")
    port = int(os.environ.get("LOOPDESK_PORT", "5000"))
    from app.cli import _read_credentials

    user, password = _read_credentials()
    print(
        f"\n  Loopdesk is running at http://{host}:{port}/\n"
        f"  Log in as {user!r} with password {password!r}\n",
        flush=True,
    )
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
