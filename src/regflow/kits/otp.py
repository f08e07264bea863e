"""The OTP challenge, as a kit flows compose: send, resend with a cooldown and caps,
confirm, expiry, a lock after wrong codes, and the limits across flows.

A flow's context inherits `OtpContext` (what the challenge remembers); its declaration takes
the kit's transitions (`OtpKit.confirm`, `OtpKit.resend`) and its action `send_otp` on the
edge that issues the first code. The kit is told where a flow's codes go (`phone`) and
whose wrong codes it counts across flows (`holder`): the BHXH registration and the password
recovery count one citizen's wrong codes together, and one phone's texts together.

A *decoy* is a challenge nobody receives (`OtpContext.decoy`): its counters and view are a
real send's, its hash matches no code. A flow that must not tell whether its citizen is
known answers with one (`send_decoy`), and marks itself `probed` so that no limit tells
either: such a flow never says a limit stopped a text or a code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow import _otp
from regflow._masking import mask_id
from regflow._ui import ui
from regflow.declare._rules import Rule, reports_until, rule
from regflow.declare._spec import event, state
from regflow.declare._step import OutgoingSms, Step, fact

if TYPE_CHECKING:
    import enum

    from regflow._errors import FlowError
    from regflow._policy import Policy


def _masked(number: object) -> str:
    return repr(mask_id(number)) if isinstance(number, str) else "<hidden>"


def _hidden(_: object) -> str:
    return "<hidden>"


@attrs.frozen
class ConfirmOtp:
    """The OTP screen's "Xác nhận" (the code is never shown in a repr)."""

    code: str = attrs.field(repr=_hidden, metadata=ui("Mã OTP", "OTP code", kind="otp"))


@attrs.frozen
class ResendOtp:
    """The OTP screen's "Gửi lại OTP"."""


@attrs.frozen(kw_only=True)
class OtpChallenge:
    """The code sent last: only its keyed hash is kept."""

    code_hash: str
    expires_at: datetime


@attrs.frozen(kw_only=True)
class OtpContext:
    """What an OTP challenge remembers; a flow's context inherits it.

    `probed` marks a flow that must answer like a decoy wherever a limit would otherwise
    tell a known citizen from an unknown one; `decoy` a flow whose codes nobody receives,
    `decoy_phone` the phone it pretends to send to (if the flow has one to show).
    """

    otp: OtpChallenge | None = None
    otp_sends: int = 0
    otp_last_sent_at: datetime | None = None
    otp_failures: int = 0
    probed: bool = False
    decoy: bool = False
    decoy_phone: str | None = attrs.field(default=None, repr=_masked)


#: The labels of the OTP screen's two states and buttons, the same in every flow.
OTP_PENDING_STATE: Final = state("Chờ nhập OTP", "Waiting for the OTP")
OTP_EXPIRED_STATE: Final = state("OTP hết hạn", "OTP expired")
OTP_EVENTS: Final = {
    "confirm_otp": event(ConfirmOtp, "Xác nhận OTP", "Confirm OTP"),
    "resend_otp": event(ResendOtp, "Gửi lại OTP", "Resend OTP"),
}


def resend_available_at(context: OtpContext, policy: Policy) -> datetime | None:
    """When "Gửi lại OTP" works again; None: now, since no valid code awaits the citizen."""
    last = context.otp_last_sent_at
    if context.otp is None or last is None:
        return None
    return last + policy.otp_resend_after


def otp_view(context: OtpContext, policy: Policy, phone_hint: str | None) -> dict[str, Any]:
    """The `FlowView` fields of the OTP screen."""
    otp = context.otp
    return {
        "phone_hint": phone_hint,
        "otp_expires_at": otp.expires_at if otp else None,
        "resend_available_at": resend_available_at(context, policy) if otp else None,
        "otp_sends_left": policy.otp_max_sends - context.otp_sends,
        "otp_attempts_left": policy.otp_max_attempts - context.otp_failures,
    }


Where = Callable[[Step], "str | None"]


