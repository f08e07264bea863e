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
_30_DAYS = timedelta(days=30)


@attrs.frozen(kw_only=True)
class RateLimits:
    """The limits across flows; an empty tuple switches one off.

    - `otp_sends_per_phone`: every text sent to one number (OWASP: SMS pumping);
    - `starts_per_client`: flows begun from one client key, so nobody fills the flow store
      (generous: a citizen who reloads the home page begins a flow each time);
    - `attempts_per_client`: forms checked against BHXH from one client key (IP, device),
      generous because mobile carriers put many citizens behind one address;
    - `mismatches_per_client`: failed matches from one client key: the main brake on
      probing BHXH, a fifth of the client's forms an hour;
    - `attempts_per_bhxh_number`, `mismatches_per_bhxh_number`: forms and failed matches
      for one number, whatever the flow or client (NIST SP 800-63B §5.2.2: bound failed
      attempts per subject, not per session). They refuse nobody: once one is used up the
      number is *probed*, and the form answers every valid submission for it alike, so it
      reveals nothing more while the real citizen still gets a code on the record's phone;
    - `otp_failures_per_citizen`: wrong codes entered in the flows of one BHXH record
      (registrations and password recoveries together);
    - `recoveries_per_client`: password recoveries asked from one client key;
    - `recoveries_per_login`: recoveries asked for one CMND/CCCD, whatever the client. Used
      up, they refuse nobody either: the recovery answers alike and sends no text, so
      nobody can flood the account's phone, and the answer tells nothing.
    """

    otp_sends_per_phone: tuple[RateLimit, ...] = _limits((5, _HOUR), (10, _DAY))
    attempts_per_bhxh_number: tuple[RateLimit, ...] = _limits((10, _HOUR), (20, _DAY))
    starts_per_client: tuple[RateLimit, ...] = _limits((200, _HOUR), (1000, _DAY))
    attempts_per_client: tuple[RateLimit, ...] = _limits((100, _HOUR))
    mismatches_per_client: tuple[RateLimit, ...] = _limits((20, _HOUR), (100, _DAY))
    mismatches_per_bhxh_number: tuple[RateLimit, ...] = _limits((10, _DAY))
    otp_failures_per_citizen: tuple[RateLimit, ...] = _limits((10, _DAY), (30, _30_DAYS))
    recoveries_per_client: tuple[RateLimit, ...] = _limits((20, _HOUR), (100, _DAY))
    recoveries_per_login: tuple[RateLimit, ...] = _limits((5, _HOUR), (10, _DAY))
