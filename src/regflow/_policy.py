"""The numbers a deployment may tune, in one object."""

from __future__ import annotations

import enum
from datetime import timedelta

import attrs

from regflow._limits import RateLimits
from regflow._otp import OTP_DIGITS
from regflow._passwords import PORTAL_PASSWORDS, PasswordProfile
from regflow._sms import OTP_SMS, SmsMessage, SmsTemplate

_POSITIVE_TIME = attrs.validators.gt(timedelta(0))
_POSITIVE_COUNT = (attrs.validators.instance_of(int), attrs.validators.gt(0))
#: What an OTP template may say: the code (required) and the minutes it stays valid.
_OTP_PARAMS = frozenset({"code", "minutes"})


def _otp_template(policy: Policy, _: attrs.Attribute[SmsTemplate], template: SmsTemplate) -> None:
    """The OTP template takes the code and this policy's lifetime, or the policy is refused
    at start-up, not at a citizen's send."""
    if "code" not in template.params or not set(template.params) <= _OTP_PARAMS:
        raise ValueError("the OTP template takes {code} and may take {minutes}, no more")
    try:
        policy.otp_message("0" * OTP_DIGITS)
    except ValueError as exc:
        raise ValueError(f"the OTP template cannot carry this policy's values: {exc}") from exc


class VneidPassword(enum.StrEnum):
    """Whether a new account made by VNeID gets a password besides signing in by VNeID."""

    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


#: The assurance levels of a VNeID account (Decree 69/2024/NĐ-CP): 1 (basic), 2 (verified).
_VNEID_LEVEL = attrs.validators.in_((1, 2))


@attrs.frozen(kw_only=True)
class Policy:
    """Limits and lifetimes of a flow; the defaults follow the issue that specified them.

    `max_mismatches` stops the form from being used to probe the BHXH database;
    `otp_max_attempts` bounds guessing a 6-digit code to 5 in a million per flow;
    `rate_limits` bound the same across flows (they need a `RateLimiter`);
    `otp_sms` is the approved brandname template the code is sent with;
    `vneid_min_level` is the lowest VNeID assurance level a sign-up by VNeID takes (2: the
    identity verified by the police), `vneid_password` whether its new account gets a
    password;
    `account_exists_after_otp` holds "account exists" back until the OTP proves the record's
    phone (no enumeration before it: OWASP ASVS 5.0; the seed tells it at the match);
    `password` the rules a new password follows (`PORTAL_PASSWORDS`, the seed's, or
    `STANDARDS_PASSWORDS`, NIST SP 800-63B's and ASVS 5.0's, or a host's own).
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
    otp_sms: SmsTemplate = attrs.field(default=OTP_SMS, validator=_otp_template)
    vneid_min_level: int = attrs.field(default=2, validator=_VNEID_LEVEL)
    vneid_password: VneidPassword = attrs.field(
        default=VneidPassword.OPTIONAL, converter=VneidPassword
    )
    password: PasswordProfile = PORTAL_PASSWORDS
    account_exists_after_otp: bool = False

    def otp_message(self, code: str) -> SmsMessage:
        """The text that carries `code`, with the minutes it stays valid if the template says."""
        values = {"code": code, "minutes": str(self.otp_ttl // timedelta(minutes=1))}
        return SmsMessage(self.otp_sms, {name: values[name] for name in self.otp_sms.params})
