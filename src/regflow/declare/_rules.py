"""Business rules: the named guards of a declaration, and what each reports when it decides."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from regflow._errors import FlowError, Message
from regflow.declare._step import Step, call_port
from regflow.ports.veto import VetoRequest

if TYPE_CHECKING:
    from regflow._limits import RateLimit, RateLimits

#: The name shown for a guard without a rule name (the static check reports it).
UNNAMED = "<unnamed>"


def guard_name(guard: object) -> str | None:
    """The rule name a guard shows on the diagram and in the log, or None when it has none."""
    if isinstance(guard, str):
        return guard
    name = getattr(guard, "name", None)
    return name if isinstance(name, str) and name and name != "<lambda>" else None


@attrs.frozen(repr=False)
class Rule:
    """A named business rule: the guard on a transition and what it reports when it decides."""

    name: str
    check: Callable[[Step], bool]
    codes: tuple[str, ...]
    description: Message
    report: Callable[[Step], Sequence[FlowError]]

    def __repr__(self) -> str:
        return f"<rule {self.name}>"

    @property
    def __name__(self) -> str:  # transitions and the diagrams label conditions by it
        return self.name

    def __call__(self, step: Step) -> bool:
        return self.check(step)


def rule(
    *codes: str,
    vi: str,
    en: str,
    field: str | None = None,
    report: Callable[[Step], Sequence[FlowError]] | None = None,
) -> Callable[[Callable[[Step], bool]], Rule]:
    """Declare a function as a business rule that reports `codes` when it decides a step.

    `vi`/`en` say what the rule is, for the analysts who read the diagrams and docs; the
    codes' own messages (`ERRORS`, or the flow's `FlowSpec.errors`) are what citizens read.
    """

    def default_report(step: Step) -> Sequence[FlowError]:
        return [step.error(code, field=field) for code in codes]

    def declare(check: Callable[[Step], bool]) -> Rule:
        return Rule(check.__name__, check, codes, Message(vi, en), report or default_report)

    return declare


@attrs.frozen(repr=False)
class HostHook(Rule):
    """A rule whose decision is a host's veto (`host_veto`): the diagrams mark it and
    ``regflow check`` lists it, as a point where a host's code can change the path."""

    def __repr__(self) -> str:
        return f"<host hook {self.name}>"


def _no_subject(_: Step) -> str | None:
    return None


def host_veto(  # noqa: PLR0913 - the hook's name, code, texts and what it shows
    name: str,
    code: str,
    *,
    vi: str,
    en: str,
    field: str | None = None,
    subject: Callable[[Step], str | None] = _no_subject,
) -> HostHook:
    """A host hook that may veto: a guard that refuses the step with `code` when the veto
    the host gave the engine under `name` (``Engine(vetoes={name: …})``) says so, and never
    when it gave none. `subject` reads what the veto decides on (`VetoRequest.subject`).

    The veto is called like a port (`call_port`, port ``hook``): one that raises fails
    the step with the retryable ``hook.unavailable``.
    """

    def check(step: Step) -> bool:
        veto = step.services.vetoes.get(name)
        if veto is None:
            return False
        snapshot = step.snapshot
        request = VetoRequest(
            flow=snapshot.flow,
            flow_version=snapshot.flow_version,
            flow_id=snapshot.flow_id,
            hook=name,
            state=str(snapshot.state),
            subject=subject(step),
            at=step.now,
        )
        return bool(call_port("hook", veto, request))

    def report(step: Step) -> Sequence[FlowError]:
        return [step.error(code, field=field)]

    return HostHook(name, check, (code,), Message(vi, en), report)


def reports_until(code: str, counter: str) -> Callable[[Step], Sequence[FlowError]]:
    """A rate-limit rule's report: its code, with when the `counter` has room again."""

    def report(step: Step) -> Sequence[FlowError]:
        return [step.error(code, retry_at=step.retry_time(counter))]

    return report


def client_limit(  # noqa: PLR0913 - the rule's name, code, counter, limits and texts
    name: str,
    code: str,
    counter: str,
    limits: Callable[[RateLimits], Sequence[RateLimit]],
    *,
    vi: str,
    en: str,
    count: bool = True,
) -> Rule:
    """A rule that the host's client key (IP, device) used up one of its limits across
    flows (`limits` picks it from `Policy.rate_limits`): it reports `code` with when the
    `counter` has room again. It counts this request unless `count` is False (a peek, for
    a counter another action counts)."""

    def check(step: Step) -> bool:
        chosen = limits(step.services.policy.rate_limits)
        return step.over_limit(counter, step.client, chosen, count=count)

    check.__name__ = name
    return rule(code, vi=vi, en=en, report=reports_until(code, counter))(check)


#: Fired by the engine before every event: a flow past its lifetime ends where the
#: declaration's edge for it leads (`flow_expired`).
EXPIRE = "expire"


@rule(
    "flow.expired",
    vi="Cả phiên đã quá thời hạn (mặc định 30 phút với đăng ký).",
    en="The whole flow is past its lifetime (30 minutes by default for a registration).",
)
def flow_expired(step: Step) -> bool:
    return step.now >= step.snapshot.expires_at
