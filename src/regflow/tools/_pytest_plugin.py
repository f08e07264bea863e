"""The pytest plugin (entry point ``pytest11``): fixtures, generated paths, transition coverage.

Installed with regflow, so every test suite of a host app gets, for each configured flow:

- fixtures ``regflow_ports``, ``regflow_engine`` (running every configured flow),
  ``regflow_flow`` and ``regflow_runner`` (override the last in a conftest to add recipes
  for your own rules or to build your own engine);
- a test that takes ``regflow_path`` runs once per generated path of every configured flow,
  ``regflow_flow`` and ``regflow_runner`` being that path's flow (``@pytest.mark.
  regflow_paths("terminal")`` picks a kind: terminal, shortest, transitions or all;
  ``flow="pkg.module:FLOW"``, or a `FlowSpec`, one flow instead of the configured ones);
- transition coverage of each flow over the whole run: ``--regflow-coverage`` prints it;
  the ``regflow_coverage_fail_under`` ini setting fails a full run where a flow is below it,
  and ``--regflow-coverage-fail-under=N`` fails any run where a flow is below it.

The flows are the ones regflow ships unless the ``regflow_flows`` ini setting names others
(``package.module:FLOW …``, or a ``package.module`` holding one `FlowSpec`); the older
``regflow_machine`` setting names a single one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import pytest

from regflow._shipped import SHIPPED_FLOWS
from regflow.declare import FlowSpec
from regflow.testing import FakePorts, ScenarioRunner
from regflow.tools._coverage import TransitionCoverage
from regflow.tools._declaration import Declaration
from regflow.tools._paths import generated_paths
from regflow.tools._tap import listening

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from regflow.engine import Engine

_FLOWS: Final = pytest.StashKey[tuple[FlowSpec, ...]]()
_COVERAGE: Final = pytest.StashKey[tuple[TransitionCoverage, ...]]()
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
        help="fail the run when a flow's transition coverage is below PERCENT",
    )
    parser.addini(
        "regflow_flows", "the flows to test and cover (module:FLOW …; default: regflow's)", "args"
    )
    parser.addini("regflow_machine", "one flow to test and cover (module or module:FLOW)", "string")
    parser.addini(
        "regflow_coverage_fail_under",
        "fail a full run (no paths, -k, -m, --lf, --deselect or --ignore) below this coverage",
        "string",
    )


def load_flow(target: str | FlowSpec) -> FlowSpec:
    """A `FlowSpec`, or the one ``module:ATTRIBUTE`` (or ``module``) names."""
    if isinstance(target, FlowSpec):
        return target
    spec = Declaration.load(target).spec
    if spec is None:
        raise pytest.UsageError(f"regflow: {target} is a bare Declaration; name a FlowSpec")
    return spec


def _configured_flows(config: pytest.Config) -> tuple[FlowSpec, ...]:
    targets = list(config.getini("regflow_flows")) or [
        str(target) for target in [config.getini("regflow_machine")] if target
    ]
    return tuple(load_flow(target) for target in targets) or SHIPPED_FLOWS


def _coverages(config: pytest.Config) -> tuple[TransitionCoverage, ...]:
    return config.stash[_COVERAGE]


def _flows(config: pytest.Config) -> tuple[FlowSpec, ...]:
    return config.stash[_FLOWS]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "regflow_paths(kind, flow=None): which generated paths regflow_path runs over",
    )
    flows = config.stash[_FLOWS] = _configured_flows(config)
    config.stash[_COVERAGE] = tuple(
        TransitionCoverage(Declaration.from_spec(flow)) for flow in flows
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    coverages = _coverages(session.config)

    def record(event: Mapping[str, Any]) -> None:
        for coverage in coverages:
            coverage.record(event)

    with listening(record):
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


def _below(config: pytest.Config, threshold: float | None) -> list[TransitionCoverage]:
    if threshold is None:
        return []
    return [coverage for coverage in _coverages(config) if coverage.percent < threshold]


def pytest_sessionfinish(session: pytest.Session) -> None:
    stopped = session.shouldfail or session.shouldstop
    if stopped:
        session.config.stash[_STOPPED] = str(stopped)
    below = _below(session.config, _threshold(session.config))
    if below and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    verbose = bool(config.getoption("regflow_coverage"))
    threshold = _threshold(config)
    if not verbose and threshold is None:
        return
    terminalreporter.write_sep("-", "regflow transition coverage")
    for coverage in _coverages(config):
        terminalreporter.write_line(coverage.report(verbose=verbose))
    stopped = config.stash.get(_STOPPED, None)
    if stopped:
        terminalreporter.write_line(
            f"(the run stopped early, {stopped}: the tests it skipped took no transitions)"
        )
    for coverage in _below(config, threshold):
        terminalreporter.write_line(
            f"FAIL: transition coverage of {coverage.flow} {coverage.percent:.1f} % is below"
            f" {threshold:g} %",
            red=True,
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "regflow_path" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("regflow_paths")
    kind = marker.args[0] if marker and marker.args else "all"
    chosen = (marker.kwargs.get("flow") or marker.kwargs.get("machine")) if marker else None
    flows = (load_flow(chosen),) if chosen else _flows(metafunc.config)
    cases = [
        (flow, path)
        for flow in flows
        for path in generated_paths(Declaration.from_spec(flow), kind)
    ]
    ids = [f"{flow.name}-{path.name}" for flow, path in cases]
    if "regflow_flow" in metafunc.fixturenames:
        metafunc.parametrize("regflow_flow,regflow_path", cases, ids=ids)
    else:
        metafunc.parametrize("regflow_path", [path for _, path in cases], ids=ids)


@pytest.fixture
def regflow_ports() -> FakePorts:
    """Every port as a fake, the BHXH registry seeded with `regflow.testing.CITIZEN`."""
    return FakePorts.seeded()


@pytest.fixture
def regflow_flows(pytestconfig: pytest.Config) -> tuple[FlowSpec, ...]:
    """The configured flows (``regflow_flows``; by default the ones regflow ships)."""
    return _flows(pytestconfig)


@pytest.fixture
def regflow_engine(regflow_ports: FakePorts, regflow_flows: tuple[FlowSpec, ...]) -> Engine:
    """An engine wired to ``regflow_ports``, running every configured flow."""
    return regflow_ports.engine(*regflow_flows)


@pytest.fixture
def regflow_flow(regflow_flows: tuple[FlowSpec, ...]) -> FlowSpec:
    """The flow under test: a ``regflow_path``'s own, else the first configured one."""
    return regflow_flows[0]


@pytest.fixture
def regflow_runner(regflow_flow: FlowSpec) -> ScenarioRunner:
    """Runs a generated path of ``regflow_flow`` on fresh fakes; override it to add recipes
    or your engine (``attrs.evolve(regflow_runner, recipes={…})``)."""
    return ScenarioRunner(flow=regflow_flow)
