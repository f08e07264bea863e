"""The engine: load a flow, apply one event through the declared machine, save, report.

The engine compiles `regflow.machine.MACHINE` once into a dispatch table (state, trigger) →
ordered edges, and runs each request against it: one `transitions.Machine` per process,
none per flow, no model to attach and detach. Every citizen-facing call (`start`, `send`,
`view`) returns a `FlowView`; bad input, a finished flow and a failing port all come back as
errors in it, never as exceptions. (`purge_expired`, an operator's job, raises on a failing
store, so the scheduler that runs it sees the failure.)
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final

import attrs
import structlog

from regflow._declaration import UNNAMED, guard_name
from regflow._domain import REMEDIES, FlowSnapshot, State
from regflow._errors import (
    DuplicateAccountError,
    FlowError,
    StaleFlowError,
    flow_error,
)
from regflow._masking import mask_id, mask_phone
from regflow._methods import MethodRegistry
from regflow._policy import Policy
from regflow._rules import (
    OutgoingSms,
    PortFailureError,
    Rule,
    Services,
    Step,
    _call,
    count_send,
    keyed_digest,
    limit_key,
    resend_available_at,
)
from regflow._view import FlowView
from regflow.machine import EVENTS, EXPIRE, INITIAL, MACHINE, TERMINAL

if TYPE_CHECKING:
    from datetime import datetime

    from regflow._domain import Event
    from regflow.ports import (
        BhxhRegistry,
        Clock,
        FlowStore,
        PasswordHasher,
        RateLimiter,
        SmsGateway,
        UserStore,
    )

Action = Callable[[Step], None]
Predicate = Callable[[Step], bool]

_OTP_STATES: Final = frozenset({State.OTP_PENDING, State.OTP_EXPIRED})
_FORM_STATES: Final = frozenset({State.FILLING_FORM, State.DATA_MISMATCH})
#: The shape of the ids `Engine.start` gives (`secrets.token_urlsafe(16)`): anything else is
#: no flow of this engine, answered without asking the store and never logged.
_FLOW_ID: Final = re.compile(r"[A-Za-z0-9_-]{22}")
_MIN_SECRET_BYTES: Final = 32
#: How often one request re-reads its flow after losing a race (a stale save or a taken
#: account) before it reports `flow.conflict`.
MAX_ATTEMPTS: Final = 3

_log = structlog.get_logger("regflow")


def _predicate(guard: Predicate) -> Predicate:
    """A `Rule`'s own check, or a host's plain callable as it is."""
    return guard.check if isinstance(guard, Rule) else guard


@attrs.frozen
class Edge:
    """One compiled transition: taken when every guard passes and no `negated` one does."""

    trigger: str
    source: State
    dest: State | None
    guards: tuple[Rule, ...]
    before: tuple[Action, ...]
    after: tuple[Action, ...]
    #: The ``unless=`` guards of the declaration.
    negated: tuple[Rule, ...] = ()
    #: The guards' predicates, to call without `Rule.__call__` on every request.
    _checks: tuple[Predicate, ...] = attrs.field(init=False, repr=False, eq=False)
    _negated_checks: tuple[Predicate, ...] = attrs.field(init=False, repr=False, eq=False)

    @_checks.default
    def _guard_checks(self) -> tuple[Predicate, ...]:
        return tuple(_predicate(guard) for guard in self.guards)

    @_negated_checks.default
    def _negated_guard_checks(self) -> tuple[Predicate, ...]:
        return tuple(_predicate(guard) for guard in self.negated)

    def passes(self, step: Step) -> bool:
        # Plain loops: every request runs this, and the generator frames of
        # `all(…)`/`any(…)` cost more than most guards.
        for check in self._checks:
            if not check(step):
                return False
        for check in self._negated_checks:  # noqa: SIM110 - see above
            if check(step):
                return False
        return True

    @property
    def rule(self) -> str | None:
        """The name the log gives the edge, as `regflow.analysis` names it for coverage."""
        if not self.guards:
            return None
        return guard_name(self.guards[-1]) or UNNAMED


def compile_machine(
    machine: Any = MACHINE,  # noqa: ANN401 - transitions is untyped
) -> dict[tuple[State, str], tuple[Edge, ...]]:
    """Turn the `transitions` declaration into the engine's (state, trigger) → edges table."""
    table: dict[tuple[State, str], list[Edge]] = {}
    for trigger, event in machine.events.items():
        for source_name, transitions in event.transitions.items():
            source = State[source_name]
            for transition in transitions:
                edge = Edge(
                    trigger=trigger,
                    source=source,
                    dest=None if transition.dest is None else State[transition.dest],
                    # transitions marks an ``unless=`` condition with target False
                    guards=tuple(c.func for c in transition.conditions if c.target),
                    before=tuple(transition.before),
                    after=tuple(transition.after),
                    negated=tuple(c.func for c in transition.conditions if not c.target),
                )
                table.setdefault((source, trigger), []).append(edge)
    return {key: tuple(edges) for key, edges in table.items()}


