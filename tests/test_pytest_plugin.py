"""The pytest plugin as a host app's suite sees it: fixtures, the coverage report, the gate."""

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
    assert "regflow transition coverage: 1/45 transitions (2.2 %)" in out
    assert "    0  filling_form --submit_form [otherwise]--> otp_pending" in out
    assert "choosing_method --choose_method [otherwise]" not in out
    assert "FAIL: transition coverage 2.2 % is below 100 %" in out


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


def test_the_option_holds_any_run_to_its_threshold(suite: pytest.Pytester) -> None:
    result = suite.runpytest("test_one.py", "--regflow-coverage-fail-under=2.2")
    assert result.ret == pytest.ExitCode.OK

    result = suite.runpytest("test_one.py", "--regflow-coverage-fail-under=2.4")
    assert result.ret == pytest.ExitCode.TESTS_FAILED


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

    result = pytester.runpytest()

    result.assert_outcomes(passed=35)


@pytest.mark.parametrize("narrowing", [["-k", "choose"], ["--ignore", "test_two.py"]])
def test_a_narrowed_run_is_not_held_to_the_configured_coverage(
    suite: pytest.Pytester, narrowing: list[str]
) -> None:
    suite.makepyfile(test_two="def test_nothing():\n    pass\n")

    assert suite.runpytest(*narrowing).ret == pytest.ExitCode.OK
