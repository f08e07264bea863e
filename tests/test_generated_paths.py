"""Every path generated from every shipped flow, run as a scenario on the fakes (the plugin's
``regflow_path`` parametrisation), and the runner's own failure messages."""

from __future__ import annotations

import attrs
import pytest

from regflow import BHXH_REGISTRATION, PASSWORD_RECOVERY, ConfirmOtp, Engine, State
from regflow.analysis import Declaration, Path, terminal_paths
from regflow.testing import (
    PLAYBOOKS,
    RECIPES,
    RECOVERY_RECIPES,
    FakePorts,
    ScenarioError,
    ScenarioRunner,
)

REGFLOW = Declaration.from_spec(BHXH_REGISTRATION)


def test_every_generated_path_runs_as_declared(
    regflow_runner: ScenarioRunner, regflow_path: Path
) -> None:
    visited = regflow_runner.run(regflow_path)

    assert visited == [  # a StrEnum member equals its name
        regflow_runner.declaration.initial,
        *regflow_path.states,
    ]


@pytest.mark.regflow_paths("terminal")
def test_terminal_paths_end_in_a_terminal_state(
    regflow_runner: ScenarioRunner, regflow_path: Path
) -> None:
    final = regflow_runner.run(regflow_path)[-1]
    assert final is not None
    assert final in regflow_runner.declaration.terminal


def test_the_runner_plays_every_shipped_flow_by_its_name() -> None:
    assert ScenarioRunner().flow is BHXH_REGISTRATION
    for flow, recipes in ((BHXH_REGISTRATION, RECIPES), (PASSWORD_RECOVERY, RECOVERY_RECIPES)):
        runner = ScenarioRunner(flow=flow)
        assert runner.recipes is recipes is PLAYBOOKS[flow.name].recipes
        assert runner.declaration == Declaration.from_spec(flow)


def test_the_otp_recipes_are_written_once_for_both_flows() -> None:
    shared = {key for key in RECIPES if key[0] in {"confirm_otp", "resend_otp", "set_password"}}
    shared -= {
        ("confirm_otp", "account_exists"),
        ("set_password", "account_exists"),
        ("set_password", "account_creation_veto"),
    }

    assert shared
    assert all(RECIPES[key] is RECOVERY_RECIPES[key] for key in shared)


def test_a_recovery_scene_begins_with_the_citizens_account() -> None:
    scene = ScenarioRunner(flow=PASSWORD_RECOVERY).scene()

    assert scene.view.flow == PASSWORD_RECOVERY.name
    [account] = scene.ports.users.accounts.values()
    assert account.id_number == scene.citizen.id_number


def test_an_otp_recipe_of_a_flow_without_an_otp_screen_says_what_is_missing() -> None:
    scene = ScenarioRunner(flow=PASSWORD_RECOVERY, otp_screen=()).scene()

    with pytest.raises(ScenarioError, match="password_recovery: an OTP recipe needs"):
        scene.otp_elsewhere()


def test_a_host_flow_without_a_playbook_has_no_recipes() -> None:
    renamed = ScenarioRunner(flow=attrs.evolve(BHXH_REGISTRATION, name="host_flow"))

    assert renamed.recipes == {}
    assert renamed.prepare is None
    with pytest.raises(ScenarioError, match=r"no recipe for choose_method \[otherwise\] of host"):
        renamed.run(_path_through("too_many_attempts"))


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


def test_the_engine_fixture_runs_every_configured_flow(
    regflow_engine: Engine, regflow_ports: FakePorts
) -> None:
    view = regflow_engine.start("bhxh_registration")
    assert view.state is State.CHOOSING_METHOD
    assert regflow_ports.flows.load(view.flow_id) is not None
    assert regflow_engine.start("password_recovery").flow == "password_recovery"