Table = dict[tuple[State, str], tuple[Edge, ...]]


def _allowed(table: Table) -> dict[State, frozenset[str]]:
    return {
        state: frozenset(t for (s, t) in table if s == state and t != EXPIRE) for state in State
    }


_TABLE: Final = compile_machine()
_ALLOWED: Final = _allowed(_TABLE)
_TRIGGERS: Final = {event: trigger for trigger, event in EVENTS.items()}


class Engine:
    """Runs registration flows whose state lives in a `FlowStore`.

    Build it once per process (see `regflow.bootstrap` for the usual wiring) and share it:
    it keeps no per-flow state, so any app server can handle any request of any flow.
    """

    #: How often one request re-reads its flow after losing a race before `flow.conflict`.
    MAX_ATTEMPTS: Final = MAX_ATTEMPTS

    def __init__(  # noqa: PLR0913 - one argument per port, all keyword-only
        self,
        *,
        bhxh: BhxhRegistry,
        sms: SmsGateway,
        users: UserStore,
        flows: FlowStore,
        hasher: PasswordHasher,
        clock: Clock,
        otp_secret: bytes,
        policy: Policy | None = None,
        methods: MethodRegistry | None = None,
        limiter: RateLimiter | None = None,
        machine: Any = None,  # noqa: ANN401 - transitions is untyped
    ) -> None:
        if len(otp_secret) < _MIN_SECRET_BYTES:
            raise ValueError(f"otp_secret needs at least {_MIN_SECRET_BYTES} random bytes")
        self._flows = flows
        self._clock = clock
        # A host app's extension of `regflow.machine.MACHINE` (same states, more rules).
        self._table = _TABLE if machine is None else compile_machine(machine)
        self._allowed = _ALLOWED if machine is None else _allowed(self._table)
        self._services = Services(
            bhxh=bhxh,
            sms=sms,
            users=users,
            hasher=hasher,
            clock=clock,
            policy=policy or Policy(),
            otp_secret=otp_secret,
            methods=methods or MethodRegistry(),
            limiter=limiter,
        )

    @property
    def policy(self) -> Policy:
        return self._services.policy

    def start(self, *, client: str | None = None) -> FlowView:
        """Begin a registration: the citizen pressed "Đăng ký" on the home screen.

        `client` is the host's key for who asks, as for `send`: the flows one client may
        begin are limited (`RateLimits.starts_per_client`), so nobody can fill the flow store.
        """
        refused = self._start_refused(client)
        if refused is not None:
            return refused
        now = self._now()
        snapshot = FlowSnapshot(
            flow_id=secrets.token_urlsafe(16),
            version=1,
            state=INITIAL,
            created_at=now,
            expires_at=now + self._services.policy.flow_ttl,
            updated_at=now,
        )
        try:
            self._flows.save(snapshot)
        except Exception as exc:  # noqa: BLE001 - any store failure is reported, not raised
            return self._failed(snapshot.flow_id, "start", PortFailureError("storage"), exc)
        _emit("info", "flow.started", flow_id=snapshot.flow_id, state=snapshot.state.value)
        return self._view(snapshot, ())

    def _start_refused(self, client: str | None) -> FlowView | None:
        """The answer to a start the client's limit refuses (or the limiter fails on), else
        None. Refused starts are not counted; the log names the client by its digest."""
        services = self._services
        limits = services.policy.rate_limits.starts_per_client
        if services.limiter is None or client is None or not limits:
            return None
        key = limit_key(services.otp_secret, "start", client)
        try:
            retry_at = _call("storage", services.limiter.hit, key, limits)
        except PortFailureError as failure:
            return self._failed("", "start", failure, failure.__cause__)
        if retry_at is None:
            return None
        error = flow_error("client.start_rate_limited", retry_at=retry_at)
        _emit(
            "info",
            "flow.start_refused",
            errors=[error.code],
            client=keyed_digest(services.otp_secret, "client", client),
        )
        return FlowView(flow_id="", state=None, errors=(error,))

    def _now(self) -> datetime:
        """The clock to the whole second: no rule of the flow needs a finer time, and whole
        seconds keep a stored snapshot short (`regflow.adapters.json_codec`)."""
        now = self._clock.now()
        return now.replace(microsecond=0) if now.microsecond else now

    def view(self, flow_id: str) -> FlowView:
        """The flow as it stands, e.g. to render the page after a refresh."""
        loaded = self._load(flow_id, "view")
        if isinstance(loaded, FlowView):
            return loaded
        return self._view(loaded, ())

    def purge_expired(self) -> int:
        """Delete the flows past their lifetime, so the store never grows without bound.

        Run it from a scheduler (or `regflow db purge-expired`); returns how many went.
        """
        purged = self._flows.purge_expired(self._now())
        _emit("info", "flows.purged", count=purged)
        return purged

    def send(self, flow_id: str, event: Event, *, client: str | None = None) -> FlowView:
        """Apply the citizen's `event` to the flow and return the flow as it now is.

        `client` is the host's key for who sends it (IP address, device id): the limits
        across flows count forms per client when one is given.
        """
        trigger = _TRIGGERS.get(type(event))
        limits_seen: dict[str, datetime | None] = {}
        for _ in range(MAX_ATTEMPTS):
            loaded = self._load(flow_id, trigger or "invalid")
            if isinstance(loaded, FlowView):
                return loaded
            if trigger is None:
                return self._view(loaded, (flow_error("event.invalid"),))
            try:
                return self._apply(loaded, trigger, event, client, limits_seen)
            except (StaleFlowError, DuplicateAccountError):
                _emit("info", "flow.conflict", flow_id=loaded.flow_id, trigger=trigger)
            except PortFailureError as failure:
                return self._failed(flow_id, trigger, failure, failure.__cause__, loaded)
        view = self.view(flow_id)
        return attrs.evolve(view, errors=(flow_error("flow.conflict"),)) if view.ok else view

    def _load(self, flow_id: object, trigger: str) -> FlowSnapshot | FlowView:
        """The flow, or the view that says why there is none.

        An id the engine cannot have given (not text, or not of `start`'s shape) is no
        flow: the store, which may choke on it, is not asked, so it can neither pass for an
        outage nor reach a log line. Its view carries an empty `flow_id`.
        """
        if not (isinstance(flow_id, str) and _FLOW_ID.fullmatch(flow_id)):
            return FlowView(flow_id="", state=None, errors=(flow_error("flow.not_found"),))
        try:
            snapshot = self._flows.load(flow_id)
        except Exception as exc:  # noqa: BLE001 - any store failure is reported, not raised
            return self._failed(flow_id, trigger, PortFailureError("storage"), exc)
        if snapshot is None:
            return FlowView(flow_id=flow_id, state=None, errors=(flow_error("flow.not_found"),))
        return snapshot

    def _apply(
        self,
        snapshot: FlowSnapshot,
        trigger: str,
        event: Event,
        client: str | None,
        limits_seen: dict[str, datetime | None],
    ) -> FlowView:
        if snapshot.state in TERMINAL:
            return self._view(snapshot, (flow_error(TERMINAL[snapshot.state]),))
        step = Step(
            self._services, snapshot, event, self._now(), client=client, retry_at=limits_seen
        )
        expired = _choose(step, self._table.get((snapshot.state, EXPIRE), ()))
        if expired is not None:
            return self._take(step, expired)
        edges = self._table.get((snapshot.state, trigger))
        if edges is None:
            return self._view(snapshot, (flow_error("event.not_allowed"),))
        edge = _choose(step, edges)
        if edge is None:  # a declaration without an "otherwise" edge: nothing happens
            return self._view(snapshot, (flow_error("event.no_effect"),))
        return self._take(step, edge)

    def _take(self, step: Step, edge: Edge) -> FlowView:
        """Run the edge's actions, save the new snapshot, log the transition."""
        for action in edge.before:
            action(step)
        if edge.dest is not None:
            step.changes["state"] = edge.dest
        if edge.dest is not None and edge.dest is not edge.source:
            step.changes["path"] = (*step.snapshot.path, edge.dest)
        for action in edge.after:
            action(step)
        errors = [error for guard in edge.guards for error in _reported(guard, step)]
        errors.extend(step.errors)
        snapshot = step.snapshot
        if step.changes:
            snapshot = self._save(step, snapshot, step.changes)
        if step.outbox is not None:
            snapshot = self._send_sms(step, edge.trigger, snapshot, errors)
        _log_transition(step, edge, snapshot, errors)
        return self._view(snapshot, errors)

    def _save(self, step: Step, snapshot: FlowSnapshot, changes: dict[str, Any]) -> FlowSnapshot:
        """Save the next version; a stale version is for `send` to retry, the rest an outage.

        A save whose answer was lost may still have happened: reading it back tells, so the
        step goes on (and its text goes out) exactly when the flow did move on.
        """
        following = attrs.evolve(
            snapshot, version=snapshot.version + 1, updated_at=step.now, **changes
        )
        try:
            self._flows.save(following)
        except StaleFlowError:
            raise
        except Exception as exc:
            if not self._holds(following):
                raise PortFailureError("storage") from exc
        return following

    def _holds(self, snapshot: FlowSnapshot) -> bool:
        try:
            return self._flows.load(snapshot.flow_id) == snapshot
        except Exception:  # noqa: BLE001 - the store is down: the save is not known to be done
            return False

    def _send_sms(
        self, step: Step, trigger: str, saved: FlowSnapshot, errors: list[FlowError]
    ) -> FlowSnapshot:
        """Count the saved step's text against its phone, then send it; if the phone has no
        room (another flow sent to it meanwhile) or a port fails, report it and undo the
        send in the flow. A probed flow does neither (`OutgoingSms.quiet`): it keeps its
        code and cooldown, with no error, as the decoy it must look like would.

        Counting only now, after the save that serialises one flow's requests, is what keeps
        the requests that lose a race on the flow from costing the phone anything.
        """
        sms = step.outbox
        assert sms is not None  # noqa: S101 - `_take` sends only a step that has a text
        refused = self._deliver(step, trigger, sms)
        if refused is None or sms.quiet:
            return saved
        errors.append(refused)
        try:
            return self._save(step, saved, sms.undo)
        except (StaleFlowError, PortFailureError):
            # Another request moved the flow on, or storage is down: the flow keeps a code
            # nobody received, and "Gửi lại OTP" works once its cooldown is over.
            _emit("warning", "flow.sms_undo_failed", flow_id=saved.flow_id)
        return saved

    def _deliver(self, step: Step, trigger: str, sms: OutgoingSms) -> FlowError | None:
        """Count and send one text; the error that stopped it, or None once it went out."""
        try:
            retry_at = count_send(step, sms)
            if retry_at is not None:
                return flow_error("otp.send_rate_limited", retry_at=retry_at)
            _call("sms", self._services.sms.send, sms.phone, sms.message)
        except PortFailureError as failure:
            _log_port_failure(step.snapshot.flow_id, trigger, failure, failure.__cause__)
            return flow_error(failure.code)
        return None

    def _failed(
        self,
        flow_id: str,
        trigger: str,
        failure: PortFailureError,
        cause: BaseException | None,
        snapshot: FlowSnapshot | None = None,
    ) -> FlowView:
        _log_port_failure(flow_id, trigger, failure, cause)
        errors = (flow_error(failure.code),)
        if snapshot is None:
            return FlowView(flow_id=flow_id, state=None, errors=errors)
        return self._view(snapshot, errors)

    def _view(
        self, snapshot: FlowSnapshot, errors: tuple[FlowError, ...] | list[FlowError]
    ) -> FlowView:
        state = snapshot.state
        policy = self._services.policy
        at_otp = state in _OTP_STATES
        otp = snapshot.otp if at_otp else None
        return FlowView(
            flow_id=snapshot.flow_id,
            state=state,
            version=snapshot.version,
            errors=tuple(errors),
            allowed_events=self._allowed[state],
            expires_at=snapshot.expires_at,
            methods=self._services.methods.methods if state is INITIAL else (),
            phone_hint=_phone_hint(snapshot) if at_otp else None,
            otp_expires_at=otp.expires_at if otp else None,
            resend_available_at=resend_available_at(snapshot, policy) if otp else None,
            otp_sends_left=policy.otp_max_sends - snapshot.otp_sends if at_otp else None,
            otp_attempts_left=policy.otp_max_attempts - snapshot.otp_failures if at_otp else None,
            mismatches_left=policy.max_mismatches - snapshot.mismatches
            if state in _FORM_STATES
            else None,
            remedies=REMEDIES if state is State.ACCOUNT_EXISTS else (),
            account=snapshot.account if state is State.COMPLETED else None,
        )


