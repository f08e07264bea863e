"""The `regflow` command: one sub-command per job, each a small function."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import structlog

if TYPE_CHECKING:
    from regflow.analysis import Declaration, Finding
    from regflow.declare import FlowSnapshot, FlowSpec

Command = Callable[[argparse.Namespace], int]
#: The flow `diagram` and `check` take when none is named.
DEFAULT_FLOW = "bhxh_registration"
#: What `check --flow` takes for every flow the process runs.
ALL_FLOWS = "all"


def _import_from_here() -> None:
    """Like `python -m`: the app's own modules, in the current folder, are found."""
    here = str(Path.cwd())
    if here not in sys.path:
        sys.path.insert(0, here)


def _host_flows(target: str) -> list[FlowSpec]:
    """The flows of one ``module:ATTR``: a `FlowSpec`, or a sequence of them."""
    import importlib  # noqa: PLC0415 - only --flows needs it

    from regflow.declare import FlowSpec  # noqa: PLC0415 - keep `regflow demo` light

    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise TypeError(f"{target}: name the flows as module:ATTRIBUTE")
    found = getattr(importlib.import_module(module_name), attribute)
    specs = [found] if isinstance(found, FlowSpec) else list(found)
    if not all(isinstance(spec, FlowSpec) for spec in specs):
        raise TypeError(f"{target} is neither a FlowSpec nor a sequence of FlowSpecs")
    return specs


def _flows(args: argparse.Namespace) -> dict[str, FlowSpec]:
    """The flows the process runs, by name: regflow's (unless --no-shipped), then the
    host's (--flows), a host's flow replacing a shipped one of the same name."""
    from regflow._shipped import SHIPPED_FLOWS  # noqa: PLC0415 - keep `regflow demo` light

    specs = [] if args.no_shipped else list(SHIPPED_FLOWS)
    if args.flows:
        _import_from_here()
        specs += [spec for target in args.flows.split(",") for spec in _host_flows(target)]
    return {spec.name: spec for spec in specs}


def _versions(args: argparse.Namespace, command: str) -> list[FlowSpec] | None:
    """Every version of the flows the process runs (what a default engine runs: the
    current ones and the older versions regflow still ships), or None after telling why
    the host's flows cannot be loaded."""
    from regflow._shipped import SHIPPED_OLDER_VERSIONS  # noqa: PLC0415 - keep `regflow demo` light

    current = _loaded_flows(args, command)
    if current is None:
        return None
    older = [] if args.no_shipped else list(SHIPPED_OLDER_VERSIONS)
    return list({(s.name, s.version): s for s in [*older, *current.values()]}.values())


def _add_flows_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--flows",
        metavar="MODULE:ATTR[,MODULE:ATTR]",
        help="a host's flows (a FlowSpec or a sequence of them), besides regflow's",
    )
    parser.add_argument("--no-shipped", action="store_true", help="leave out regflow's own flows")


def _loaded_flows(args: argparse.Namespace, command: str) -> dict[str, FlowSpec] | None:
    """`_flows`, or None after telling why the host's flows cannot be loaded."""
    try:
        return _flows(args)
    except (ImportError, AttributeError, TypeError) as exc:
        print(f"regflow {command}: cannot load {args.flows}: {exc}", file=sys.stderr)
        return None


