"""`regflow outbox run`: the outbox worker as a process beside the app servers.

It opens the outbox of the database the app servers share (`regflow.open_stores`), takes
the SMS gateway from the host's code (``--sms module:ATTR``: a gateway, or a callable that
makes one) and a handler for each host's kind of message (``--handler kind=module:ATTR``:
a callable of one `OutboxMessage`, or a class that makes one), and delivers: once
(``--once``, for a scheduler), or in a loop that waits ``--interval`` seconds whenever the
outbox is empty. Several may run at once, each with the same handlers.
"""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, Any, TextIO

import attrs
import structlog

from regflow._bootstrap import open_stores
from regflow._delivery import deliver_outbox
from regflow._outbox import SMS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from regflow.ports import OutboxMessage, OutboxQueue, SmsGateway

    Handler = Callable[[OutboxMessage], None]

_log = structlog.get_logger("regflow")


def sms_gateway(target: str) -> SmsGateway:
    """The gateway `target` (``module:ATTR``) names: the object, or what calling it makes
    (a class or a factory that takes no argument)."""
    found = _imported(target, "the SMS gateway")
    if callable(found) and (isinstance(found, type) or not hasattr(found, "send")):
        found = found()
    if not callable(getattr(found, "send", None)):
        raise TypeError(f"{target} is not an SmsGateway (it has no send method)")
    return found  # type: ignore[no-any-return]


def handler(option: str) -> tuple[str, Handler]:
    """The kind and handler `option` (``kind=module:ATTR``) names: the callable, or what
    calling a class makes. Texts (``sms``) go through the gateway and take no handler."""
    kind, _, target = option.partition("=")
    if not kind or kind == SMS or not target:
        raise TypeError(f"{option}: name a handler as kind=module:ATTRIBUTE, for a kind but sms")
    found = _imported(target, "the handler")
    if isinstance(found, type):
        found = found()
    if not callable(found):
        raise TypeError(f"{target} is not a handler (it cannot be called with a message)")
    return kind, found


def _imported(target: str, what: str) -> Any:  # noqa: ANN401 - whatever the host's module holds
    """The attribute `target` (``module:ATTR``) names, imported; `what` names it in the error."""
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise TypeError(f"{target}: name {what} as module:ATTRIBUTE")
    return getattr(importlib.import_module(module_name), attribute)


def run(  # noqa: PLR0913 - the command's options
    database: str | None,
    sms: SmsGateway,
    *,
    handlers: Mapping[str, Handler] | None = None,
    once: bool,
    interval: float,
    limit: int,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Deliver until stopped (or once); a run that fails (the database is down) is logged
    and tried again after `interval`, except under `once`, where it raises."""
    with open_stores(database) as stores:
        outbox = stores.outbox
        assert outbox is not None  # noqa: S101 - open_stores gives every database's
        while True:
            full = _deliver(outbox, sms, handlers or {}, limit, out, once=once)
            if once:
                return 0
            if not full:
                sleep(interval)


def _deliver(  # noqa: PLR0913 - one run's settings
    outbox: OutboxQueue,
    sms: SmsGateway,
    handlers: Mapping[str, Handler],
    limit: int,
    out: TextIO,
    *,
    once: bool,
) -> bool:
    """One run; whether it took a full batch (more may be waiting: no pause)."""
    try:
        done = deliver_outbox(outbox, sms, handlers=handlers, limit=limit)
    except Exception as exc:
        if once:
            raise
        _log.warning("outbox.run_failed", error_type=type(exc).__name__)
        return False
    out.write(" ".join(f"{name}={count}" for name, count in attrs.asdict(done).items()) + "\n")
    out.flush()
    counts: tuple[int, ...] = attrs.astuple(done)
    return sum(counts) >= limit
