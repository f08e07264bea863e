"""The password step, as a kit flows compose: the policy, the confirmation, the hashing.

The policy is the seed's (8+ characters with lower, upper, digit and special, the
confirmation equal: `regflow.vn._validation.password_errors`); the hash is of the password as
`normalise_password` gives it, so a login verifies what was typed however the keyboard
composed it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from regflow.declare._rules import rule
from regflow.declare._step import Step, call_port, fact
from regflow.vn._validation import normalise_password, password_errors

if TYPE_CHECKING:
    from collections.abc import Sequence

    from regflow._errors import FlowError


def _hidden(_: object) -> str:
    return "<hidden>"


@attrs.frozen
class SetPassword:
    """The password screen: the password and its confirmation (never shown in a repr)."""

    password: str = attrs.field(repr=_hidden)
    confirmation: str = attrs.field(repr=_hidden)


@fact
def typed_password_errors(step: Step) -> tuple[FlowError, ...]:
    event = step.payload(SetPassword)
    return password_errors(event.password, event.confirmation)


def _reported(step: Step) -> Sequence[FlowError]:
    return typed_password_errors(step)


@rule(
    "password.too_short",
    "password.too_long",
    "password.no_lowercase",
    "password.no_uppercase",
    "password.no_digit",
    "password.no_special",
    "password.invalid_character",
    "password.mismatch",
    vi="Mật khẩu ≥ 8 ký tự gồm chữ thường, chữ hoa, chữ số, ký tự đặc biệt; xác nhận khớp.",
    en="Password of 8+ characters with lower, upper, digit and special; confirmation equal.",
    report=_reported,
)
def password_invalid(step: Step) -> bool:
    return bool(typed_password_errors(step))


def password_hash(step: Step) -> str:
    """The hash to store for the step's password (a failing hasher is its own outage)."""
    password = normalise_password(step.payload(SetPassword).password)
    return call_port("hasher", step.hasher.hash, password)