def _list_flows(args: argparse.Namespace) -> int:
    flows = _loaded_flows(args, "flows")
    if flows is None:
        return 2
    for spec in flows.values():
        print(
            f"{spec.name}\tv{spec.version}\t{len(spec.states)} states"
            f"\t{spec.title.vi} / {spec.title.en}"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from regflow.tools._demo import FAST, list_citizens, run_demo  # noqa: PLC0415 - only this command needs it

    if args.list:
        list_citizens(sys.stdout)
        return 0
    return run_demo(args.lang, speed=FAST if args.fast_clock else 1)


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


def _db_migrate(args: argparse.Namespace) -> int:
    from regflow.tools._db_migrate import migrate  # noqa: PLC0415 - only this command needs it

    for line in migrate(args.postgres_dsn or args.database):
        print(line)
    return 0


def _outbox_run(args: argparse.Namespace) -> int:
    from regflow.tools import _outbox_run  # noqa: PLC0415 - only this command needs it

    _import_from_here()
    try:
        sms = _outbox_run.sms_gateway(args.sms)
        handlers = dict(_outbox_run.handler(option) for option in args.handler)
    except (ImportError, AttributeError, TypeError) as exc:
        print(f"regflow outbox run: cannot load the host's code: {exc}", file=sys.stderr)
        return 2
    return _outbox_run.run(
        args.postgres_dsn or args.database,
        sms,
        handlers=handlers,
        once=args.once,
        interval=args.interval,
        limit=args.limit,
        out=sys.stdout,
    )


def _add_outbox_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = commands.add_parser("outbox", help="the texts and notices waiting to go out")
    jobs = outbox.add_subparsers(dest="job", required=True)
    worker = jobs.add_parser("run", help="deliver them (see docs/outbox.md)")
    _add_database_options(worker)
    worker.add_argument(
        "--sms", required=True, metavar="module:ATTR", help="the SmsGateway, or what makes one"
    )
    worker.add_argument(
        "--handler",
        action="append",
        default=[],
        metavar="kind=module:ATTR",
        help="what delivers a host's kind of message (account_created, …); repeatable",
    )
    worker.add_argument("--once", action="store_true", help="one run, then exit")
    worker.add_argument(
        "--interval", type=float, default=1.0, help="seconds to wait when nothing is due"
    )
    worker.add_argument("--limit", type=int, default=100, help="messages per run")
    worker.set_defaults(run=_outbox_run)


def _add_db_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="the database of the flow and account stores")
    jobs = db.add_subparsers(dest="job", required=True)
    schema = jobs.add_parser("schema", help="print the tables' DDL (SQLite unless --postgres)")
    schema.add_argument("--postgres", action="store_true", help="PostgreSQL's DDL")
    schema.set_defaults(run=_db_schema)
    migrate = jobs.add_parser(
        "migrate", help="create or upgrade the tables (idempotent: run it on every deploy)"
    )
    _add_database_options(migrate)
    migrate.set_defaults(run=_db_migrate)
    purge = jobs.add_parser("purge-expired", help="delete expired flows, print how many")
    _add_database_options(purge)
    purge.set_defaults(run=_db_purge_expired)
    verify = jobs.add_parser(
        "verify", help="where each stored flow continues under these flows (changes nothing)"
    )
    verify.add_argument(
        "database",
        nargs="?",
        help="a SQLite file or a postgresql:// URL (default: as `db purge-expired`'s)",
    )
    _add_flows_options(verify)
    verify.set_defaults(run=_db_verify)


def _db_verify(args: argparse.Namespace) -> int:
    from regflow.tools._db import run_verify  # noqa: PLC0415 - only this command needs it

    specs = _versions(args, "db verify")
    return 2 if specs is None else run_verify(args.database, specs, sys.stdout)


def _stored_snapshot(args: argparse.Namespace) -> FlowSnapshot:
    """The snapshot of `--flow-id` in the store named by `--database`/`--postgres-dsn`."""
    from regflow._bootstrap import open_stores  # noqa: PLC0415 - only this command needs it

    with open_stores(args.postgres_dsn or args.database) as stores:
        snapshot = stores.flows.load(args.flow_id)
    if snapshot is None:
        raise LookupError(f"no flow {args.flow_id!r} in the store")
    return snapshot


def _read_snapshot(name: str) -> FlowSnapshot:
    """A snapshot as `regflow.engine.codec` writes it, from a file or ('-') stdin."""
    from regflow.engine import codec  # noqa: PLC0415 - only `diagram` needs it

    return codec.loads(sys.stdin.read() if name == "-" else Path(name).read_bytes())


