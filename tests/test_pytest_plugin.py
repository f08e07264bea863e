"""The pytest plugin as a host app's suite sees it: fixtures, the coverage report per flow,
the gate, the configured flows."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

ONE_HAPPY_FLOW = """
from regflow import ChooseMethod, State

def test_choose(regflow_engine):
    view = regflow_engine.start("bhxh_registration")
    view = regflow_engine.send(view.flow_id, ChooseMethod("citizen", "bhxh"))
    assert view.state is State.FILLING_FORM
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nregflow_coverage_fail_under = 100\n")
    pytester.makepyfile(test_one=ONE_HAPPY_FLOW)
    return pytester


def test_a_full_run_below_the_configured_coverage_fails(suite: pytest.Pytester) -> None:
    result = suite.runpytest()

    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "regflow transition coverage of bhxh_registration: 1/46 transitions (2.2 %)" in out
    assert "regflow transition coverage of password_recovery: 0/20 transitions (0.0 %)" in out
    assert "    0  filling_form --submit_form [otherwise]--> otp_pending" in out
    assert "    0  entering_login --submit_login [otherwise]--> otp_pending" in out
    assert "choosing_method --choose_method [otherwise]" not in out
    assert "FAIL: transition coverage of bhxh_registration 2.2 % is below 100 %" in out
    assert "FAIL: transition coverage of password_recovery 0.0 % is below 100 %" in out


def test_a_run_of_chosen_tests_is_not_held_to_the_configured_coverage(
    suite: pytest.Pytester,
) -> None:
    result = suite.runpytest("test_one.py")

    assert result.ret == pytest.ExitCode.OK
    assert "transition coverage" not in result.stdout.str()


def test_a_run_stopped_early_says_its_coverage_is_incomplete(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_two="def test_fails():\n    raise AssertionError\n")

    result = suite.runpytest("-x")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "(the run stopped early, stopping after 1 failures:" in out


def test_the_option_holds_any_run_to_its_threshold(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nregflow_flows = regflow.machine:BHXH_REGISTRATION\n")
    pytester.makepyfile(test_one=ONE_HAPPY_FLOW)

    result = pytester.runpytest("test_one.py", "--regflow-coverage-fail-under=2.1")
    assert result.ret == pytest.ExitCode.OK

    result = pytester.runpytest("test_one.py", "--regflow-coverage-fail-under=2.4")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_every_flow_is_held_to_the_threshold(suite: pytest.Pytester) -> None:
    """The registration's 2.2 % passes, the recovery's 0 % does not."""
    result = suite.runpytest("test_one.py", "--regflow-coverage-fail-under=2.1")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "FAIL: transition coverage of password_recovery" in out
    assert "FAIL: transition coverage of bhxh_registration" not in out


def test_the_report_option_lists_every_transition_with_its_count(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_one=ONE_HAPPY_FLOW)

    result = pytester.runpytest("--regflow-coverage")

    assert result.ret == pytest.ExitCode.OK
    out = result.stdout.str()
    assert "    1  choosing_method --choose_method [otherwise]--> filling_form" in out
    assert "    0  setting_password --set_password [otherwise]--> completed" in out


def test_a_test_taking_regflow_path_runs_once_per_generated_path(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_paths="""
        import pytest

        @pytest.mark.regflow_paths("terminal")
        def test_path(regflow_runner, regflow_path):
            regflow_runner.run(regflow_path)
        """
    )

    result = pytester.runpytest("-v")

    result.assert_outcomes(passed=35 + 6 + 26)  # the terminal paths of each shipped flow
    out = result.stdout.str()
    assert "test_path[password_recovery-submit_login[otherwise]>expire[flow_expired]] PASSED" in out
    assert "test_path[bhxh_registration-expire[flow_expired]] PASSED" in out


def test_the_marker_names_one_flow(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_paths="""
        import pytest

        from regflow import PASSWORD_RECOVERY

        @pytest.mark.regflow_paths("terminal", flow="regflow.flows.recovery:PASSWORD_RECOVERY")
        def test_named(regflow_runner, regflow_path):
            assert regflow_runner.flow is PASSWORD_RECOVERY
            regflow_runner.run(regflow_path)

        @pytest.mark.regflow_paths("terminal", flow=PASSWORD_RECOVERY)
        def test_given(regflow_path):
            assert regflow_path.steps

        @pytest.mark.regflow_paths("shortest", machine="regflow.machine")
        def test_old_machine_keyword(regflow_flow, regflow_path):
            assert regflow_flow.name == "bhxh_registration"
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=6 + 6 + 9)  # the registration: a path to each of 9 states


def test_the_configured_flows_are_the_ones_tested_covered_and_run(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nregflow_flows = regflow.flows.recovery:PASSWORD_RECOVERY\n")
    pytester.makepyfile(
        test_flows="""
        import pytest

        from regflow import PASSWORD_RECOVERY

        def test_engine(regflow_engine, regflow_flows, regflow_flow):
            assert regflow_flows == (PASSWORD_RECOVERY,) and regflow_flow is PASSWORD_RECOVERY
            assert regflow_engine.flows == (PASSWORD_RECOVERY,)

        @pytest.mark.regflow_paths("terminal")
        def test_path(regflow_runner, regflow_path):
            regflow_runner.run(regflow_path)
        """
    )

    result = pytester.runpytest("--regflow-coverage")

    result.assert_outcomes(passed=1 + 6)
    out = result.stdout.str()
    assert "regflow transition coverage of password_recovery:" in out
    assert "bhxh_registration" not in out


def test_the_older_machine_setting_names_the_one_flow(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nregflow_machine = regflow.machine\n")
    pytester.makepyfile(test_one=ONE_HAPPY_FLOW)

    result = pytester.runpytest("--regflow-coverage")

    out = result.stdout.str()
    assert "regflow transition coverage of bhxh_registration: 1/46 transitions" in out
    assert "password_recovery" not in out


def test_a_bare_declaration_is_refused_as_a_flow(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        bare="""
        from regflow.analysis import Declaration

        BARE = Declaration.build(transitions=[], states=["a"], initial="a", terminal=["a"])
        """
    )
    pytester.makeini("[pytest]\nregflow_flows = bare:BARE\n")
    pytester.syspathinsert()

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "bare:BARE is a bare Declaration; name a FlowSpec" in result.stderr.str()


@pytest.mark.parametrize("narrowing", [["-k", "choose"], ["--ignore", "test_two.py"]])
def test_a_narrowed_run_is_not_held_to_the_configured_coverage(
    suite: pytest.Pytester, narrowing: list[str]
) -> None:
    suite.makepyfile(test_two="def test_nothing():\n    pass\n")

    assert suite.runpytest(*narrowing).ret == pytest.ExitCode.OK


def test_a_flows_coverage_counts_none_of_another_flows_transitions(
    pytester: pytest.Pytester,
) -> None:
    """The recovery's paths take edges named as the registration's (otp_pending --expire
    [flow_expired]): they count for the recovery only."""
    pytester.makepyfile(
        test_recovery="""
        from regflow import PASSWORD_RECOVERY
        from regflow.analysis import terminal_paths
        from regflow.testing import ScenarioRunner

        def test_recover():
            runner = ScenarioRunner(flow=PASSWORD_RECOVERY)
            for path in terminal_paths(runner.declaration):
                runner.run(path)
        """
    )

    out = pytester.runpytest("--regflow-coverage").stdout.str()

    assert "regflow transition coverage of bhxh_registration: 0/46 transitions" in out
    assert "    1  otp_pending --expire [flow_expired]--> expired" in out
