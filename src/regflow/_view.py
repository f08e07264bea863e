"""What the host app gets back from every call: an immutable view of one flow."""

from __future__ import annotations

from datetime import datetime

import attrs

from regflow._domain import Account, Remedy, State
from regflow._errors import FlowError
from regflow._methods import RegistrationMethod


@attrs.frozen(kw_only=True)
class FlowView:
    """A flow as the page rendering it needs it.

    `state` is None only when the flow could not be read at all (unknown id, storage down);
    `errors` explains why the last event was refused or failed. `allowed_events` names the
    triggers the current step accepts. On the OTP screen, `otp_expires_at` is when the code
    stops working and `resend_available_at` when "Gửi lại OTP" works again (None: now).

    The counts warn the citizen before a lock: `otp_attempts_left` is how many codes may
    still be typed on the OTP screen (the last one wrong locks the flow), `mismatches_left`
    how many times the BHXH form may still be sent (the last one not matching locks it);
    `otp_sends_left` how many more texts "Gửi lại OTP" may ask for. Each is None on the
    screens where it does not apply.
    """

    flow_id: str
    state: State | None
    version: int = 0
    errors: tuple[FlowError, ...] = ()
    allowed_events: frozenset[str] = frozenset()
    expires_at: datetime | None = None
    methods: tuple[RegistrationMethod, ...] = ()
    phone_hint: str | None = None
    otp_expires_at: datetime | None = None
    resend_available_at: datetime | None = None
    otp_sends_left: int | None = None
    otp_attempts_left: int | None = None
    mismatches_left: int | None = None
    remedies: tuple[Remedy, ...] = ()
    account: Account | None = None

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
