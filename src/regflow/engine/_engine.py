"""The engine: load a flow, apply one event through its declaration, save, report.

The engine compiles each `FlowSpec` it is given once into a dispatch table (state, trigger)
→ ordered edges, and runs each request against the table of the flow's own declaration,
found by the name and version its snapshot carries (`regflow.engine._versions`, which also
moves a flow onto a newer version that declares a migration from its own): one table per
flow kind, version and process, none per flow, no model to attach and detach. Every
citizen-facing call (`start`, `send`, `view`) returns a `FlowView`; bad input, a finished
flow and a failing port all come back as errors in it, never as exceptions.
(`purge_expired`, an operator's job, raises on a failing store, so the scheduler that runs
it sees the failure.)
"""

from __future__ import annotations

import inspect
import logging
import re
import secrets
from typing import TYPE_CHECKING, Any, Final, ParamSpec

import attrs
import structlog

from regflow._bridge import settle
from regflow._errors import DuplicateAccountError, FlowError, StaleFlowError, flow_error
from regflow._masking import mask_id
from regflow._methods import MethodRegistry
from regflow._outbox import SMS, durable_kinds, event_effects, keyed, sms_payload
from regflow._policy import Policy
from regflow._view import FlowView
from regflow.declare._rules import EXPIRE
from regflow.declare._snapshot import FlowSnapshot
from regflow.declare._step import (
    MissingPortError,
    OutgoingSms,
    PortFailureError,
    Services,
    Step,
    call_port,
    keyed_digest,
    limit_key,
    observing,
    port_scope,
)
from regflow.engine._compile import CompiledFlow, Edge, catalogue, choose
from regflow.engine._hooks import Hooks, step_events
from regflow.engine._versions import FLOW_UNKNOWN, Continues, Stuck, Versions
from regflow.ports.instrumentation import Transition

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence
    from datetime import datetime

    from regflow.declare._spec import FlowSpec
    from regflow.ports import (
        AsyncFlowStore,
        AsyncSmsGateway,
        BhxhRegistry,
        Clock,
        FlowEvent,
        FlowListener,
        FlowStore,
        Instrumentation,
        PasswordHasher,
        RateLimiter,
        SmsGateway,
        UserStore,
        Veto,
    )
    from regflow.ports.instrumentation import Operation
    from regflow.ports.outbox import AsyncOutboxStore, OutboxStore

#: The shape of the ids `Engine.start` gives (`secrets.token_urlsafe(16)`): anything else is
#: no flow of this engine, answered without asking the store and never logged.
_FLOW_ID: Final = re.compile(r"[A-Za-z0-9_-]{22}")
_MIN_SECRET_BYTES: Final = 32
#: How often one request re-reads its flow after losing a race (a stale save or a taken
#: account) before it reports `flow.conflict`.
MAX_ATTEMPTS: Final = 3

P = ParamSpec("P")
_log = structlog.get_logger("regflow")
#: The engine's own logger, as imported: its wrapper class is the configuration's.
_CONFIGURED_LOG: Final = _log


