"""Rotating the OTP key (docs/deployment.md): a code sent before the rotation still works
after it, on a server that keeps the old key as a previous one, and on no other."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import BHXH_REGISTRATION, ChooseMethod, ConfirmOtp, State
from regflow.testing import FakePorts, form_for

if TYPE_CHECKING:
    from regflow import Engine

OLD, NEW = b"o" * 32, b"n" * 32


def engine(ports: FakePorts, secret: bytes, *previous: bytes) -> Engine:
    """A server of the deployment: the same stores and services, its own keys."""
    return attrs.evolve(ports, otp_secret=secret, previous_otp_secrets=previous).engine()


def code_sent_by(server: Engine) -> str:
    flow_id = server.start(BHXH_REGISTRATION.name).flow_id
    server.send(flow_id, ChooseMethod("citizen", "bhxh"))
    assert server.send(flow_id, form_for()).state is State.OTP_PENDING
    return flow_id


@pytest.mark.parametrize(
    ("sender", "confirmer"),
    [
        ((OLD,), (NEW, OLD)),  # after the switch: the old key is a previous one
        ((NEW, OLD), (OLD, NEW)),  # during the roll-out: servers not yet switched accept NEW
        ((NEW, OLD), (NEW,)),  # after the old key is dropped: new codes still work
    ],
)
def test_a_code_in_flight_matches_on_a_server_that_knows_its_key(
    sender: tuple[bytes, ...], confirmer: tuple[bytes, ...]
) -> None:
    ports = FakePorts.seeded()
    flow_id = code_sent_by(engine(ports, *sender))

    view = engine(ports, *confirmer).send(flow_id, ConfirmOtp(ports.sms.last_code()))

    assert view.state is State.SETTING_PASSWORD


def test_a_code_of_a_dropped_key_no_longer_matches() -> None:
    ports = FakePorts.seeded()
    flow_id = code_sent_by(engine(ports, OLD))

    view = engine(ports, NEW).send(flow_id, ConfirmOtp(ports.sms.last_code()))

    assert view.error_codes() == ("otp.invalid",)


def test_a_short_previous_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 random bytes"):
        engine(FakePorts.seeded(), NEW, b"short")
