"""`python -m regflow_portal [--port N]`: serve the portal with Flask's development server."""

from __future__ import annotations

import argparse

import structlog

from regflow_portal import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="regflow_portal", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    structlog.get_logger("regflow_portal").info("portal.serving", host=args.host, port=args.port)
    create_app().run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()