#: structlog's own level-filtering loggers (`make_filtering_bound_logger`): they drop an event
#: below their level before any processor sees it, so not building it changes nothing.
_FILTERING_LOGGERS: Final = frozenset(
    structlog.make_filtering_bound_logger(level)
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
)


def _emit(level: str, event: str, **fields: object) -> None:
    """Log one event. Its fields are the engine's own (ids of its shape, codes, masked
    numbers, keyed digests), so rendering them cannot fail on anything a citizen typed; a
    host's logging that fails all the same loses the line, never the step it reports."""
    with suppress(Exception):  # the step is done: a log line cannot undo it
        getattr(_log, level)(event, **fields)


def _log_port_failure(
    flow_id: str, trigger: str, failure: PortFailureError, cause: BaseException | None
) -> None:
    """The line operators alert on: which port failed (or which record field BHXH holds
    wrongly), and the exception's type only (its message could carry a number)."""
    fields: dict[str, object] = dict(failure.log_fields())
    if cause is not None:
        fields["error_type"] = type(cause).__name__
    _emit("warning", failure.event, flow_id=flow_id, trigger=trigger, **fields)


def _keeps(level: int) -> bool:
    """Whether the host's logging keeps events of `level`, so that a dropped one costs no
    arguments. Only structlog's filtering loggers are asked: any other logger (a stdlib one,
    whose processors may still want the event, or a wrapper that proxies every name) is
    given every event, as `_log.info` always did."""
    is_enabled_for = getattr(_log, "is_enabled_for", None)
    if type(getattr(is_enabled_for, "__self__", None)) not in _FILTERING_LOGGERS:
        return True
    return bool(is_enabled_for(level))  # type: ignore[misc]  # a filtering logger's method