def _typed(snapshot: FlowSnapshot, versions: Sequence[FlowSpec]) -> tuple[FlowSpec, FlowSnapshot]:
    """The snapshot's flow at its version, and the snapshot read with that declaration."""
    from regflow.engine import codec  # noqa: PLC0415 - only `diagram` needs it

    key = (snapshot.flow, snapshot.flow_version)
    spec = next((s for s in versions if (s.name, s.version) == key), None)
    names = dict.fromkeys(s.name for s in versions)
    if spec is None and snapshot.flow in names:
        raise LookupError(f"its flow {snapshot.flow!r} has no version {key[1]} here")
    if spec is None:
        raise LookupError(f"its flow {snapshot.flow!r} is not one of {', '.join(names)}")
    return spec, codec.typed(snapshot, spec)


def _drawn(
    args: argparse.Namespace, flows: dict[str, FlowSpec], versions: Sequence[FlowSpec]
) -> tuple[FlowSpec, FlowSnapshot | None]:
    """The flow to draw and the snapshot to highlight: the stored flow's, or --flow's."""
    if args.snapshot or args.flow_id:
        stored = _read_snapshot(args.snapshot) if args.snapshot else _stored_snapshot(args)
        spec, snapshot = _typed(stored, versions)
        if args.flow not in (None, spec.name):
            raise LookupError(f"it is a {spec.name} flow, not {args.flow}")
        return spec, snapshot
    name = args.flow or DEFAULT_FLOW
    if name not in flows:
        raise LookupError(f"no flow {name!r}: {', '.join(flows)}")
    return flows[name], None


def _version_drawn(
    args: argparse.Namespace, spec: FlowSpec, versions: Sequence[FlowSpec]
) -> tuple[FlowSpec, FlowSpec | None]:
    """The version of `spec`'s flow that --version names, and the newer version whose
    migration from it the diagram shows (None: no newer version migrates from it)."""
    if args.version is None:
        return spec, None
    same = [s for s in versions if s.name == spec.name]
    drawn = next((s for s in same if s.version == args.version), None)
    if drawn is None:
        known = ", ".join(f"v{s.version}" for s in sorted(same, key=lambda s: s.version))
        raise LookupError(f"{spec.name} has no version {args.version} here: {known}")
    newer = [s for s in same if s.migration_from(drawn.version) is not None]
    return drawn, max(newer, key=lambda s: s.version, default=None)


def _diagram(args: argparse.Namespace) -> int:
    from regflow import diagram  # noqa: PLC0415 - only this command needs it

    flows = _loaded_flows(args, "diagram")
    versions = _versions(args, "diagram")
    if flows is None or versions is None:
        return 2
    try:
        spec, snapshot = _drawn(args, flows, versions)
        spec, moves_to = _version_drawn(args, spec, versions)
    except Exception as exc:  # noqa: BLE001 - any unreadable snapshot is reported, not raised
        where = args.snapshot or (f"of flow {args.flow_id}" if args.flow_id else None)
        what = f"the snapshot {where}" if where else f"the flow {args.flow}"
        print(f"regflow diagram: cannot read {what}: {exc}", file=sys.stderr)
        return 2
    try:
        image = diagram.render(
            spec, args.format, lang=args.lang, snapshot=snapshot, moves_to=moves_to
        )
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
    from regflow.tools._docs import build  # noqa: PLC0415 - only this command needs it

    flows = _loaded_flows(args, "docs build")
    if flows is None:
        return 2
    stale = build(Path(args.docs_dir), flows=list(flows.values()), check=args.check)
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
    draw.add_argument("--flow", metavar="NAME", help=f"the flow to draw (default: {DEFAULT_FLOW})")
    draw.add_argument(
        "--version",
        type=int,
        metavar="N",
        help="draw this version of the flow, and where a newer version's migration moves it",
    )
    _add_flows_options(draw)
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
    build = jobs.add_parser(
        "build", help="write docs/flow.md, docs/flows/NAME.md (one per flow), docs/errors.md"
    )
    _add_flows_options(build)
    build.add_argument("--docs-dir", default="docs", help="the docs folder (default: ./docs)")
    build.add_argument("--check", action="store_true", help="only report pages that differ")
    build.set_defaults(run=_docs_build)


