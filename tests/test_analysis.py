"""The static check, path generation and the coverage report, on regflow's machine and on
deliberately broken declarations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from regflow import State
from regflow.analysis import (
    PATH_KINDS,
    Declaration,
    TransitionCoverage,
    check,
    generated_paths,
    regflow_declaration,
    shortest_paths,
    simple_paths,
    terminal_paths,
    transition_paths,
)
from regflow.tools._cli import main

from . import broken_machines

REGFLOW = regflow_declaration()
SEED_TERMINALS = {"completed", "account_exists", "locked", "expired"}


def test_the_shipped_machine_has_no_findings() -> None:
    assert check(REGFLOW) == []


def test_the_sound_fixture_has_no_findings() -> None:
    assert check(broken_machines.SOUND) == []


@pytest.mark.parametrize("fixture", sorted(broken_machines.EXPECTED))
def test_each_defect_is_found_and_named(fixture: str) -> None:
    findings = check(getattr(broken_machines, fixture))

    assert {(f.kind, f.subject) for f in findings} == broken_machines.EXPECTED[fixture]
    for finding in findings:
        assert finding.subject in finding.message or finding.subject in str(finding)


def test_the_declaration_reads_regflows_states_as_logged() -> None:
    assert set(REGFLOW.states) == {state.value for state in State}
    assert REGFLOW.initial == "choosing_method"
    assert REGFLOW.terminal == SEED_TERMINALS
    assert "expire" in REGFLOW.implicit


def test_a_wildcard_source_means_every_state() -> None:
    declaration = Declaration.build(
        transitions=[{"trigger": "reset", "source": "*", "dest": "a"}],
        states=["a", "b"],
        initial="a",
        terminal=[],
    )
    assert [edge.source for edge in declaration.transitions] == ["a", "b"]


#: What `regflow check` lists of the registration's host hook (docs/hooks.md), beside findings.
HOOK = (
    "host hook account_creation_veto: setting_password --set_password"
    " [account_creation_veto]--> (stays) (a host's veto can take this edge)\n"
)


def test_regflow_check_exits_zero_on_the_shipped_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check"]) == 0
    assert capsys.readouterr().out == f"{HOOK}0 finding(s) in bhxh_registration\n"
    assert main(["check", "regflow.machine"]) == 0  # a module holding one FlowSpec
    assert capsys.readouterr().out == f"{HOOK}0 finding(s) in regflow.machine\n"
    assert main(["check", "regflow.flows.recovery:PASSWORD_RECOVERY"]) == 0


def test_regflow_check_checks_the_flow_named_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--flow", "password_recovery"]) == 0
    assert capsys.readouterr().out == "0 finding(s) in password_recovery\n"
    assert main(["check", "--flow", "all"]) == 0
    assert capsys.readouterr().out == (
        f"{HOOK}0 finding(s) in bhxh_registration\n0 finding(s) in password_recovery\n"
        "0 finding(s) in vneid_registration\n"
    )


def test_regflow_check_checks_a_hosts_flows(capsys: pytest.CaptureFixture[str]) -> None:
    host = "tests.broken_machines:HOST_FLOWS"

    assert main(["check", "--flows", host, "--flow", "host_recovery"]) == 0
    assert main(["check", "--flows", host, "--flow", "all"]) == 1
    out = capsys.readouterr().out
    assert "0 finding(s) in host_recovery\n" in out
    assert "guard_unnamed: " in out
    assert "terminal_has_transitions: " in out
    assert "guard_undocumented: " in out
    assert "12 finding(s) in broken_host_recovery\n" in out


def test_regflow_check_refuses_a_flow_it_does_not_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--flow", "host_recovery"]) == 2
    assert "no flow 'host_recovery': bhxh_registration, password_recovery" in (
        capsys.readouterr().err
    )
    assert main(["check", "--flows", "tests.broken_machines:NOT_FLOWS"]) == 2
    assert "cannot load tests.broken_machines:NOT_FLOWS" in capsys.readouterr().err


@pytest.mark.parametrize("fixture", sorted(broken_machines.EXPECTED))
def test_regflow_check_fails_naming_the_problem(
    fixture: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", f"tests.broken_machines:{fixture}"]) == 1

    out = capsys.readouterr().out
    for kind, subject in broken_machines.EXPECTED[fixture]:
        assert f"{kind}: " in out
        assert subject in out


def test_regflow_check_reports_what_it_cannot_load(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "tests.broken_machines:declare"]) == 2
    assert "not a FlowSpec" in capsys.readouterr().err


def test_terminal_paths_reach_every_terminal_state_of_the_seed() -> None:
    paths = terminal_paths(REGFLOW)

    assert {path.end for path in paths} == SEED_TERMINALS
    for path in paths:
        assert path.steps[0].source == REGFLOW.initial
        assert len(set(path.states)) == len(path.states), f"{path} revisits a state"
        assert all(step.dest is not None for step in path.steps)
        for before, after in zip(path.steps, path.steps[1:], strict=False):
            assert after.source == before.target


def test_simple_paths_to_completed_are_the_seeds_two_and_the_same_two_while_probed() -> None:
    names = {path.name for path in simple_paths(REGFLOW, "completed")}
    assert names == {
        (
            "choose_method[otherwise]>submit_form[otherwise]>confirm_otp[otherwise]"
            ">set_password[otherwise]"
        ),
        (
            "choose_method[otherwise]>submit_form[data_mismatch]>submit_form[otherwise]"
            ">confirm_otp[otherwise]>set_password[otherwise]"
        ),
        # the same two while the BHXH number is probed: the real citizen still gets through
        (
            "choose_method[otherwise]>submit_form[bhxh_number_probed]>confirm_otp[otherwise]"
            ">set_password[otherwise]"
        ),
        (
            "choose_method[otherwise]>submit_form[data_mismatch]>submit_form[bhxh_number_probed]"
            ">confirm_otp[otherwise]>set_password[otherwise]"
        ),
    }


def test_shortest_paths_reach_every_state() -> None:
    paths = shortest_paths(REGFLOW)

    assert set(paths) == set(REGFLOW.states)
    assert paths["choosing_method"].steps == ()
    assert len(paths["completed"].steps) == 4
    assert paths["expired"].name == "expire[flow_expired]"


def test_transition_paths_end_in_every_transition_an_engine_can_take() -> None:
    paths = transition_paths(REGFLOW)
    active = [t for t in REGFLOW.transitions if t.source not in REGFLOW.terminal]

    assert [path.steps[-1] for path in paths] == active


def test_all_generated_paths_are_every_kind_without_repeats() -> None:
    kinds = {kind: generated_paths(REGFLOW, kind) for kind in PATH_KINDS}
    every = generated_paths(REGFLOW)

    assert len(kinds["terminal"]) == len(terminal_paths(REGFLOW))
    assert len(kinds["shortest"]) == len(REGFLOW.states) - 1  # the start needs no path
    assert set(every) == {path for paths in kinds.values() for path in paths}
    assert len(every) == len(set(every)) < sum(len(paths) for paths in kinds.values())


def test_coverage_counts_transition_events_by_source_trigger_and_rule() -> None:
    coverage = TransitionCoverage(REGFLOW)
    declared = len(coverage.declared)

    coverage.record({"event": "flow.started", "state": "choosing_method"})
    coverage.record(
        {"event": "flow.transition", "source": "choosing_method", "trigger": "choose_method",
         "rule": None, "dest": "filling_form"}
    )  # fmt: skip
    coverage.record(
        {"event": "flow.transition", "source": "filling_form", "trigger": "fly", "rule": None}
    )

    assert len(coverage.missed) == declared - 1
    assert coverage.percent == pytest.approx(100 / declared)
    report = coverage.report()
    assert f"1/{declared} transitions" in report
    assert "filling_form --submit_form [data_mismatch]--> data_mismatch" in report
    assert "choosing_method --choose_method [otherwise]" not in report
    assert "unknown" not in report
    assert "unknown  filling_form --fly [None]: not declared" in coverage.report(verbose=True)


def test_an_empty_declaration_is_fully_covered() -> None:
    empty = Declaration.build(transitions=[], states=["a"], initial="a", terminal=["a"])
    assert TransitionCoverage(empty).percent == 100.0


def test_the_regflow_command_checks_a_broken_machine() -> None:
    root = Path(__file__).parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "regflow", "check", "tests.broken_machines:NEVER_FIRES"],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )

    assert result.returncode == 1
    assert "never_fires: middle --stop [code_wrong]--> (stays) can never fire" in result.stdout


def test_regflow_check_takes_a_module_or_a_flow_not_both(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["check", "regflow.machine", "--flow", "all"])

    assert refused.value.code == 2
    assert "not allowed with argument machine" in capsys.readouterr().err
