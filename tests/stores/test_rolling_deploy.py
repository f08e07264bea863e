"""Deploys of the registration's newer versions over a database full of older flows.

1,000 flows are spread over every state by an old server; a new server (a second engine on
the same database, as a second process) is deployed beside it, and every flow is driven to an
end: none lost, none in a state its version does not declare, each finished on the version
the rules say. Version 2 over version 1: at the form, version 2; past it, version 1. Version 3
over version 2: every flow in flight moves to version 3.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

import attrs
import pytest

from regflow import (
    BHXH_REGISTRATION,
    BHXH_REGISTRATION_V1,
    BHXH_REGISTRATION_V2,
    BhxhRecord,
    ChooseMethod,
    ConfirmOtp,
    Engine,
    FlowSpec,
    Policy,
    ResendOtp,
    SetPassword,
    State,
)
from regflow.adapters.memory import InMemoryBhxhRegistry
from regflow.testing import FakePorts, form_for

from .conftest import STRONG_PASSWORD

if TYPE_CHECKING:
    from collections.abc import Callable

    from regflow import FlowView

    from .conftest import Backend

FLOWS: Final = 1000
S = State
#: Where the old server leaves the flows, one in ten in each of version 1's states.
SPREAD: Final = (
    S.CHOOSING_METHOD,
    S.FILLING_FORM,
    S.DATA_MISMATCH,
    S.OTP_PENDING,
    S.OTP_EXPIRED,
    S.SETTING_PASSWORD,
    S.COMPLETED,
    S.ACCOUNT_EXISTS,
    S.LOCKED,
    S.EXPIRED,
)


@attrs.frozen
class Deploy:
    """The old server's versions, the new one's, and the states whose flows the new version's
    migration takes (the rest finish on the old server's newest version)."""

    old: tuple[FlowSpec, ...]
    new: tuple[FlowSpec, ...]
    moved: frozenset[State]


V1, V2, V3 = BHXH_REGISTRATION_V1, BHXH_REGISTRATION_V2, BHXH_REGISTRATION
IN_FLIGHT: Final = frozenset(
    {S.CHOOSING_METHOD, S.FILLING_FORM, S.DATA_MISMATCH, S.OTP_PENDING, S.OTP_EXPIRED}
    | {S.SETTING_PASSWORD}
)
DEPLOYS: Final = {
    "version 2 over 1": Deploy(
        (V1,), (V2, V1), frozenset({S.CHOOSING_METHOD, S.FILLING_FORM, S.DATA_MISMATCH})
    ),
    "version 3 over 2": Deploy((V2, V1), (V3, V2, V1), IN_FLIGHT),
}
POLICY: Final = Policy(flow_ttl=timedelta(hours=1), max_mismatches=2)


def citizen(index: int) -> BhxhRecord:
    return BhxhRecord(
        bhxh_number=f"02{index:08d}",
        full_name="Nguyễn Văn An",
        date_of_birth=date(1990, 5, 17),
        phone=f"+8491{index:07d}",
        id_number=f"001090{index:06d}",  # a man born in 1990, in Hà Nội
    )


def engine(ports: FakePorts, backend: Backend, *specs: FlowSpec) -> Engine:
    """An app server: its own connections to the backend's database, running `specs`."""
    users, flows = backend.open()
    return Engine(
        *specs,
        bhxh=ports.bhxh,
        sms=ports.sms,
        users=users,
        flows=flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        policy=POLICY,
    )


def step(server: Engine, ports: FakePorts, view: FlowView, record: BhxhRecord) -> FlowView:
    """The citizen's next answer on the screen `view` shows."""
    answers: dict[object, Callable[[], object]] = {
        S.CHOOSING_METHOD: lambda: ChooseMethod("citizen", "bhxh"),
        S.FILLING_FORM: lambda: form_for(record),
        S.DATA_MISMATCH: lambda: form_for(record),
        S.OTP_PENDING: lambda: ConfirmOtp(ports.sms.last_code(record.phone)),
        S.OTP_EXPIRED: ResendOtp,
        S.SETTING_PASSWORD: lambda: SetPassword(STRONG_PASSWORD, STRONG_PASSWORD),
    }
    return server.send(view.flow_id, answers[view.state]())


def walk(server: Engine, ports: FakePorts, record: BhxhRecord, until: State) -> str:
    """A new flow of `record`, answered right until it reaches `until`."""
    view = server.start(BHXH_REGISTRATION.name)
    while view.state is not until:
        view = step(server, ports, view, record)
    return view.flow_id


def spread(old: Engine, ports: FakePorts) -> dict[str, tuple[State, BhxhRecord]]:
    """The flows of the old server in every state of version 1: flow id → (state, citizen)."""
    placed: dict[str, tuple[State, BhxhRecord]] = {}
    records = [citizen(index) for index in range(FLOWS)]
    expiring = [r for i, r in enumerate(records) if SPREAD[i % len(SPREAD)] is S.EXPIRED]
    for record in expiring:  # begun an hour before the others: past their lifetime
        placed[walk(old, ports, record, S.FILLING_FORM)] = (S.EXPIRED, record)
    ports.clock.advance(POLICY.flow_ttl + timedelta(minutes=1))
    for flow_id, (_, record) in placed.items():
        assert old.send(flow_id, form_for(record)).state is S.EXPIRED
    registered: list[BhxhRecord] = []
    for index, record in enumerate(records):
        target = SPREAD[index % len(SPREAD)]
        if target is S.EXPIRED:
            continue
        placed[_place(old, ports, record, target, registered)] = (target, record)
    ports.clock.advance(POLICY.otp_ttl + timedelta(seconds=1))
    for flow_id, (target, record) in placed.items():
        if target is S.OTP_EXPIRED:
            view = old.send(flow_id, ConfirmOtp(ports.sms.last_code(record.phone)))
            assert view.state is S.OTP_EXPIRED
    return placed


def _place(
    old: Engine, ports: FakePorts, record: BhxhRecord, target: State, registered: list[BhxhRecord]
) -> str:
    if target is S.DATA_MISMATCH or target is S.LOCKED:
        flow_id = walk(old, ports, record, S.FILLING_FORM)
        wrong = form_for(record, full_name="Nguyễn Văn Bình")
        while (view := old.send(flow_id, wrong)).state is not target:
            assert view.state is S.DATA_MISMATCH
        return flow_id
    if target is S.ACCOUNT_EXISTS:  # the citizen of a completed flow registers again
        return walk(old, ports, registered[-1], S.ACCOUNT_EXISTS)
    if target is S.COMPLETED:
        registered.append(record)
    return walk(old, ports, record, S.OTP_PENDING if target is S.OTP_EXPIRED else target)


def _spec(flow_version: int) -> FlowSpec:
    return {spec.version: spec for spec in (V1, V2, V3)}[flow_version]


@pytest.mark.parametrize("deploy", DEPLOYS.values(), ids=DEPLOYS.keys())
def test_a_deploy_of_a_new_version_loses_no_flow_in_flight(
    shared_backend: Backend, deploy: Deploy
) -> None:
    ports = FakePorts(bhxh=InMemoryBhxhRegistry([citizen(i) for i in range(FLOWS)]))
    old = engine(ports, shared_backend, *deploy.old)
    placed = spread(old, ports)
    assert len(placed) == FLOWS
    new = engine(ports, shared_backend, *deploy.new)
    _, store = shared_backend.open()
    MOVED = deploy.moved  # noqa: N806 - the deploy's constant

    for flow_id in placed:  # the new server reads each flow once: the moves are saved
        assert new.view(flow_id).ok
    for flow_id, (state, record) in placed.items():  # the old server, still running
        before = store.load(flow_id)
        assert before is not None
        view = old.view(flow_id)
        if state in MOVED:
            assert view.error_codes() == ("flow.version_unknown",)
            assert store.load(flow_id) == before
        elif view.allowed_events:
            step(old, ports, view, record)
    for flow_id, (_, record) in placed.items():
        view = new.view(flow_id)
        while view.allowed_events:
            view = step(new, ports, view, record)

    finished = {flow_id: store.load(flow_id) for flow_id in placed}
    lost = [flow_id for flow_id, snapshot in finished.items() if snapshot is None]
    assert lost == []
    ends = {
        flow_id: (snapshot.flow_version, _spec(snapshot.flow_version).state_named(snapshot.state))
        for flow_id, snapshot in finished.items()
        if snapshot is not None
    }
    unknown = [f for f, (v, state) in ends.items() if state not in _spec(v).terminal]
    assert unknown == []
    wrong_version = [
        flow_id
        for flow_id, (version, _) in ends.items()
        if version != (deploy.new[0] if placed[flow_id][0] in MOVED else deploy.old[0]).version
    ]
    assert wrong_version == []
    completed = sum(state is S.COMPLETED for _, state in ends.values())
    assert completed == FLOWS - 3 * FLOWS // len(SPREAD)  # all but the locked, expired, existing