def _phone_hint(snapshot: FlowSnapshot) -> str | None:
    """The masked phone the codes go to: the record's, or the one a decoy's form typed
    (which equals the record's whenever the form matched)."""
    phone = snapshot.citizen.phone if snapshot.citizen else snapshot.decoy_phone
    return mask_phone(phone) if phone else None


def _choose(step: Step, edges: tuple[Edge, ...]) -> Edge | None:
    for edge in edges:  # a loop, not next(generator): see `Edge.passes`
        if edge.passes(step):
            return edge
    return None


def _reported(guard: Rule, step: Step) -> Sequence[FlowError]:
    """What a guard tells the citizen: a `Rule` its codes, a plain callable of a host's
    declaration nothing (the static check asks for a rule)."""
    report = getattr(guard, "report", None)
    return () if report is None else report(step)


def _log_transition(
    step: Step, edge: Edge, snapshot: FlowSnapshot, errors: list[FlowError]
) -> None:
    if not _keeps(logging.INFO):
        return
    citizen = snapshot.citizen
    _emit(
        "info",
        "flow.transition",
        flow_id=snapshot.flow_id,
        trigger=edge.trigger,
        source=edge.source.value,
        dest=snapshot.state.value,
        rule=edge.rule,
        errors=[error.code for error in errors],
        version=snapshot.version,
        citizen=mask_id(citizen.id_number) if citizen else None,
        client=step.client_digest,
        at=step.now.isoformat(),
    )
