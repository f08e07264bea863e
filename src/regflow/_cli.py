"""The `regflow` command: one sub-command per job, each a small function."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

import structlog

Command = Callable[[argparse.Namespace], int]


def _demo(args: argparse.Namespace) -> int:
    from regflow._demo import list_citizens, run_demo  # noqa: PLC0415 - only this command needs it

    if args.list:
        list_citizens(sys.stdout)
        return 0
    return run_demo(args.lang)


def _db_schema(args: argparse.Namespace) -> int:
    if args.postgres:
        from regflow.adapters.postgres import SCHEMA  # noqa: PLC0415 - an optional extra
    else:
        from regflow.adapters.sqlite import SCHEMA  # noqa: PLC0415 - keeps both names SCHEMA
    print(SCHEMA, end="")
    return 0


def _db_purge_expired(args: argparse.Namespace) -> int:
    from regflow._bootstrap import open_stores  # noqa: PLC0415 - only this command needs it
    from regflow.adapters.system import SystemClock  # noqa: PLC0415 - as above

    with open_stores(args.postgres_dsn or args.database) as stores:
        print(stores.flows.purge_expired(SystemClock().now()))
    return 0


def _add_db_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="the database of the flow and account stores")
    jobs = db.add_subparsers(dest="job", required=True)
    schema = jobs.add_parser("schema", help="print the tables' DDL (SQLite unless --postgres)")
    schema.add_argument("--postgres", action="store_true", help="PostgreSQL's DDL")
    schema.set_defaults(run=_db_schema)
    purge = jobs.add_parser("purge-expired", help="delete expired flows, print how many")
    where = purge.add_mutually_exclusive_group()
    where.add_argument(
        "--database", help="SQLite file (default: $REGFLOW_DATABASE or ./regflow.sqlite3)"
    )
    where.add_argument("--postgres-dsn", help="e.g. postgresql://user:pass@host/db")
    purge.set_defaults(run=_db_purge_expired)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regflow", description="Citizen registration by BHXH number."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="walk a registration in the terminal")
    demo.add_argument("--lang", choices=("vi", "en"), default="vi")
    demo.add_argument("--list", action="store_true", help="list the fictional demo citizens")
    demo.set_defaults(run=_demo)
    _add_db_commands(commands)
    return parser


def _quiet_logs() -> None:
    """A terminal tool shows warnings only, on stderr, so prompts stay readable."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _quiet_logs()
    run: Command = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
