"""The pytest plugin (entry point ``pytest11``): fixtures, generated paths, transition coverage.

Installed with regflow, so every test suite of a host app gets:

- fixtures ``regflow_ports``, ``regflow_engine`` and ``regflow_runner`` (override the last in
  a conftest to add recipes for your own rules or to build your own engine);
- a test that takes ``regflow_path`` runs once per generated path (``@pytest.mark.
  regflow_paths("terminal")`` picks a kind: terminal, shortest, transitions or all;
  ``machine="pkg.module"`` another declaration than the configured one);
- transition coverage over the whole run: ``--regflow-coverage`` prints it; the
  ``regflow_coverage_fail_under`` ini setting fails a full run below it, and
  ``--regflow-coverage-fail-under=N`` fails any run below it.

The declaration is regflow's own unless the ``regflow_machine`` ini setting names another
(``package.module`` shaped like `regflow.machine`, or ``package.module:DECLARATION``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pytest

from regflow._coverage import TransitionCoverage
from regflow._declaration import Declaration
from regflow._paths import generated_paths
from regflow._tap import listening
from regflow.testing import FakePorts, ScenarioRunner

if TYPE_CHECKING:
    from collections.abc import Iterator

    from regflow.engine import Engine

_COVERAGE: Final = pytest.StashKey[TransitionCoverage]()
#: Why the run stopped before its last test (``-x``, ``--maxfail``), when it did.
_STOPPED: Final = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("regflow")
    group.addoption(
        "--regflow-coverage",
        action="store_true",
        help="print the transition coverage of the run, one line per declared transition",
    )
    group.addoption(
        "--regflow-coverage-fail-under",
        type=float,
        default=None,
        metavar="PERCENT",
        help="fail the run when its transition coverage is below PERCENT",
    )
    parser.addini("regflow_machine", "module (or module:Declaration) to analyse", "string")
    parser.addini(
        "regflow_coverage_fail_under",
        "fail a full run (no paths, -k, -m, --lf, --deselect or --ignore) below this coverage",
        "string",
    )


def _declaration(config: pytest.Config) -> Declaration:
    return config.stash[_COVERAGE].declaration


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "regflow_paths(kind, machine=None): which generated paths regflow_path runs over",
    )
    target = config.getini("regflow_machine") or "regflow.machine"
    config.stash[_COVERAGE] = TransitionCoverage(Declaration.load(str(target)))


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    coverage = session.config.stash[_COVERAGE]
    with listening(coverage.record):
        return (yield)


def _threshold(config: pytest.Config) -> float | None:
    """The percentage to enforce: the option's always, the ini's on a full run only."""
    explicit: float | None = config.getoption("regflow_coverage_fail_under")
    if explicit is not None:
        return explicit
    configured = str(config.getini("regflow_coverage_fail_under") or "")
    option = config.option
    partial = (
        config.args_source is pytest.Config.ArgsSource.ARGS
        or option.keyword
        or option.markexpr
        or getattr(option, "lf", False)
        or getattr(option, "deselect", None)
        or getattr(option, "ignore", None)
    )
    return float(configured) if configured and not partial else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    stopped = session.shouldfail or session.shouldstop
    if stopped:
        session.config.stash[_STOPPED] = str(stopped)
    threshold = _threshold(session.config)
    coverage = session.config.stash[_COVERAGE]
    if threshold is not None and session.exitstatus == 0 and coverage.percent < threshold:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    verbose = bool(config.getoption("regflow_coverage"))
    threshold = _threshold(config)
    if not verbose and threshold is None:
        return
    coverage = config.stash[_COVERAGE]
    terminalreporter.write_sep("-", "regflow transition coverage")
    terminalreporter.write_line(coverage.report(verbose=verbose))
    stopped = config.stash.get(_STOPPED, None)
    if stopped:
        terminalreporter.write_line(
            f"(the run stopped early, {stopped}: the tests it skipped took no transitions)"
        )
    if threshold is not None and coverage.percent < threshold:
        terminalreporter.write_line(
            f"FAIL: transition coverage {coverage.percent:.1f} % is below {threshold:g} %",
            red=True,
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "regflow_path" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("regflow_paths")
    kind = marker.args[0] if marker and marker.args else "all"
    machine = marker.kwargs.get("machine") if marker else None
    declaration = Declaration.load(machine) if machine else _declaration(metafunc.config)
    paths = generated_paths(declaration, kind)
    metafunc.parametrize("regflow_path", paths, ids=[path.name for path in paths])


@pytest.fixture
def regflow_ports() -> FakePorts:
    """Every port as a fake, the BHXH registry seeded with `regflow.testing.CITIZEN`."""
    return FakePorts.seeded()


@pytest.fixture
def regflow_engine(regflow_ports: FakePorts) -> Engine:
    """An engine wired to ``regflow_ports``."""
    return regflow_ports.engine()


@pytest.fixture
def regflow_runner(pytestconfig: pytest.Config) -> ScenarioRunner:
    """Runs a generated path on fresh fakes; override it to add recipes or your engine."""
    return ScenarioRunner(declaration=_declaration(pytestconfig))
