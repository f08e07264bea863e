"""`Policy.account_exists_after_otp`: with it, nobody learns that a citizen has an account
before proving the BHXH record's phone. The same citizen's registration, in a world where
they have an account and in one where they have none, gives the same answers, the same port
calls (which is what its time is made of: `bench/run.py` measures the times) and the same
audit lines until the right code; the seed's answer right after the match stays the default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import pytest
from structlog.testing import capture_logs

from regflow import (
    BHXH_REGISTRATION,
    Account,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowView,
    Policy,
    SetPassword,
    State,
)
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import STRONG_PASSWORD

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping

HIDDEN = Policy(account_exists_after_otp=True)


class Recorder:
    """A port that records each call's method name in `calls`, then makes it."""

    def __init__(self, name: str, port: object, calls: list[str]) -> None:
        self._name, self._port, self._calls = name, port, calls

    def __getattr__(self, method: str) -> Callable[..., Any]:
        real: Callable[..., Any] = getattr(self._port, method)

        def call(*args: object, **kwargs: object) -> object:
            self._calls.append(f"{self._name}.{method}")
            return real(*args, **kwargs)

        return call


@attrs.define
class World:
    """The citizen's registration, with or without an account of theirs in the store."""

    ports: FakePorts
    engine: Engine
    calls: list[str]


def world(*, has_account: bool, policy: Policy = HIDDEN) -> World:
    ports, calls = FakePorts.seeded(), list[str]()
    if has_account:
        account = Account.for_citizen(
            CITIZEN, account_id="a-1", email=None, created_at=ports.clock.now(), flow_id="old"
        )
        ports.users.add(account, ports.hasher.hash(STRONG_PASSWORD))
    engine = Engine(
        BHXH_REGISTRATION,
        bhxh=Recorder("bhxh", ports.bhxh, calls),
        sms=Recorder("sms", ports.sms, calls),
        users=Recorder("users", ports.users, calls),
        flows=Recorder("flows", ports.flows, calls),
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        policy=policy,
    )
    return World(ports, engine, calls)


def to_form_answer(world: World) -> tuple[FlowView, FlowView]:
    """The flow after the method, and its answer to the citizen's form."""
    flow_id = world.engine.start("bhxh_registration").flow_id
    method = world.engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    return method, world.engine.send(flow_id, form_for())


def seen(view: FlowView) -> dict[str, Any]:
    """What the host (and so the citizen) sees of a view, but the flow's own id."""
    return {k: v for k, v in attrs.asdict(view, recurse=False).items() if k != "flow_id"}


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def audit(lines: list[MutableMapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in line.items() if k != "flow_id"} for line in lines]


def test_before_the_code_an_existing_account_looks_like_none() -> None:
    known, unknown = world(has_account=True), world(has_account=False)

    with capture_logs() as known_lines:
        known_views = to_form_answer(known)
    with capture_logs() as unknown_lines:
        unknown_views = to_form_answer(unknown)

    assert known_views[1].state is State.OTP_PENDING
    assert [seen(v) for v in known_views] == [seen(v) for v in unknown_views]
    assert known.calls == unknown.calls
    assert "sms.send" in known.calls
    assert audit(known_lines) == audit(unknown_lines)
    assert known.ports.sms.last_code()  # the record's phone got a real code in both
    assert unknown.ports.sms.last_code()


def test_the_right_code_tells_the_account_and_its_remedies() -> None:
    known, unknown = world(has_account=True), world(has_account=False)
    known_otp, unknown_otp = to_form_answer(known)[1], to_form_answer(unknown)[1]

    told = known.engine.send(known_otp.flow_id, ConfirmOtp(known.ports.sms.last_code()))
    new = unknown.engine.send(unknown_otp.flow_id, ConfirmOtp(unknown.ports.sms.last_code()))

    assert told.state is State.ACCOUNT_EXISTS
    assert told.details.remedies
    assert new.state is State.SETTING_PASSWORD
    assert unknown.engine.send(new.flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)).ok


def test_a_wrong_code_tells_nothing_either() -> None:
    known, unknown = world(has_account=True), world(has_account=False)
    known_otp, unknown_otp = to_form_answer(known)[1], to_form_answer(unknown)[1]

    answers = [
        w.engine.send(otp.flow_id, ConfirmOtp(wrong(w.ports.sms.last_code())))
        for w, otp in ((known, known_otp), (unknown, unknown_otp))
    ]

    assert seen(answers[0]) == seen(answers[1])
    assert answers[0].error_codes() == ("otp.invalid",)


@pytest.mark.parametrize("policy", [Policy(), Policy(account_exists_after_otp=False)])
def test_by_default_the_account_is_told_right_after_the_match(policy: Policy) -> None:
    known = world(has_account=True, policy=policy)

    answer = to_form_answer(known)[1]

    assert answer.state is State.ACCOUNT_EXISTS
    assert known.ports.sms.sent == []
