"""What the host app gets back from every call: an immutable view of one flow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from regflow._domain import Account
from regflow._errors import FlowError


@attrs.frozen(kw_only=True)
class FlowView:
    """A flow as the page rendering it needs it: the generic part, the OTP screen's fields
    (of any flow with the OTP kit) and `details`, what the flow itself chooses to show
    (`regflow.machine.RegistrationDetails` for a registration).

    `flow` names the flow's declaration (`flow_version` which version of it), `version`
    counts the flow's saved steps; `state` (a member of the flow's `StrEnum`) is
    None only when the flow could not be read at all (unknown id, storage down); `errors`
    explains why the last event was refused or failed. `allowed_events` names the triggers
    the current step accepts; `account` is the account a completed flow made or changed.
    On the OTP screen, `otp_expires_at` is when the code stops working and
    `resend_available_at` when "Gửi lại OTP" works again (None: now).

    The counts warn the citizen before a lock: `otp_attempts_left` is how many codes may
    still be typed on the OTP screen (the last one wrong locks the flow),
    `otp_sends_left` how many more texts "Gửi lại OTP" may ask for. Each is None on the
    screens where it does not apply.
    """

    flow_id: str
    state: str | None
    flow: str | None = None
    version: int = 0
    #: The version of the flow's declaration it runs on (`FlowSpec.version`; 0: no flow).
    flow_version: int = 0
    errors: tuple[FlowError, ...] = ()
    allowed_events: frozenset[str] = frozenset()
    expires_at: datetime | None = None
    phone_hint: str | None = None
    otp_expires_at: datetime | None = None
    resend_available_at: datetime | None = None
    otp_sends_left: int | None = None
    otp_attempts_left: int | None = None
    account: Account | None = None
    details: Any = None

    @property
    def ok(self) -> bool:
        """True when the last event was accepted without errors."""
        return not self.errors

    @property
    def retryable(self) -> bool:
        """True when repeating the same request later may succeed (a service was down)."""
        return any(error.retryable for error in self.errors)

    def error_codes(self) -> tuple[str, ...]:
        return tuple(error.code for error in self.errors)

    def field_errors(self, field: str) -> tuple[FlowError, ...]:
        return tuple(error for error in self.errors if error.field == field)
