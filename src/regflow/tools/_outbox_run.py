"""`regflow outbox run`: the outbox worker as a process beside the app servers.

It opens the outbox of the database the app servers share (`regflow.open_stores`), takes
the SMS gateway from the host's code (``--sms module:ATTR``: a gateway, or a callable that
makes one) and delivers: once (``--once``, for a scheduler), or in a loop that waits
``--interval`` seconds whenever the outbox is empty. Several may run at once.
"""

from __future__ import annotations

import importlib
import time
from typing import TYPE_CHECKING, TextIO

import attrs
import structlog

from regflow._bootstrap import open_stores
from regflow._delivery import deliver_outbox

if TYPE_CHECKING:
    from collections.abc import Callable

    from regflow.ports import OutboxQueue, SmsGateway

_log = structlog.get_logger("regflow")


def sms_gateway(target: str) -> SmsGateway:
    """The gateway `target` (``module:ATTR``) names: the object, or what calling it makes
    (a class or a factory that takes no argument)."""
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise TypeError(f"{target}: name the SMS gateway as module:ATTRIBUTE")
    found = getattr(importlib.import_module(module_name), attribute)
    if callable(found) and (isinstance(found, type) or not hasattr(found, "send")):
        found = found()
    if not callable(getattr(found, "send", None)):
        raise TypeError(f"{target} is not an SmsGateway (it has no send method)")
    return found  # type: ignore[no-any-return]


def run(  # noqa: PLR0913 - the command's options
    database: str | None,
    sms: SmsGateway,
    *,
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
            full = _deliver(outbox, sms, limit, out, once=once)
            if once:
                return 0
            if not full:
                sleep(interval)


def _deliver(outbox: OutboxQueue, sms: SmsGateway, limit: int, out: TextIO, *, once: bool) -> bool:
    """One run; whether it took a full batch (more may be waiting: no pause)."""
    try:
        done = deliver_outbox(outbox, sms, limit=limit)
    except Exception as exc:
        if once:
            raise
        _log.warning("outbox.run_failed", error_type=type(exc).__name__)
        return False
    out.write(" ".join(f"{name}={count}" for name, count in attrs.asdict(done).items()) + "\n")
    out.flush()
    counts: tuple[int, ...] = attrs.astuple(done)
    return sum(counts) >= limit
