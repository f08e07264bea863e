"""The `regflow` command: one sub-command per job, each a small function."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from regflow.declare import FlowSnapshot

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


def _add_database_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database", help="SQLite file (default: $REGFLOW_DATABASE or ./regflow.sqlite3)"
    )
    where.add_argument("--postgres-dsn", help="e.g. postgresql://user:pass@host/db")


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
    _add_database_options(purge)
    purge.set_defaults(run=_db_purge_expired)


def _stored_snapshot(args: argparse.Namespace) -> FlowSnapshot:
    """The snapshot of `--flow-id` in the store named by `--database`/`--postgres-dsn`."""
    from regflow._bootstrap import open_stores  # noqa: PLC0415 - only this command needs it

    with open_stores(args.postgres_dsn or args.database) as stores:
        snapshot = stores.flows.load(args.flow_id)
    if snapshot is None:
        raise LookupError(f"no flow {args.flow_id!r} in the store")
    return snapshot


def _read_snapshot(name: str) -> FlowSnapshot:
    """A snapshot as `json_codec` writes it, from a file or ('-') stdin."""
    from regflow.adapters import json_codec  # noqa: PLC0415 - only `diagram` needs it

    return json_codec.loads(sys.stdin.read() if name == "-" else Path(name).read_bytes())


def _diagram(args: argparse.Namespace) -> int:
    from regflow import diagram  # noqa: PLC0415 - only this command needs it

    try:
        snapshot = (
            _read_snapshot(args.snapshot)
            if args.snapshot
            else _stored_snapshot(args)
            if args.flow_id
            else None
        )
    except Exception as exc:  # noqa: BLE001 - any unreadable snapshot is reported, not raised
        where = args.snapshot or f"of flow {args.flow_id}"
        print(f"regflow diagram: cannot read the snapshot {where}: {exc}", file=sys.stderr)
        return 2
    try:
        image = diagram.render(args.format, lang=args.lang, snapshot=snapshot)
    except diagram.DiagramToolMissingError as missing:
        print(f"regflow diagram: {missing}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_bytes(image)
    else:
        sys.stdout.buffer.write(image)
        sys.stdout.flush()
    return 0


def _docs_build(args: argparse.Namespace) -> int:
    from regflow._docs import build  # noqa: PLC0415 - only this command needs it

    stale = build(Path(args.docs_dir), check=args.check)
    for name in stale:
        verb = "differs from the declaration" if args.check else "written"
        print(f"{Path(args.docs_dir) / name}: {verb}")
    if args.check and stale:
        print("run `regflow docs build` and commit the result", file=sys.stderr)
        return 1
    return 0


def _add_doc_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from regflow.diagram import FORMATS  # noqa: PLC0415 - keep `regflow demo` light

    draw = commands.add_parser("diagram", help="draw the flow, or one flow from its snapshot")
    draw.add_argument("--format", choices=FORMATS, default="mermaid")
    draw.add_argument("--lang", choices=("vi", "en"), default="vi")
    one_flow = draw.add_mutually_exclusive_group()
    one_flow.add_argument(
        "--snapshot", metavar="FILE", help="a flow's snapshot as JSON ('-': stdin) to highlight"
    )
    one_flow.add_argument("--flow-id", help="a flow in the store to highlight (support desk)")
    _add_database_options(draw)
    draw.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    draw.set_defaults(run=_diagram)
    docs = commands.add_parser("docs", help="the generated pages of the docs")
    jobs = docs.add_subparsers(dest="job", required=True)
    build = jobs.add_parser("build", help="write docs/flow.md and docs/errors.md")
    build.add_argument("--docs-dir", default="docs", help="the docs folder (default: ./docs)")
    build.add_argument("--check", action="store_true", help="only report pages that differ")
    build.set_defaults(run=_docs_build)


def _check(args: argparse.Namespace) -> int:
    from regflow.analysis import Declaration, check  # noqa: PLC0415 - only this command needs it

    here = str(Path.cwd())
    if here not in sys.path:  # like `python -m`: the app's own modules are found
        sys.path.insert(0, here)
    try:
        declaration = Declaration.load(args.machine)
    except (ImportError, AttributeError, TypeError) as exc:
        print(f"regflow check: cannot load {args.machine}: {exc}", file=sys.stderr)
        return 2
    findings = check(declaration)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} finding(s) in {args.machine}")
    return 1 if findings else 0


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

    _add_doc_commands(commands)
    check = commands.add_parser("check", help="statically check a machine declaration")
    check.add_argument(
        "machine",
        nargs="?",
        default="regflow.machine",
        help="a module shaped like regflow.machine, or module:DECLARATION (default: %(default)s)",
    )
    check.set_defaults(run=_check)
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
