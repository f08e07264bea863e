"""The declaration language and the engine's checks of what it is given."""

from __future__ import annotations

import enum
from datetime import timedelta

import attrs
import pytest
from structlog.testing import capture_logs

from regflow import (
    BHXH_REGISTRATION,
    EXPIRE,
    PASSWORD_RECOVERY,
    Engine,
    ErrorSpec,
    FlowSnapshot,
    FlowSpec,
    Message,
    OtpContext,
    OtpKit,
    State,
    SubmitLogin,
    event,
    flow_expired,
    state,
)
from regflow.testing import FakePorts


class Light(enum.StrEnum):
    OFF = "off"
    ON = "on"
    DONE = "done"


@attrs.frozen
class Switch:
    """The one event of a tiny host flow."""


@attrs.frozen
class Counted:
    switches: int = 0


def _count(step: object) -> None:
    step.changes["switches"] = step.context.switches + 1  # type: ignore[attr-defined]


def light(**changes: object) -> FlowSpec:
    """A host's smallest flow: off → on → done, counting its switches."""
    fields: dict[str, object] = {
        "name": "light",
        "title": Message("Đèn", "Light"),
        "states": {
            Light.OFF: state("Tắt", "Off"),
            Light.ON: state("Bật", "On"),
            Light.DONE: state("Xong", "Done", terminal="flow.finished"),
        },
        "initial": Light.OFF,
        "events": {"switch": event(Switch, "Bấm", "Switch")},
        "transitions": [
            {"trigger": EXPIRE, "source": [Light.OFF, Light.ON], "dest": Light.DONE,
             "conditions": [flow_expired]},
            {"trigger": "switch", "source": Light.OFF, "dest": Light.ON, "after": [_count]},
            {"trigger": "switch", "source": Light.ON, "dest": Light.DONE, "after": [_count]},
        ],
        "context": Counted,
        "lifetime": timedelta(minutes=1),
    }  # fmt: skip
    return FlowSpec(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_host_flow_runs_beside_the_shipped_ones() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(light(), BHXH_REGISTRATION)
    flow_id = engine.start("light").flow_id

    views = [engine.send(flow_id, Switch()) for _ in range(3)]

    assert [v.state for v in views] == [Light.ON, Light.DONE, Light.DONE]
    assert views[-1].error_codes() == ("flow.finished",)
    stored = ports.flows.load(flow_id)
    assert stored is not None
    assert (stored.flow, stored.context, stored.path) == (
        "light",
        Counted(2),
        (Light.ON, Light.DONE),
    )
    assert stored.finished
    assert [spec.name for spec in engine.flows] == ["light", "bhxh_registration"]


def test_an_event_of_another_flow_is_invalid_there() -> None:
    engine = FakePorts.seeded().engine()
    flow_id = engine.start("bhxh_registration").flow_id

    view = engine.send(flow_id, SubmitLogin("001090012345"))

    assert (view.state, view.error_codes()) == (State.CHOOSING_METHOD, ("event.invalid",))


def test_a_stored_flow_of_a_declaration_the_engine_does_not_run_is_not_found() -> None:
    ports = FakePorts.seeded()
    flow_id = ports.engine(light()).start("light").flow_id
    registration_only = ports.engine(BHXH_REGISTRATION)

    with capture_logs() as logs:
        view = registration_only.send(flow_id, Switch())

    assert view.error_codes() == ("flow.not_found",)
    assert [log["event"] for log in logs] == ["flow.not_run_here"]


def test_an_engine_needs_a_flow_distinct_names_and_the_ports_its_flows_require() -> None:
    ports = FakePorts.seeded()
    base = {"flows": ports.flows, "clock": ports.clock, "otp_secret": ports.otp_secret}

    with pytest.raises(ValueError, match="at least one flow"):
        Engine(**base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same name"):
        Engine(light(), light(), **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hasher, sms, users"):
        Engine(PASSWORD_RECOVERY, **base)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="crm"):
        Engine(light(requires={"crm"}), **base)  # type: ignore[arg-type]
    assert Engine(light(requires={"crm"}), ports={"crm": object()}, **base).flows  # type: ignore[arg-type]


def test_one_code_may_not_mean_two_things() -> None:
    ports = FakePorts.seeded()
    own = ErrorSpec("otp.invalid", Message("khác", "other"))

    with pytest.raises(ValueError, match="already declared"):
        ports.engine(light(errors=(own,)))


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"name": "Light!"}, ValueError),
        ({"initial": State.CHOOSING_METHOD}, ValueError),
        ({"context": dict}, TypeError),
    ],
    ids=["name", "initial", "context"],
)
def test_a_declaration_that_cannot_run_is_refused_when_made(
    changes: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        light(**changes)


def test_the_fingerprint_changes_with_what_stored_flows_depend_on() -> None:
    base = light()
    relabelled = light(title=Message("Bóng đèn", "Lamp"))
    rewired = base.with_transitions(base.transitions[:-1])

    assert relabelled.fingerprint == base.fingerprint
    assert rewired.fingerprint != base.fingerprint


def test_a_flow_that_texts_without_the_sms_port_fails_as_that_port() -> None:
    """A declaration that forgot `requires={"sms"}`: its texts fail as an SMS outage would."""

    @attrs.frozen(kw_only=True)
    class Coded(OtpContext):
        pass

    kit = OtpKit(phone=lambda _: "+84912345678", holder=lambda _: None)
    spec = light(
        context=Coded,
        transitions=[{"trigger": "switch", "source": Light.OFF, "dest": Light.ON,
                      "after": [kit.send_otp]}],
    )  # fmt: skip
    ports = FakePorts.seeded()
    engine = Engine(spec, flows=ports.flows, clock=ports.clock, otp_secret=ports.otp_secret)

    view = engine.send(engine.start("light").flow_id, Switch())

    assert (view.state, view.error_codes()) == (Light.ON, ("sms.unavailable",))
    stored = ports.flows.load(view.flow_id)
    assert isinstance(stored, FlowSnapshot)
    assert stored.context.otp is None  # undone: "Gửi lại OTP" works at once
