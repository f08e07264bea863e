"""The numbers a deployment may tune, in one object."""

from __future__ import annotations

from datetime import timedelta

import attrs

from regflow._limits import RateLimits

_POSITIVE_TIME = attrs.validators.gt(timedelta(0))
_POSITIVE_COUNT = (attrs.validators.instance_of(int), attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class Policy:
    """Limits and lifetimes of a flow; the defaults follow the issue that specified them.

    `max_mismatches` stops the form from being used to probe the BHXH database;
    `otp_max_attempts` bounds guessing a 6-digit code to 5 in a million per flow;
    `rate_limits` bound the same across flows (they need a `RateLimiter`).
    """

    flow_ttl: timedelta = attrs.field(default=timedelta(minutes=30), validator=_POSITIVE_TIME)
    otp_ttl: timedelta = attrs.field(default=timedelta(minutes=5), validator=_POSITIVE_TIME)
    otp_resend_after: timedelta = attrs.field(
        default=timedelta(seconds=60), validator=_POSITIVE_TIME
    )
    otp_max_sends: int = attrs.field(default=5, validator=_POSITIVE_COUNT)
    otp_max_attempts: int = attrs.field(default=5, validator=_POSITIVE_COUNT)
    max_mismatches: int = attrs.field(default=5, validator=_POSITIVE_COUNT)
    rate_limits: RateLimits = attrs.Factory(RateLimits)
    otp_text: str = (
        "Ma OTP dang ky tai khoan Cong DVC Quoc gia: {code}. "
        "Ma co hieu luc trong {minutes} phut. Khong cung cap ma cho bat ky ai."
    )