class OtpKit:
    """The OTP rules and actions of one flow; `phone` and `holder` read them off its step.

    Every flow's kit names its rules alike (`otp_expired`, `otp_wrong`…), so diagrams,
    coverage and docs speak of one challenge whichever flow runs it.
    """

    def __init__(self, *, phone: Where, holder: Where) -> None:
        self._phone = phone
        self._holder = holder
        self.code_matches = fact(self._code_matches)
        self.guesses_used_up = fact(self._guesses_used_up)
        self.otp_correct = fact(self._otp_correct)
        self.not_sent, self.expired = self._timing_rules()
        self.guess_rate_limited, self.too_many_attempts, self.wrong = self._guess_rules()
        self.send_limit_reached, self.resend_too_soon, self.send_rate_limited = self._send_rules()

    # --- where the codes go ---------------------------------------------------------------

    def otp_phone(self, step: Step) -> str | None:
        """The phone this flow's codes go to: a decoy's own, or the one `phone` reads."""
        context: OtpContext = step.context
        return context.decoy_phone if context.decoy else self._phone(step)

    def phone_used_up(self, step: Step, phone: str | None) -> bool:
        limits = step.services.policy.rate_limits.otp_sends_per_phone
        return step.over_limit("otp_send", phone, limits, count=False)

    # --- facts ------------------------------------------------------------------------------

    def _code_matches(self, step: Step) -> bool:
        """Whether the code typed is the one sent (never, in a decoy: its hash is random),
        under the current key or one it replaced (a code sent before a rotation)."""
        otp = step.context.otp
        assert otp is not None  # noqa: S101 - otp_not_sent is checked first
        typed = step.payload(ConfirmOtp).code
        services = step.services
        return any(
            _otp.code_matches(secret, step.snapshot.flow_id, typed, otp.code_hash)
            for secret in (services.otp_secret, *services.previous_otp_secrets)
        )

    def _guesses_used_up(self, step: Step) -> bool:
        """Whether the citizen's wrong codes across flows are used up.

        A wrong code is counted here, at once (a right one only peeks), so flows racing for
        the citizen cannot pass the limit together; a decoy counts against nobody.
        """
        if step.context.decoy:
            return False
        limits = step.services.policy.rate_limits.otp_failures_per_citizen
        wrong = not self.code_matches(step)
        return step.over_limit("otp_failure", self._holder(step), limits, count=wrong)

    def _otp_correct(self, step: Step) -> bool:
        """The code is right, and the citizen may still have codes judged (asked first, so
        every judged code is counted)."""
        used_up = self.guesses_used_up(step)
        return self.code_matches(step) and not used_up

    # --- rules ------------------------------------------------------------------------------

    def _timing_rules(self) -> tuple[Rule, Rule]:
        @rule(
            "otp.not_sent",
            vi="Chưa có mã OTP hợp lệ nào được gửi (tin nhắn gửi lỗi).",
            en="No valid OTP has been sent (the text message failed).",
        )
        def otp_not_sent(step: Step) -> bool:
            return step.context.otp is None

        @rule(
            "otp.expired",
            vi="Mã OTP đã quá thời hạn hiệu lực (mặc định 5 phút).",
            en="The OTP is past its lifetime (5 minutes by default).",
            field="code",
        )
        def otp_expired(step: Step) -> bool:
            otp = step.context.otp
            return otp is not None and step.now >= otp.expires_at

        return otp_not_sent, otp_expired

    def _guess_rules(self) -> tuple[Rule, Rule, Rule]:
        @rule(
            "otp.guess_rate_limited",
            vi="Đã nhập sai OTP quá nhiều lần cho công dân này (mọi phiên).",
            en="Too many wrong OTPs were entered for this citizen, across flows.",
            report=reports_until("otp.guess_rate_limited", "otp_failure"),
        )
        def otp_guess_rate_limited(step: Step) -> bool:
            """No code is judged while the citizen's wrong codes are used up. A probed flow
            does not say so (a decoy never would): there every code is wrong."""
            return not step.context.probed and self.guesses_used_up(step)

        @rule(
            "otp.too_many_attempts",
            vi="Nhập sai OTP lần thứ N (mặc định 5): khóa phiên.",
            en="The Nth wrong OTP (5 by default) locks the flow.",
        )
        def too_many_attempts(step: Step) -> bool:
            limit = step.services.policy.otp_max_attempts
            return step.context.otp_failures + 1 >= limit and not self.otp_correct(step)

        @rule("otp.invalid", vi="Mã OTP không đúng.", en="The OTP is wrong.", field="code")
        def otp_wrong(step: Step) -> bool:
            return not self.otp_correct(step)

        return otp_guess_rate_limited, too_many_attempts, otp_wrong

    def _send_rules(self) -> tuple[Rule, Rule, Rule]:
        @rule(
            "otp.send_limit",
            vi="Đã gửi OTP đủ số lần cho phép trong một phiên (mặc định 5).",
            en="The OTP was sent the most times a flow allows (5 by default).",
        )
        def send_limit_reached(step: Step) -> bool:
            sends: int = step.context.otp_sends
            return sends >= step.services.policy.otp_max_sends

        def too_soon(step: Step) -> Sequence[FlowError]:
            available = resend_available_at(step.context, step.services.policy)
            return [step.error("otp.resend_too_soon", retry_at=available)]

        @rule(
            "otp.resend_too_soon",
            vi="Chưa hết thời gian chờ gửi lại OTP (mặc định 60 giây).",
            en="The wait before a resend (60 seconds by default) is not over.",
            report=too_soon,
        )
        def resend_too_soon(step: Step) -> bool:
            available = resend_available_at(step.context, step.services.policy)
            return available is not None and step.now < available

        @rule(
            "otp.send_rate_limited",
            vi="Số điện thoại này đã nhận quá nhiều OTP (mọi phiên): chống SMS pumping.",
            en="This phone number was sent too many OTPs, across flows: no SMS pumping.",
            report=reports_until("otp.send_rate_limited", "otp_send"),
        )
        def otp_send_rate_limited(step: Step) -> bool:
            """Only peeks: the engine counts a text once it is saved to go out, so a request
            that loses a race costs the phone nothing. A probed flow never says so: it sends
            a decoy instead (`send_otp`), as a flow that did not match would."""
            return not step.context.probed and self.phone_used_up(step, self.otp_phone(step))

        return send_limit_reached, resend_too_soon, otp_send_rate_limited

    # --- actions ----------------------------------------------------------------------------

    def send_otp(self, step: Step) -> None:
        """Issue a new code for the flow's phone; the previous code stops working.

        The text goes out only after this step is saved, so of two requests racing on one
        flow only the one that saved sends: the per-flow send cap and cooldown hold under
        concurrency. If the text then fails, `undo` leaves no valid code and no cooldown, so
        the citizen can resend at once (a probed flow keeps both: `OutgoingSms.quiet`). A
        decoy resends a decoy; so does a probed flow whose phone has no texts left, where a
        known citizen's flow must look like an unknown one's.
        """
        context: OtpContext = step.context
        if context.decoy or (context.probed and self.phone_used_up(step, self.otp_phone(step))):
            self.send_decoy(step, self.otp_phone(step))
            return
        phone = self._phone(step)
        assert phone is not None  # noqa: S101 - a flow sends a real code only to a known phone
        services, policy = step.services, step.services.policy
        code = _otp.new_code()
        step.outbox = OutgoingSms(
            phone=phone,
            message=policy.otp_message(code),
            undo={
                "otp": None,
                "otp_sends": context.otp_sends,
                "otp_last_sent_at": context.otp_last_sent_at,
            },
            counter="otp_send",
            limits=policy.rate_limits.otp_sends_per_phone,
            quiet=context.probed or step.changes.get("probed", False),
        )
        self._issue(step, _otp.code_hash(services.otp_secret, step.snapshot.flow_id, code))

    def send_decoy(self, step: Step, phone: str | None) -> None:
        """What a sent code changes, for a code nobody gets: the counters and the view are a
        real send's, the hash is random (no code matches it), and no text goes out."""
        step.changes.update(decoy=True, decoy_phone=phone)
        self._issue(step, _otp.unmatchable_hash())

    @staticmethod
    def _issue(step: Step, code_hash: str) -> None:
        challenge = OtpChallenge(
            code_hash=code_hash, expires_at=step.now + step.services.policy.otp_ttl
        )
        step.changes.update(
            otp=challenge,
            otp_sends=step.context.otp_sends + 1,
            otp_last_sent_at=step.now,
        )

    @staticmethod
    def count_wrong_otp(step: Step) -> None:
        step.changes["otp_failures"] = step.context.otp_failures + 1

    @staticmethod
    def spend_otp(step: Step) -> None:
        """A code works once: forget it when it is accepted or when the flow locks (and when
        it was sent, which only a waiting code's resend needs)."""
        step.changes.update(otp=None, otp_last_sent_at=None)

    # --- transitions ------------------------------------------------------------------------

    @staticmethod
    def _unless(left_out: bool, edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [] if left_out else edges

    def confirm(
        self,
        *,
        pending: enum.StrEnum,
        expired: enum.StrEnum,
        locked: enum.StrEnum,
        confirmed: Sequence[Mapping[str, Any]],
        always_probed: bool = False,
    ) -> list[dict[str, Any]]:
        """The "Xác nhận" edges: no code, an expired one, the cap across flows, the lock on
        the last wrong code, a wrong code; then `confirmed` (edges with a ``dest`` and
        maybe ``conditions``), each spending the code.

        A flow that is probed from its first step (`always_probed`) has neither "no code"
        (its failed texts are quiet: it keeps the code) nor the cap's refusal (it never
        says so): those edges could never fire, so they are not declared.
        """
        return [
            *self._unless(always_probed, [
                {"trigger": "confirm_otp", "source": pending, "dest": None,
                 "conditions": [self.not_sent]},
            ]),
            {"trigger": "confirm_otp", "source": pending, "dest": expired,
             "conditions": [self.expired]},
            # Wrong codes are capped per citizen too, across flows (a decoy counts against nobody).
            *self._unless(always_probed, [
                {"trigger": "confirm_otp", "source": pending, "dest": None,
                 "conditions": [self.guess_rate_limited]},
            ]),
            {"trigger": "confirm_otp", "source": pending, "dest": locked,
             "conditions": [self.too_many_attempts],
             "after": [self.count_wrong_otp, self.spend_otp]},
            {"trigger": "confirm_otp", "source": pending, "dest": None,
             "conditions": [self.wrong], "after": [self.count_wrong_otp]},
            *({"trigger": "confirm_otp", "source": pending, "after": [self.spend_otp], **edge}
              for edge in confirmed),
            {"trigger": "confirm_otp", "source": expired, "dest": None,
             "conditions": [self.expired]},
        ]  # fmt: skip

    def resend(
        self, *, pending: enum.StrEnum, expired: enum.StrEnum, always_probed: bool = False
    ) -> list[dict[str, Any]]:
        """The "Gửi lại OTP" edges: the flow's cap, the cooldown, the phone's cap (which a
        flow probed from its first step never tells: it sends a decoy), a send."""
        sources = [pending, expired]
        return [
            {"trigger": "resend_otp", "source": sources, "dest": None,
             "conditions": [self.send_limit_reached]},
            {"trigger": "resend_otp", "source": sources, "dest": None,
             "conditions": [self.resend_too_soon]},
            *self._unless(always_probed, [
                {"trigger": "resend_otp", "source": sources, "dest": None,
                 "conditions": [self.send_rate_limited]},
            ]),
            {"trigger": "resend_otp", "source": sources, "dest": pending,
             "after": [self.send_otp]},
        ]  # fmt: skip
