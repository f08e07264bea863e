"""How the engine reads a host's declaration: ``unless=`` guards, guards that are no `Rule`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from structlog.testing import capture_logs

from regflow import ChooseMethod, State, Step, rule
from regflow.machine import BHXH_REGISTRATION, INITIAL, TRANSITIONS
from regflow.testing import FakePorts

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from regflow import FlowView


@rule("method.unsupported", vi="Chỉ đăng ký bằng BHXH.", en="BHXH registration only.")
def bhxh_chosen(step: Step) -> bool:
    return step.payload(ChooseMethod).method == "bhxh"


def refuse_everyone(_: Step) -> bool:
    """A guard as a plain function, not a `Rule`."""
    return True


def _choose(first: dict[str, Any], method: str) -> tuple[FlowView, list[MutableMapping[str, Any]]]:
    """Send ``choose_method`` to an engine running regflow's machine with `first` tried first."""
    flow = BHXH_REGISTRATION.with_transitions([first, *TRANSITIONS])
    engine = FakePorts.seeded().engine(flow)
    flow_id = engine.start("bhxh_registration").flow_id
    with capture_logs() as logs:
        view = engine.send(flow_id, ChooseMethod("citizen", method))
    return view, [log for log in logs if log["event"] == "flow.transition"]


def test_an_unless_guard_that_holds_keeps_its_transition_from_firing() -> None:
    refuse_unless_bhxh = {
        "trigger": "choose_method", "source": INITIAL, "dest": None, "unless": [bhxh_chosen]
    }  # fmt: skip

    view, logs = _choose(refuse_unless_bhxh, "bhxh")

    assert view.state is State.FILLING_FORM
    assert [log["rule"] for log in logs] == [None]


def test_an_unless_guard_that_fails_lets_its_transition_fire() -> None:
    refuse_unless_bhxh = {
        "trigger": "choose_method", "source": INITIAL, "dest": None, "unless": [bhxh_chosen]
    }  # fmt: skip

    view, logs = _choose(refuse_unless_bhxh, "vneid")

    assert view.state is State.CHOOSING_METHOD
    assert view.errors == ()  # an unless guard reports nothing: it did not decide
    assert [(log["source"], log["rule"]) for log in logs] == [("choosing_method", None)]


def test_a_guard_that_is_no_rule_is_logged_unnamed_and_reports_nothing() -> None:
    refuse = {
        "trigger": "choose_method", "source": INITIAL, "dest": None, "conditions": [refuse_everyone]
    }  # fmt: skip

    view, logs = _choose(refuse, "bhxh")

    assert view.state is State.CHOOSING_METHOD
    assert view.errors == ()
    assert [log["rule"] for log in logs] == ["<unnamed>"]
