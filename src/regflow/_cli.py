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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regflow", description="Citizen registration by BHXH number."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="walk a registration in the terminal")
    demo.add_argument("--lang", choices=("vi", "en"), default="vi")
    demo.add_argument("--list", action="store_true", help="list the fictional demo citizens")
    demo.set_defaults(run=_demo)
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
