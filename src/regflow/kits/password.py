"""The password step, as a kit flows compose: the profile, the confirmation, the hashing.

The rules are the policy's `PasswordProfile` (`Policy.password`): the seed's by default (8+
characters with lower, upper, digit and special), or the standards' (NIST SP 800-63B, ASVS
5.0), which also refuses the citizen's own data; a flow's kit says where that data is
(`PasswordKit(personal=…)`). The hash is of the password as `normalise_password` gives it,
so a login verifies what was typed however the keyboard composed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import attrs

from regflow._passwords import PersonalData, password_errors
from regflow._ui import ui
from regflow.declare._rules import Rule, rule
from regflow.declare._step import Step, call_port, fact
from regflow.vn._validation import normalise_password

if TYPE_CHECKING:
    from collections.abc import Sequence

    from regflow._errors import FlowError


def _hidden(_: object) -> str:
    return "<hidden>"


@attrs.frozen
class SetPassword:
    """The password screen: the password and its confirmation (never shown in a repr)."""

    password: str = attrs.field(repr=_hidden, metadata=ui("Mật khẩu", "Password", kind="password"))
    confirmation: str = attrs.field(
        repr=_hidden, metadata=ui("Nhập lại mật khẩu", "Confirm the password", kind="password")
    )


#: Every code a password rule may report, whichever profile the policy selects.
PASSWORD_CODES: Final = (
    "password.too_short",
    "password.too_long",
    "password.no_lowercase",
    "password.no_uppercase",
    "password.no_digit",
    "password.no_special",
    "password.invalid_character",
    "password.common",
    "password.personal_data",
    "password.mismatch",
)

Personal = Callable[[Step], "PersonalData | None"]


def _nobody(_: Step) -> PersonalData | None:
    return None


class PasswordKit:
    """The password rule of one flow; `personal` reads its citizen's data off the step (it
    is asked only when the policy's profile refuses personal data).

    Every flow's kit names its rule `password_invalid`, so diagrams, coverage and docs speak
    of one rule whichever flow runs it.
    """

    def __init__(self, personal: Personal = _nobody) -> None:
        self._personal = personal
        self.errors = fact(self._typed_password_errors)
        self.invalid = self._rule()

    def _typed_password_errors(self, step: Step) -> tuple[FlowError, ...]:
        event = step.payload(SetPassword)
        profile = step.services.policy.password
        personal = self._personal(step) if profile.refuse_personal_data else None
        return password_errors(event.password, event.confirmation, profile, personal)

    def _rule(self) -> Rule:
        def reported(step: Step) -> Sequence[FlowError]:
            return self.errors(step)

        @rule(
            *PASSWORD_CODES,
            vi="Mật khẩu theo chính sách (mặc định ≥ 8 ký tự gồm chữ thường, chữ hoa, chữ số,"
            " ký tự đặc biệt); xác nhận khớp.",
            en="Password under the policy's profile (by default 8+ characters with lower,"
            " upper, digit and special); confirmation equal.",
            report=reported,
        )
        def password_invalid(step: Step) -> bool:
            return bool(self.errors(step))

        return password_invalid


#: The rule of a flow that knows nothing of its citizen (nothing personal is refused).
password_invalid: Final = PasswordKit().invalid


def password_hash(step: Step) -> str:
    """The hash to store for the step's password (a failing hasher is its own outage)."""
    password = normalise_password(step.payload(SetPassword).password)
    return call_port("hasher", step.hasher.hash, password)