def _declarations(args: argparse.Namespace) -> dict[str, Declaration] | None:
    """What `check` reads, by the name it reports: the named module, or --flow's flows."""
    from regflow.analysis import Declaration  # noqa: PLC0415 - only `check` needs it

    if args.machine:
        _import_from_here()
        try:
            return {args.machine: Declaration.load(args.machine)}
        except (ImportError, AttributeError, TypeError) as exc:
            print(f"regflow check: cannot load {args.machine}: {exc}", file=sys.stderr)
            return None
    flows = _loaded_flows(args, "check")
    if flows is None:
        return None
    name = args.flow or DEFAULT_FLOW
    names = list(flows) if name == ALL_FLOWS else [name]
    if not set(names) <= set(flows):
        print(f"regflow check: no flow {name!r}: {', '.join(flows)}", file=sys.stderr)
        return None
    return {name: Declaration.from_spec(flows[name]) for name in names}


def _check(args: argparse.Namespace) -> int:
    from regflow.analysis import check, host_hooks  # noqa: PLC0415 - only this command needs it

    declarations = _declarations(args)
    versions = _versions(args, "check")
    if declarations is None or versions is None:
        return 2
    found = 0
    for name, declaration in declarations.items():
        findings = [] if args.migration else check(declaration)
        findings += _versioning_findings(args, declaration, versions)
        for finding in findings:
            print(finding)
        for point in [] if args.migration else host_hooks(declaration):
            print(point)
        print(f"{len(findings)} finding(s) in {name}")
        found += len(findings)
    return 1 if found else 0


def _versioning_findings(
    args: argparse.Namespace, declaration: Declaration, versions: list[FlowSpec]
) -> list[Finding]:
    from regflow.tools._migration_check import versioning_check  # noqa: PLC0415 - only `check`

    if declaration.spec is None:  # a bare Declaration has no versions
        return []
    return versioning_check(
        declaration.spec,
        versions,
        migration=args.migration,
        retired=args.retire or (),
        fingerprints=args.fingerprints,
        record=args.record,
    )


def _add_versioning_options(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--migration",
        action="store_true",
        help="check that every stored flow of an older version can continue (docs/versioning.md)",
    )
    check.add_argument(
        "--retire",
        type=int,
        action="append",
        metavar="VERSION",
        help="with --migration: as if the engine no longer ran this version",
    )
    check.add_argument(
        "--fingerprints",
        type=Path,
        metavar="FILE",
        help="report a flow whose fingerprint changed but whose version did not",
    )
    check.add_argument(
        "--record", action="store_true", help="add the new versions' fingerprints to FILE"
    )


