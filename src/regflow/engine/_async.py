"""The asyncio driver: the same engine, its requests awaited.

`AsyncEngine` holds an `Engine` built on the ports it is given, sync or async, and runs each
request of it in a greenlet (`regflow._bridge`): the rules, kits and flows are the sync
engine's own, and every port answer that is awaitable is awaited on the event loop, so a
request waiting on BHXH or on the SMS provider holds no thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from regflow._bridge import drive
from regflow.engine._engine import Engine

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from regflow._methods import MethodRegistry
    from regflow._policy import Policy
    from regflow._view import FlowView
    from regflow.declare._spec import FlowSpec
    from regflow.ports import (
        AsyncBhxhRegistry,
        AsyncFlowStore,
        AsyncPasswordHasher,
        AsyncRateLimiter,
        AsyncSmsGateway,
        AsyncUserStore,
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
    from regflow.ports.outbox import AsyncOutboxStore, OutboxStore


class _DrivenEngine(Engine):
    """An `Engine` whose ports may be async: only ever run through `drive`."""

    _ACCEPTS_ASYNC_PORTS = True


class AsyncEngine:
    """Runs the flows it is given for an asyncio host: `await engine.send(flow_id, event)`.

    Built like `Engine` (the same declarations, ports and settings, keyword for keyword);
    each port may be async (`AsyncFlowStore`, `AsyncBhxhRegistry`, … from `regflow.ports`:
    the sync protocol's methods as coroutines) or sync, such as the fakes of
    `regflow.testing` or the in-memory stores. A sync port that does I/O blocks the event
    loop while it runs; give it in its async form. The clock is always sync. Listeners and
    vetoes may be async too (their `on_event`, or the veto itself, a coroutine function).
    """

    MAX_ATTEMPTS = Engine.MAX_ATTEMPTS

    def __init__(  # noqa: PLR0913 - one argument per port, all keyword-only, as Engine's
        self,
        *specs: FlowSpec,
        flows: AsyncFlowStore | FlowStore,
        clock: Clock,
        otp_secret: bytes,
        bhxh: AsyncBhxhRegistry | BhxhRegistry | None = None,
        sms: AsyncSmsGateway | SmsGateway | None = None,
        users: AsyncUserStore | UserStore | None = None,
        hasher: AsyncPasswordHasher | PasswordHasher | None = None,
        policy: Policy | None = None,
        methods: MethodRegistry | None = None,
        limiter: AsyncRateLimiter | RateLimiter | None = None,
        ports: Mapping[str, object] | None = None,
        previous_otp_secrets: Sequence[bytes] = (),
        instrumentation: Instrumentation | None = None,
        outbox: AsyncOutboxStore | OutboxStore | None = None,
        listeners: Sequence[FlowListener] = (),
        vetoes: Mapping[str, Veto] | None = None,
        durable_events: Collection[type[FlowEvent]] = (),
    ) -> None:
        # The sync engine's port types are what it calls; the bridge awaits what they answer.
        given: dict[str, Any] = {
            "flows": flows,
            "bhxh": bhxh,
            "sms": sms,
            "users": users,
            "hasher": hasher,
            "limiter": limiter,
            "outbox": outbox,
        }
        self._engine = _DrivenEngine(
            *specs,
            clock=clock,
            otp_secret=otp_secret,
            policy=policy,
            methods=methods,
            ports=ports,
            previous_otp_secrets=previous_otp_secrets,
            instrumentation=instrumentation,
            listeners=listeners,
            vetoes=vetoes,
            durable_events=durable_events,
            **given,
        )

    @property
    def policy(self) -> Policy:
        return self._engine.policy

    @property
    def flows(self) -> tuple[FlowSpec, ...]:
        """The declarations this engine runs (every version), in the order it was given them."""
        return self._engine.flows

    async def start(self, flow: str, *, client: str | None = None) -> FlowView:
        """As `Engine.start`, awaited."""
        return await drive(self._engine.start, flow, client=client)

    async def view(self, flow_id: str) -> FlowView:
        """As `Engine.view`, awaited."""
        return await drive(self._engine.view, flow_id)

    async def send(self, flow_id: str, event: object, *, client: str | None = None) -> FlowView:
        """As `Engine.send`, awaited."""
        return await drive(self._engine.send, flow_id, event, client=client)

    async def purge_expired(self) -> int:
        """As `Engine.purge_expired`, awaited."""
        return await drive(self._engine.purge_expired)
