"""`python -m regflow_portal [--host H] [--port N]`: serve the portal (`--port 0`: any free port).

Settings come from `REGFLOW_PORTAL_*` (docs/operations.md); settings that are unsafe outside
development mode stop it with a message and exit status 2.
"""

from __future__ import annotations

import argparse

import structlog

from regflow_portal import UnsafeSettingsError, create_app
from regflow_portal._server import portal_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="regflow_portal", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    try:
        app = create_app()
    except UnsafeSettingsError as refused:
        parser.exit(2, f"regflow_portal: {refused}\n")
    server = portal_server(app, args.host, args.port)
    structlog.get_logger("regflow_portal").info("portal.serving", host=args.host, port=server.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