def _report(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta  # noqa: PLC0415 - only this command needs it

    from regflow.diagram import DiagramToolMissingError  # noqa: PLC0415 - as above
    from regflow.tools import _report as funnel  # noqa: PLC0415 - as above

    flows = _loaded_flows(args, "report")
    if flows is None:
        return 2
    if args.bucket <= 0:
        print("regflow report: --bucket takes a number of minutes above 0", file=sys.stderr)
        return 2
    try:
        as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
        bucket = timedelta(minutes=args.bucket)
        report = funnel.read_report(args.logs, flows, bucket=bucket, as_of=as_of)
    except (OSError, ValueError) as exc:
        print(f"regflow report: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        print(funnel.markdown(report, flows))
        return 0
    try:
        for path in funnel.write_report(report, flows, args.out, lang=args.lang):
            print(path)
    except DiagramToolMissingError as missing:
        print(f"regflow report: {missing}", file=sys.stderr)
        return 2
    return 0


def _add_report_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="the funnel of each flow, from audit logs")
    report.add_argument(
        "logs", nargs="+", type=Path, metavar="LOGFILE", help="JSON lines (.gz too)"
    )
    report.add_argument(
        "--out", type=Path, metavar="DIR", help="write report.md, report.html and SVGs here"
    )
    report.add_argument("--lang", choices=("vi", "en"), default="en", help="the diagrams' labels")
    report.add_argument("--bucket", type=int, default=60, metavar="MINUTES", help="over time by")
    report.add_argument(
        "--as-of", metavar="ISO-TIME", help="judge flows in flight then (default: the last line)"
    )
    _add_flows_options(report)
    report.set_defaults(run=_report)


def _shares(text: str) -> dict[str, float]:
    """``state=share,state=share`` as a mapping (argparse's type for --abandon)."""
    pairs = (item.partition("=") for item in text.split(",") if item)
    return {state: float(share) for state, _, share in pairs}


def _simulate(args: argparse.Namespace) -> int:
    from regflow.tools._traffic import Crowd, simulate  # noqa: PLC0415 - only this command needs it

    crowd = Crowd(
        citizens=args.citizens,
        mismatch_rate=args.mismatch_rate,
        wrong_otp_rate=args.wrong_otp_rate,
        abandon=args.abandon,
        versions=tuple(args.versions),
        servers=args.servers,
        seed=args.seed,
    )
    truth = simulate(crowd, args.out)
    logs = " ".join(str(path) for path in truth.logs)
    as_of = truth.as_of.isoformat() if truth.as_of else ""
    print(f"regflow report {logs} --as-of {as_of}")
    return 0


def _add_simulate_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulated = commands.add_parser(
        "simulate", help="registrations of simulated citizens, written as audit logs"
    )
    simulated.add_argument("out", type=Path, metavar="DIR", help="where server-N.jsonl go")
    simulated.add_argument("--citizens", type=int, default=1_000)
    simulated.add_argument("--mismatch-rate", type=float, default=0.1, metavar="SHARE")
    simulated.add_argument("--wrong-otp-rate", type=float, default=0.1, metavar="SHARE")
    simulated.add_argument(
        "--abandon", type=_shares, default={}, metavar="STATE=SHARE[,…]", help="who gives up where"
    )
    simulated.add_argument("--versions", type=int, nargs="+", default=[1], metavar="N")
    simulated.add_argument("--servers", type=int, default=1)
    simulated.add_argument("--seed", type=int, default=0)
    simulated.set_defaults(run=_simulate)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regflow", description="Citizen registration by BHXH number, and any declared flow."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="walk a registration in the terminal")
    demo.add_argument("--lang", choices=("vi", "en"), default="vi")
    demo.add_argument("--list", action="store_true", help="list the fictional demo citizens")
    demo.add_argument(
        "--fast-clock",
        action="store_true",
        help="run the flow's time a minute a second: the OTP expires in 5 s, the flow in 30 s",
    )
    demo.set_defaults(run=_demo)
    _add_db_commands(commands)
    _add_outbox_commands(commands)

    _add_doc_commands(commands)
    _add_report_command(commands)
    _add_simulate_command(commands)
    flows = commands.add_parser("flows", help="list the flows: name, version, states, title")
    _add_flows_options(flows)
    flows.set_defaults(run=_list_flows)
    check = commands.add_parser("check", help="statically check a flow's declaration")
    which = check.add_mutually_exclusive_group()
    which.add_argument(
        "machine",
        nargs="?",
        help="module:ATTR (a FlowSpec or a Declaration), or a module holding one FlowSpec",
    )
    which.add_argument(
        "--flow",
        metavar="NAME",
        help=f"a flow the process runs, or {ALL_FLOWS!r} (default: {DEFAULT_FLOW})",
    )
    _add_flows_options(check)
    _add_versioning_options(check)
    check.set_defaults(run=_check)
    return parser


def _quiet_logs() -> None:
    """A terminal tool shows warnings only, on stderr, so prompts stay readable."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


#: Options whose value is a flow id: ``secrets.token_urlsafe`` ids may begin with ``-``,
#: which argparse would read as an option when the id is given as the next argument.
_ID_OPTIONS: Final = frozenset({"--flow-id"})


def _ids_joined(argv: Sequence[str]) -> list[str]:
    """`argv` with each id option and its value as one ``--flow-id=ID`` argument."""
    joined: list[str] = []
    values = iter(argv)
    for arg in values:
        value = next(values, None) if arg in _ID_OPTIONS else None
        joined.append(arg if value is None else f"{arg}={value}")
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(_ids_joined(sys.argv[1:] if argv is None else argv))
    _quiet_logs()
    run: Command = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
