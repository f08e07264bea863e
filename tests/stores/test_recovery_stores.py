"""The password recovery end to end on the stores many app servers share."""

from __future__ import annotations

from regflow import (
    PASSWORD_RECOVERY,
    ConfirmOtp,
    RecoveryState,
    SetPassword,
    State,
    SubmitLogin,
)
from regflow.testing import CITIZEN, FakePorts

from .conftest import STRONG_PASSWORD, Backend, at_password, engine_on

NEW_PASSWORD = "Mới-tinh-2B!"


def test_a_registered_citizen_recovers_the_password_across_processes(
    shared_backend: Backend,
) -> None:
    ports = FakePorts.seeded()
    registering = engine_on(ports, *shared_backend.open())
    flow_id = at_password(registering, ports).flow_id
    registered = registering.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))
    assert registered.state is State.COMPLETED
    assert registered.account is not None
    old_hash = shared_backend.password_hash(registered.account.account_id)

    recovery = engine_on(ports, *shared_backend.open()).start(PASSWORD_RECOVERY.name).flow_id
    steps = [
        SubmitLogin(CITIZEN.id_number),
        lambda: ConfirmOtp(ports.sms.last_code(CITIZEN.phone)),
        SetPassword(NEW_PASSWORD, NEW_PASSWORD),
    ]
    states = []
    for step in steps:  # each request on a new engine and new stores: another app server
        event = step() if callable(step) else step
        states.append(engine_on(ports, *shared_backend.open()).send(recovery, event).state)

    new_hash = shared_backend.password_hash(registered.account.account_id)
    assert states == [RecoveryState.OTP_PENDING, RecoveryState.SETTING_PASSWORD,
                      RecoveryState.COMPLETED]  # fmt: skip
    assert ports.hasher.verify(new_hash, NEW_PASSWORD)
    assert not ports.hasher.verify(new_hash, STRONG_PASSWORD)
    assert new_hash != old_hash
