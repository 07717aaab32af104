"""Entry point: ``flask --app run ...`` for commands, ``python run.py`` to serve the desk.

``make run`` uses this with the embedded queue; production serves ``run:app`` with gunicorn.
"""

import os
import sys

from app import create_app
from app.errors import ConfigurationError

try:
    app = create_app()
except ConfigurationError as exc:
    print(f"loopdesk: {exc}", file=sys.stderr)
    sys.exit(2)


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
