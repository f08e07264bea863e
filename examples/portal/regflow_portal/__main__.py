"""`python -m regflow_portal [--host H] [--port N]`: serve the portal (`--port 0`: any free port).

Settings come from `REGFLOW_PORTAL_*` (docs/operations.md); settings that are unsafe outside
development mode stop it with a message and exit status 2, and so does development mode on
an address other machines can reach (its pages show every OTP and move the clock).
"""

from __future__ import annotations

import argparse
import ipaddress

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
    if app.extensions["regflow"].inbox is not None and not _loopback(args.host):
        parser.exit(
            2,
            "regflow_portal: development mode (every OTP at /dev/sms) serves a "
            f"loopback address only, not {args.host}\n",
        )
    server = portal_server(app, args.host, args.port)
    structlog.get_logger("regflow_portal").info("portal.serving", host=args.host, port=server.port)
    server.serve_forever()


def _loopback(host: str) -> bool:
    """Whether `host` is this machine alone: ``localhost`` or a loopback address."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    main()
