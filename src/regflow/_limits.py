"""Limits across flows: what one phone, one BHXH number or one client may do per period.

A flow's own limits (`Policy.otp_max_sends`, `otp_max_attempts`, `max_mismatches`) end at the
flow; an attacker simply starts another. These count across flows, in a `RateLimiter`
shared by every app server. The defaults and why they are what they are:
`docs/operations.md`, "Abuse, faults and logs".
"""

from __future__ import annotations

from datetime import timedelta

import attrs


@attrs.frozen
class RateLimit:
    """At most `amount` requests per sliding window of `per`."""

    amount: int = attrs.field(validator=(attrs.validators.instance_of(int), attrs.validators.gt(0)))
    per: timedelta = attrs.field(validator=attrs.validators.gt(timedelta(0)))

    def __str__(self) -> str:
        return f"{self.amount}/{int(self.per.total_seconds())}s"


def _limits(*pairs: tuple[int, timedelta]) -> tuple[RateLimit, ...]:
    return tuple(RateLimit(amount, per) for amount, per in pairs)


_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@attrs.frozen(kw_only=True)
class RateLimits:
    """The limits across flows; an empty tuple switches one off.

    - `otp_sends_per_phone`: every text sent to one number (OWASP: SMS pumping);
    - `attempts_per_bhxh_number`: forms checked against BHXH for one number;
    - `attempts_per_client`: forms checked against BHXH from one client key (IP, device),
      generous because mobile carriers put many citizens behind one address;
    - `mismatches_per_bhxh_number`: failed matches for one number, whatever the flow
      (NIST SP 800-63B §5.2.2: bound failed attempts per subject, not per session).
    """

    otp_sends_per_phone: tuple[RateLimit, ...] = _limits((5, _HOUR), (10, _DAY))
    attempts_per_bhxh_number: tuple[RateLimit, ...] = _limits((10, _HOUR), (20, _DAY))
    attempts_per_client: tuple[RateLimit, ...] = _limits((100, _HOUR))
    mismatches_per_bhxh_number: tuple[RateLimit, ...] = _limits((10, _DAY))
