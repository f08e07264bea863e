"""Every path generated from the machine, run as a scenario on the fakes (the plugin's
``regflow_path`` parametrisation), and the runner's own failure messages."""

from __future__ import annotations

import pytest

from regflow import ConfirmOtp, Engine, State
from regflow.analysis import Path, regflow_declaration, terminal_paths
from regflow.testing import RECIPES, FakePorts, ScenarioError, ScenarioRunner

REGFLOW = regflow_declaration()


def test_every_generated_path_runs_as_declared(
    regflow_runner: ScenarioRunner, regflow_path: Path
) -> None:
    visited = regflow_runner.run(regflow_path)

    assert [state.value if state else None for state in visited] == [
        REGFLOW.initial,
        *regflow_path.states,
    ]


@pytest.mark.regflow_paths("terminal")
def test_terminal_paths_end_in_a_terminal_state(
    regflow_runner: ScenarioRunner, regflow_path: Path
) -> None:
    final = regflow_runner.run(regflow_path)[-1]
    assert final is not None
    assert final.value in REGFLOW.terminal


def _path_through(outcome: str) -> Path:
    return next(p for p in terminal_paths(REGFLOW) if p.steps[-1].outcome == outcome)


def test_a_recipe_that_does_not_make_its_rule_decide_fails_the_scenario() -> None:
    lying = {**RECIPES, ("confirm_otp", "too_many_attempts"): lambda _: ConfirmOtp("000000")}
    runner = ScenarioRunner(recipes=lying)

    with pytest.raises(ScenarioError, match=r"step \d+ .*too_many_attempts.*took .*otp_wrong"):
        runner.run(_path_through("too_many_attempts"))


def test_a_missing_recipe_names_the_entry_to_add() -> None:
    runner = ScenarioRunner(recipes={})

    with pytest.raises(ScenarioError, match=r"\('choose_method', 'otherwise'\)"):
        runner.run(_path_through("too_many_attempts"))


def test_the_engine_fixture_runs_on_the_fakes(
    regflow_engine: Engine, regflow_ports: FakePorts
) -> None:
    view = regflow_engine.start("bhxh_registration")
    assert view.state is State.CHOOSING_METHOD
    assert regflow_ports.flows.load(view.flow_id) is not None