class Engine:
    """Runs the flows it is given, whose state lives in a `FlowStore`.

    Build it once per process (see `regflow.bootstrap` for the usual wiring) and share it:
    it keeps no per-flow state, so any app server can handle any request of any flow.
    ``Engine(BHXH_REGISTRATION, PASSWORD_RECOVERY, flows=…, …)``: the declarations first,
    then the ports (each flow says which it `requires`) and settings. Several versions of
    one flow may be given: a flow begins on the newest and continues on the one it began
    on, unless a newer one migrates it (docs/versioning.md).
    """

    #: How often one request re-reads its flow after losing a race before `flow.conflict`.
    MAX_ATTEMPTS: Final = MAX_ATTEMPTS
    #: Whether a port may answer with awaitables: only under `AsyncEngine`'s driver.
    _ACCEPTS_ASYNC_PORTS = False

    def __init__(  # noqa: PLR0913 - one argument per port, all keyword-only
        self,
        *specs: FlowSpec,
        flows: FlowStore,
        clock: Clock,
        otp_secret: bytes,
        bhxh: BhxhRegistry | None = None,
        sms: SmsGateway | None = None,
        users: UserStore | None = None,
        hasher: PasswordHasher | None = None,
        policy: Policy | None = None,
        methods: MethodRegistry | None = None,
        limiter: RateLimiter | None = None,
        ports: Mapping[str, object] | None = None,
        previous_otp_secrets: Sequence[bytes] = (),
        instrumentation: Instrumentation | None = None,
        outbox: OutboxStore | None = None,
        listeners: Sequence[FlowListener] = (),
        vetoes: Mapping[str, Veto] | None = None,
        durable_events: Collection[type[FlowEvent]] = (),
    ) -> None:
        """`previous_otp_secrets`: keys codes sent before a rotation of `otp_secret` were
        hashed with, which they still match (new codes use `otp_secret` alone).

        `outbox` (the same database as `flows`: `regflow.adapters.sqlite.SqliteOutbox`, …)
        makes a step's text part of the step's save, sent later by `regflow.deliver_outbox`;
        without one, texts go out inline, right after the save (docs/outbox.md).
        `listeners` hear every step once it is saved; `vetoes` decide the host hooks the
        flows declare, by name (docs/hooks.md). `durable_events` (``AccountCreated``, …)
        are also recorded in the `outbox` with the step that causes them, for the worker's
        handlers: an engine without an outbox refuses them (docs/outbox.md)."""
        for secret in (otp_secret, *previous_otp_secrets):
            if len(secret) < _MIN_SECRET_BYTES:
                raise ValueError(f"otp_secret needs at least {_MIN_SECRET_BYTES} random bytes")
        if not specs:
            raise ValueError("an Engine runs at least one flow: Engine(BHXH_REGISTRATION, …)")
        #: Under `AsyncEngine` an `AsyncFlowStore`: every call goes through `settle`.
        self._flows: FlowStore | AsyncFlowStore = flows
        self._outbox: OutboxStore | AsyncOutboxStore | None = outbox
        self._clock = clock
        #: Metrics and traces (`regflow.adapters.otel`); None calls nothing at all.
        self._instrumentation = instrumentation
        #: None without listeners: a transition then costs one `if` for them.
        self._hooks = Hooks(listeners) if listeners else None
        #: The outbox kind of each event type the host has the outbox deliver.
        self._durable = durable_kinds(durable_events, outbox=outbox)
        self._services = Services(
            bhxh=bhxh,
            sms=sms,
            users=users,
            hasher=hasher,
            clock=clock,
            policy=policy or Policy(),
            otp_secret=otp_secret,
            previous_otp_secrets=tuple(previous_otp_secrets),
            methods=methods or MethodRegistry(),
            limiter=limiter,
            ports=dict(ports or {}),
            vetoes=dict(vetoes or {}),
        )
        if not self._ACCEPTS_ASYNC_PORTS:
            _refuse_async_ports(flows, self._services, outbox, listeners)
        self._versions = Versions(self._compile(spec) for spec in specs)
        self._catalogue = catalogue(specs)
        #: Every trigger by its payload type, to name a request in the logs before its
        #: flow is read.
        self._trigger_names = {
            payload: trigger
            for compiled in self._versions.compiled
            for payload, trigger in compiled.triggers.items()
        }

    def _compile(self, spec: FlowSpec) -> CompiledFlow:
        missing = sorted(name for name in spec.requires if not self._has(name))
        if missing:
            raise ValueError(f"the flow {spec.name!r} needs the port(s) {', '.join(missing)}")
        return CompiledFlow.of(spec)

    def _has(self, port: str) -> bool:
        """Whether the engine has `port`: an outbox stands for the SMS gateway, which only
        its worker calls."""
        return self._services.has(port) or (port == "sms" and self._outbox is not None)

    @property
    def policy(self) -> Policy:
        return self._services.policy

    @property
    def flows(self) -> tuple[FlowSpec, ...]:
        """The declarations this engine runs (every version), in the order it was given them."""
        return tuple(compiled.spec for compiled in self._versions.compiled)

    def start(self, flow: str, *, client: str | None = None) -> FlowView:
        """Begin a flow of the declaration named `flow`: the citizen pressed "Đăng ký" (or
        "Quên mật khẩu") on the home screen.

        `client` is the host's key for who asks, as for `send`: the flows one client may
        begin are limited (`RateLimits.starts_per_client`), so nobody can fill the flow store.
        """
        if self._instrumentation is None:
            return self._start(flow, client)
        return self._observed("start", "start", self._start, flow, client)

    def _observed(
        self,
        operation: Operation,
        trigger: str,
        run: Callable[P, FlowView],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> FlowView:
        """`run` as one request the instrumentation sees, its port calls within it."""
        observer = self._instrumentation
        assert observer is not None  # noqa: S101 - only called with one
        with observer.request(operation, trigger), observing(observer):
            view = run(*args, **kwargs)
            observer.answered(tuple(error.code for error in view.errors))
        return view

    def _start(self, flow: str, client: str | None) -> FlowView:
        compiled = self._versions.latest(flow)
        if compiled is None:
            return FlowView(flow_id="", state=None, errors=(flow_error("flow.unknown"),))
        refused = self._start_refused(client)
        if refused is not None:
            return refused
        spec, now = compiled.spec, self._now()
        snapshot = FlowSnapshot(
            flow_id=secrets.token_urlsafe(16),
            flow=spec.name,
            flow_version=spec.version,
            version=1,
            state=spec.initial,
            created_at=now,
            expires_at=now + spec.lifetime_under(self._services.policy),
            updated_at=now,
            context=spec.context(),
        )
        try:
            with port_scope("storage", "save"):
                settle(self._flows.save(snapshot))
        except Exception as exc:  # noqa: BLE001 - any store failure is reported, not raised
            return self._failed(snapshot.flow_id, "start", PortFailureError("storage"), exc)
        _emit(
            "info",
            "flow.started",
            flow_id=snapshot.flow_id,
            flow=spec.name,
            flow_version=spec.version,
            state=str(snapshot.state),
            at=now.isoformat(),
        )
        if self._instrumentation is not None:
            self._instrumentation.started(spec.name, spec.version)
        return self._view(compiled, snapshot, ())

    def _start_refused(self, client: str | None) -> FlowView | None:
        """The answer to a start the client's limit refuses (or the limiter fails on), else
        None. Refused starts are not counted; the log names the client by its digest."""
        services = self._services
        limits = services.policy.rate_limits.starts_per_client
        if services.limiter is None or client is None or not limits:
            return None
        key = limit_key(services.otp_secret, "start", client)
        try:
            retry_at = call_port("storage", services.limiter.hit, key, limits)
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
        """The clock to the whole second: no rule of a flow needs a finer time, and whole
        seconds keep a stored snapshot short (`regflow.engine.codec`)."""
        now = self._clock.now()
        return now.replace(microsecond=0) if now.microsecond else now

    def view(self, flow_id: str) -> FlowView:
        """The flow as it stands, e.g. to render the page after a refresh."""
        if self._instrumentation is None:
            return self._look(flow_id)
        return self._observed("view", "view", self._look, flow_id)

    def _look(self, flow_id: str) -> FlowView:
        loaded = self._load(flow_id, "view")
        if isinstance(loaded, FlowView):
            return loaded
        compiled, snapshot = loaded
        return self._view(compiled, snapshot, ())

    def purge_expired(self) -> int:
        """Delete the flows past their lifetime, so the store never grows without bound.

        Run it from a scheduler (or `regflow db purge-expired`); returns how many went.
        """
        purged = settle(self._flows.purge_expired(self._now()))
        _emit("info", "flows.purged", count=purged)
        return purged

    def send(self, flow_id: str, event: object, *, client: str | None = None) -> FlowView:
        """Apply the citizen's `event` to the flow and return the flow as it now is.

        `client` is the host's key for who sends it (IP address, device id): the limits
        across flows count forms per client when one is given.
        """
        name = self._trigger_names.get(type(event), "invalid")
        if self._instrumentation is None:
            return self._send(flow_id, event, name, client)
        return self._observed("send", name, self._send, flow_id, event, name, client)

    def _send(self, flow_id: str, event: object, name: str, client: str | None) -> FlowView:
        limits_seen: dict[str, datetime | None] = {}
        for _ in range(MAX_ATTEMPTS):
            loaded = self._load(flow_id, name)
            if isinstance(loaded, FlowView):
                return loaded
            compiled, snapshot = loaded
            trigger = compiled.triggers.get(type(event))
            if trigger is None:
                return self._view(compiled, snapshot, (flow_error("event.invalid"),))
            try:
                return self._apply(
                    compiled, snapshot, trigger, event, client=client, limits_seen=limits_seen
                )
            except (StaleFlowError, DuplicateAccountError):
                _emit("info", "flow.conflict", flow_id=snapshot.flow_id, trigger=trigger)
            except PortFailureError as failure:
                return self._failed(flow_id, trigger, failure, failure.__cause__, loaded)
        view = self._look(flow_id)
        return attrs.evolve(view, errors=(flow_error("flow.conflict"),)) if view.ok else view

    def _load(self, flow_id: object, trigger: str) -> tuple[CompiledFlow, FlowSnapshot] | FlowView:
        """The flow and its declaration, or the view that says why there is none.

        An id the engine cannot have given (not text, or not of `start`'s shape) is no
        flow: the store, which may choke on it, is not asked, so it can neither pass for an
        outage nor reach a log line. Its view carries an empty `flow_id`. A stored flow of a
        declaration this engine does not run is not found either (and logged); one of a
        version it does not run (a newer server's, in a rolling deploy) gets the retryable
        `flow.version_unknown`, and nothing is written. A flow that a newer version
        migrates is moved, and the move saved, before anything else happens to it.
        """
        if not (isinstance(flow_id, str) and _FLOW_ID.fullmatch(flow_id)):
            return FlowView(flow_id="", state=None, errors=(flow_error("flow.not_found"),))
        for _ in range(MAX_ATTEMPTS):
            loaded = self._read(flow_id, trigger)
            if loaded is not None:
                return loaded
        return FlowView(flow_id=flow_id, state=None, errors=(flow_error("flow.conflict"),))

    def _read(
        self, flow_id: str, trigger: str
    ) -> tuple[CompiledFlow, FlowSnapshot] | FlowView | None:
        """One read of `_load`; None when the move a migration made lost a race (another
        server moved the flow first, or an old one advanced it): read it again."""
        try:
            with port_scope("storage", "load"):
                snapshot = settle(self._flows.load(flow_id))
        except Exception as exc:  # noqa: BLE001 - any store failure is reported, not raised
            return self._failed(flow_id, trigger, PortFailureError("storage"), exc)
        resolved = None if snapshot is None else self._versions.resolve(snapshot)
        if not isinstance(resolved, Continues):
            return _stuck(flow_id, trigger, snapshot, resolved)
        if resolved.moved_from is None:
            return resolved.compiled, resolved.snapshot
        try:
            return resolved.compiled, self._save_move(resolved)
        except StaleFlowError:
            return None
        except PortFailureError as failure:
            return self._failed(flow_id, trigger, failure, failure.__cause__)

    def _save_move(self, resolved: Continues) -> FlowSnapshot:
        """Save a flow a migration moved, and log the move."""
        saved = self._save(self._now(), resolved.snapshot, {})
        _emit(
            "info",
            "flow.migrated",
            flow_id=saved.flow_id,
            flow=saved.flow,
            from_version=resolved.moved_from,
            to_version=saved.flow_version,
            state=str(saved.state),
        )
        return saved

    def _apply(  # noqa: PLR0913 - one request's parts
        self,
        compiled: CompiledFlow,
        snapshot: FlowSnapshot,
        trigger: str,
        event: object,
        *,
        client: str | None,
        limits_seen: dict[str, datetime | None],
    ) -> FlowView:
        state = snapshot.state
        finished = compiled.terminal.get(state)  # type: ignore[call-overload]
        if finished is not None:
            return self._view(compiled, snapshot, (flow_error(finished),))
        step = Step(
            self._services,
            snapshot,
            event,
            self._now(),
            client=client,
            retry_at=limits_seen,
            catalogue=self._catalogue,
        )
        table = compiled.table
        expired = choose(step, table.get((state, EXPIRE), ()))  # type: ignore[arg-type]
        if expired is not None:
            return self._take(compiled, step, expired)
        edges = table.get((state, trigger))  # type: ignore[arg-type]
        if edges is None:
            return self._view(compiled, snapshot, (flow_error("event.not_allowed"),))
        edge = choose(step, edges)
        if edge is None:  # a declaration without an "otherwise" edge: nothing happens
            return self._view(compiled, snapshot, (flow_error("event.no_effect"),))
        return self._take(compiled, step, edge)

    def _take(self, compiled: CompiledFlow, step: Step, edge: Edge) -> FlowView:
        """Run the edge's actions, save the new snapshot, log the transition."""
        for action in edge.before:
            action(step)
        for action in edge.after:
            action(step)
        errors = edge.reported(step)
        errors.extend(step.errors)
        snapshot = step.snapshot
        moves = edge.dest is not None and edge.dest is not edge.source
        if self._outbox is not None and (step.outbox is not None or self._durable):
            snapshot = self._save_recorded(compiled, step, edge, errors)
        else:
            if step.changes or moves:
                snapshot = self._save(step.now, snapshot, self._next(compiled, step, edge))
            if step.outbox is not None:
                snapshot = self._send_sms(step, edge.trigger, snapshot, errors)
        _log_transition(compiled, step, edge, snapshot, errors)
        if self._instrumentation is not None:
            self._instrumentation.transition(_transition(compiled, edge, snapshot, errors))
        if self._hooks is not None:
            self._tell(compiled, step, edge, snapshot, errors)
        return self._view(compiled, snapshot, errors)

    def _tell(
        self,
        compiled: CompiledFlow,
        step: Step,
        edge: Edge,
        snapshot: FlowSnapshot,
        errors: list[FlowError],
    ) -> None:
        """Tell the listeners the step's events, and log each listener that failed."""
        assert self._hooks is not None  # noqa: S101 - only called with listeners
        events = step_events(compiled, step, edge, snapshot, errors)
        for failure in self._hooks.publish(events):
            _emit(
                "warning",
                "flow.listener_failed",
                flow_id=snapshot.flow_id,
                trigger=edge.trigger,
                **attrs.asdict(failure),
            )

    @staticmethod
    def _next(compiled: CompiledFlow, step: Step, edge: Edge) -> dict[str, Any]:
        """The snapshot fields the step changes: its state, path and context."""
        fields: dict[str, Any] = {}
        if edge.dest is not None and edge.dest is not edge.source:
            fields.update(state=edge.dest, path=(*step.snapshot.path, edge.dest))
            fields["finished"] = edge.dest in compiled.terminal
        if step.changes:
            fields["context"] = attrs.evolve(step.context, **step.changes)
        return fields

    def _save(
        self,
        now: datetime,
        snapshot: FlowSnapshot,
        fields: dict[str, Any],
        effects: Sequence[tuple[str, Mapping[str, Any]]] = (),
    ) -> FlowSnapshot:
        """Save the next version, and enqueue its `effects` in the outbox with it; a stale
        version is for `send` to retry, the rest an outage.

        A save whose answer was lost may still have happened: reading it back tells, so the
        step goes on (and its text goes out) exactly when the flow did move on.
        """
        following = attrs.evolve(snapshot, version=snapshot.version + 1, updated_at=now, **fields)
        try:
            with port_scope("storage", "save"):
                if effects and self._outbox is not None:
                    settle(self._outbox.save_with(following, keyed(following, effects)))
                else:
                    settle(self._flows.save(following))
        except StaleFlowError:
            raise
        except Exception as exc:
            if not self._holds(following):
                raise PortFailureError("storage") from exc
        return following

    def _holds(self, snapshot: FlowSnapshot) -> bool:
        try:
            loaded = self._load(snapshot.flow_id, "save")
        except Exception:  # noqa: BLE001 - a stored document that no longer structures
            return False
        return not isinstance(loaded, FlowView) and loaded[1] == snapshot

    def _send_sms(
        self, step: Step, trigger: str, saved: FlowSnapshot, errors: list[FlowError]
    ) -> FlowSnapshot:
        """Count the saved step's text against its phone, then send it; if the phone has no
        room (another flow sent to it meanwhile) or a port fails, report it and undo the
        send in the flow. A quiet text (`OutgoingSms.quiet`) does neither: the flow keeps
        its code and cooldown, with no error, as the decoy it must look like would.

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
            undo = {"context": attrs.evolve(saved.context, **sms.undo)}
            return self._save(step.now, saved, undo)
        except (StaleFlowError, PortFailureError):
            # Another request moved the flow on, or storage is down: the flow keeps a code
            # nobody received, and "Gửi lại OTP" works once its cooldown is over.
            _emit("warning", "flow.sms_undo_failed", flow_id=saved.flow_id)
        return saved

    def _save_recorded(
        self, compiled: CompiledFlow, step: Step, edge: Edge, errors: list[FlowError]
    ) -> FlowSnapshot:
        """With an outbox: save the step and what it causes, its text and its durable
        events, in one transaction. A step that neither changes the flow nor causes anything
        is not saved, as without an outbox.

        The events are built before the save, from the snapshot it will store: its
        idempotency keys are that version's, and a stale save stores none of them.
        """
        fields = self._next(compiled, step, edge)
        effects = (
            [] if step.outbox is None else self._queued_text(step, edge.trigger, fields, errors)
        )
        if self._durable:
            next_snapshot = attrs.evolve(step.snapshot, **fields)
            events = step_events(compiled, step, edge, next_snapshot, errors)
            effects.extend(event_effects(events, self._durable))
        if not (fields or effects):
            return step.snapshot
        return self._save(step.now, step.snapshot, fields, effects)

    def _queued_text(
        self, step: Step, trigger: str, fields: dict[str, Any], errors: list[FlowError]
    ) -> list[tuple[str, Mapping[str, Any]]]:
        """Count the step's text against its phone: the text to enqueue with the step. A
        phone without room enqueues nothing and undoes the send in `fields` (a quiet text:
        as it is), as `_send_sms` would.

        The count comes before the save, so a request that loses every race on its flow
        may cost the phone one text it never got; its retries count nothing more
        (`Step.over_limit` keeps the answer).
        """
        sms = step.outbox
        assert sms is not None  # noqa: S101 - `_save_recorded` queues only a step's text
        refused = self._deliver(step, trigger, sms, send=False)
        if refused is None:
            send_by = step.now + self._services.policy.otp_ttl  # its code is useless after
            return [(SMS, sms_payload(sms.phone, sms.message, send_by=send_by))]
        if not sms.quiet:
            errors.append(refused)
            context = fields.get("context", step.context)
            fields["context"] = attrs.evolve(context, **sms.undo)
        return []

    def _deliver(
        self, step: Step, trigger: str, sms: OutgoingSms, *, send: bool = True
    ) -> FlowError | None:
        """Count one text and send it (unless not to `send`: the outbox will); the error
        that stopped it, or None once it is counted (and went out).

        Counted before the provider is called: a text whose call failed may still have been
        delivered, so it counts.
        """
        try:
            if step.over_limit(sms.counter, sms.phone, sms.limits):
                return flow_error("otp.send_rate_limited", retry_at=step.retry_at[sms.counter])
            if send:
                call_port("sms", self._text, sms)
        except PortFailureError as failure:
            _log_port_failure(step.snapshot.flow_id, trigger, failure, failure.__cause__)
            return flow_error(failure.code)
        return None

    def _text(self, sms: OutgoingSms) -> None:
        gateway: SmsGateway | AsyncSmsGateway | None = self._services.sms
        if gateway is None:  # a flow that sends texts without `requires={"sms"}`
            raise MissingPortError("sms")
        settle(gateway.send(sms.phone, sms.message))

    def _failed(
        self,
        flow_id: str,
        trigger: str,
        failure: PortFailureError,
        cause: BaseException | None,
        loaded: tuple[CompiledFlow, FlowSnapshot] | None = None,
    ) -> FlowView:
        _log_port_failure(flow_id, trigger, failure, cause)
        # A host's port fails with the code its flow declares (`FlowSpec.errors`).
        errors = (flow_error(failure.code, catalogue=self._catalogue),)
        if loaded is None:
            return FlowView(flow_id=flow_id, state=None, errors=errors)
        return self._view(*loaded, errors)

    def _view(
        self,
        compiled: CompiledFlow,
        snapshot: FlowSnapshot,
        errors: tuple[FlowError, ...] | list[FlowError],
    ) -> FlowView:
        return FlowView(
            flow_id=snapshot.flow_id,
            flow=snapshot.flow,
            state=snapshot.state,
            version=snapshot.version,
            flow_version=snapshot.flow_version,
            errors=tuple(errors),
            allowed_events=compiled.allowed[snapshot.state],  # type: ignore[index]
            expires_at=snapshot.expires_at,
            **compiled.spec.view(snapshot, self._services),
        )


def _refuse_async_ports(
    flows: FlowStore,
    services: Services,
    outbox: OutboxStore | None,
    listeners: Sequence[FlowListener],
) -> None:
    """Fail at wiring, not at a citizen's first request, when a sync engine is given a
    port, outbox, veto or listener whose methods are coroutines (which `AsyncEngine` runs)."""
    given = [flows, outbox, *(getattr(services, name) for name in Services.BUILT_IN)]
    for name, port in zip(("flows", "outbox", *Services.BUILT_IN), given, strict=True):
        if is_async(port):
            raise ValueError(f"the {name} port is async: run it with regflow.AsyncEngine")
    for name, port in services.ports.items():
        if is_async(port):
            raise ValueError(f"the port {name!r} is async: run it with regflow.AsyncEngine")
    for name, veto in services.vetoes.items():
        if _awaits(veto, "__call__"):
            raise ValueError(f"the veto {name!r} is async: run it with regflow.AsyncEngine")
    for listener in listeners:
        if _awaits(listener, "on_event"):
            raise ValueError(
                f"the listener {type(listener).__name__} is async: run it with regflow.AsyncEngine"
            )


def is_async(port: object) -> bool:
    """Whether any public method of `port` is a coroutine function (looked up statically:
    a port's properties are not run)."""
    return any(
        inspect.iscoroutinefunction(inspect.getattr_static(port, name, None))
        for name in dir(port)
        if not name.startswith("_")
    )


def _awaits(hook: object, method: str) -> bool:
    """Whether a host's hook is a coroutine function, or its `method` one."""
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
        inspect.getattr_static(hook, method, None)
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
    try:
        # The engine's lazy proxy would find the level's method by a failed attribute
        # lookup and `bind()`; asking `bind()` directly skips the failure (and, with
        # `cache_logger_on_first_use`, returns the cached logger).
        logger = _log.bind() if _log is _CONFIGURED_LOG else _log
        getattr(logger, level)(event, **fields)
    except Exception:  # noqa: BLE001, S110 - the step is done: a log line cannot undo it
        pass  # (`try` costs nothing until it raises; `contextlib.suppress` costs a call)


def _stuck(
    flow_id: str, trigger: str, snapshot: FlowSnapshot | None, stuck: Stuck | None
) -> FlowView:
    """The answer for a flow this engine cannot run: not found for no stored flow (`stuck`
    None) or one of a flow it runs no version of, else the retryable
    `flow.version_unknown` (a newer server can run it)."""
    not_found = FlowView(flow_id=flow_id, state=None, errors=(flow_error("flow.not_found"),))
    if snapshot is None or stuck is None:
        return not_found
    fields = {"flow_id": flow_id, "trigger": trigger, "flow": snapshot.flow}
    if stuck.reason == FLOW_UNKNOWN:
        _emit("warning", "flow.not_run_here", **fields)
        return not_found
    _emit(
        "warning",
        "flow.version_unknown",
        flow_version=snapshot.flow_version,
        reason=stuck.reason,
        detail=stuck.detail,
        **fields,
    )
    return FlowView(flow_id=flow_id, state=None, errors=(flow_error("flow.version_unknown"),))


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
    given every event, as `_log.info` always did.

    The engine's own lazy logger is answered from the configured wrapper class, without
    binding a logger (which costs a logger factory call on every request)."""
    if _log is _CONFIGURED_LOG:
        wrapper = structlog.get_config()["wrapper_class"]
        if wrapper not in _FILTERING_LOGGERS:
            return True
        return bool(wrapper.is_enabled_for(None, level))
    is_enabled_for = getattr(_log, "is_enabled_for", None)
    if type(getattr(is_enabled_for, "__self__", None)) not in _FILTERING_LOGGERS:
        return True
    return bool(is_enabled_for(level))  # type: ignore[misc]  # a filtering logger's method


def _log_transition(
    compiled: CompiledFlow, step: Step, edge: Edge, snapshot: FlowSnapshot, errors: list[FlowError]
) -> None:
    if not _keeps(logging.INFO):
        return
    subject = compiled.spec.subject(snapshot.context)
    _emit(
        "info",
        "flow.transition",
        flow_id=snapshot.flow_id,
        flow=snapshot.flow,
        flow_version=snapshot.flow_version,
        trigger=edge.trigger,
        source=edge.source.value,
        dest=str(snapshot.state),
        rule=edge.rule,
        errors=[error.code for error in errors],
        version=snapshot.version,
        citizen=mask_id(subject) if subject else None,
        client=step.client_digest,
        at=step.now.isoformat(),
    )


def _transition(
    compiled: CompiledFlow, edge: Edge, snapshot: FlowSnapshot, errors: list[FlowError]
) -> Transition:
    """The transition as the instrumentation is told it: the audit line's names."""
    return Transition(
        flow=snapshot.flow,
        flow_version=snapshot.flow_version,
        flow_id=snapshot.flow_id,
        trigger=edge.trigger,
        source=edge.source.value,
        dest=str(snapshot.state),
        rule=edge.rule,
        errors=tuple(error.code for error in errors),
        finished=snapshot.state in compiled.terminal,
    )
