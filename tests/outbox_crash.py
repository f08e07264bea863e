"""A process that dies at one point of a text's (or a notice's) way through the outbox.

``python -m tests.outbox_crash sqlite|postgres LOCATION POINT SENT_FILE [text|notice]``
runs one registration to its OTP on the stores at LOCATION (a file, a DSN) with an outbox,
prints the flow's id after `FLOW_ID`, then runs one worker pass whose text reaches
`CountingProvider` (SENT_FILE); it ends with `os._exit` at POINT (one of `POINTS`), as
after a SIGKILL: nothing is cleaned up or flushed but what the stores committed. With
``notice`` the text goes out unharmed and the registration runs to its account, whose
durable `AccountCreated` notice is the one that dies at POINT on its way to the receiver.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from regflow import SHIPPED_FLOWS, ChooseMethod, ConfirmOtp, Engine, SetPassword, deliver_outbox
from regflow.adapters.postgres import (
    PostgresFlowStore,
    PostgresOutbox,
    PostgresUserStore,
    open_pool,
)
from regflow.adapters.sqlite import SqliteFlowStore, SqliteOutbox, SqliteUserStore
from regflow.ports import AccountCreated
from regflow.testing import STRONG_PASSWORD, FakePorts, form_for

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, timedelta

    from regflow import FlowSnapshot, SmsMessage
    from regflow.ports import ClaimedMessage, FlowStore, Outbox, OutboxMessage, UserStore

#: The exit status that says "died where it was meant to".
DIED: Final = 19
FLOW_ID: Final = "flow: "
#: Where the process may die, in the order a text passes them.
POINTS: Final = (
    "before_save",  # the request dies before its save: no step, no text
    "mid_save",  # it dies inside the save's transaction, the flow's row written, no message
    "after_save",  # the request dies right after its save committed, before any send
    "after_claim",  # the worker dies holding the lease, before sending
    "after_send",  # the worker dies after the provider took the text, before recording it
    "after_mark",  # the worker dies right after recording the delivery
)


def die_at(point: str, where: str) -> None:
    if point == where:
        sys.stdout.flush()
        os._exit(DIED)


class CountingProvider:
    """An `SmsGateway` like a provider that honours idempotency keys: every call is a line
    in `path` (another process reads them), and a key it has seen is not delivered again."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, phone: str, message: SmsMessage) -> None:
        self._record({"key": message.idempotency_key, "phone": phone})

    def receive(self, message: OutboxMessage) -> None:
        """A host's handler of notices that honours their keys the same way."""
        self._record({"key": message.idempotency_key, "kind": message.kind})

    def _record(self, line: dict[str, str | None]) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")

    def calls(self) -> list[str]:
        """The key of every call, repeats and all."""
        if not self.path.exists():
            return []
        return [json.loads(line)["key"] for line in self.path.read_text().splitlines()]

    def delivered(self) -> list[str]:
        """The keys of the texts the citizen's phone got: each key once."""
        return list(dict.fromkeys(self.calls()))


class DyingOutbox:
    """An `Outbox` whose process dies at `point` (`POINTS`)."""

    def __init__(self, outbox: Outbox, point: str) -> None:
        self.outbox = outbox
        self.point = point

    def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        die_at(self.point, "before_save")
        if self.point == "mid_save":
            _die_after_the_flows_row(type(self.outbox).__module__)
        self.outbox.save_with(snapshot, messages)
        die_at(self.point, "after_save")

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[ClaimedMessage]:
        claimed = self.outbox.claim(now, limit=limit, lease=lease)
        die_at(self.point, "after_claim")
        return claimed

    def mark_delivered(self, claimed: ClaimedMessage) -> None:
        die_at(self.point, "after_send")
        self.outbox.mark_delivered(claimed)
        die_at(self.point, "after_mark")

    def mark_failed(self, claimed: ClaimedMessage, *, retry_at: datetime) -> None:
        self.outbox.mark_failed(claimed, retry_at=retry_at)

    def mark_dead(self, claimed: ClaimedMessage) -> None:
        self.outbox.mark_dead(claimed)


def _die_after_the_flows_row(module_name: str) -> None:
    """Make the adapter's next flow write end the process, before its messages and commit."""
    module = sys.modules[module_name]
    write = vars(module)["_save_flow"]  # the step inside the adapter's transaction

    def write_then_die(*args: object) -> None:
        write(*args)
        die_at("mid_save", "mid_save")

    vars(module)["_save_flow"] = write_then_die


def stores(backend: str, location: str) -> tuple[UserStore, FlowStore, Outbox]:
    if backend == "sqlite":
        return SqliteUserStore(location), SqliteFlowStore(location), SqliteOutbox(location)
    pool = open_pool(location)
    return PostgresUserStore(pool), PostgresFlowStore(pool), PostgresOutbox(pool)


def main(backend: str, location: str, point: str, sent: str, what: str = "text") -> None:
    ports = FakePorts.seeded()
    users, flows, outbox = stores(backend, location)
    dying = DyingOutbox(outbox, point if what == "text" else "")
    engine = Engine(
        *SHIPPED_FLOWS,
        bhxh=ports.bhxh,
        users=users,
        flows=flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        ports={"identity": ports.identity},
        outbox=dying,
        durable_events=(AccountCreated,),
    )
    flow_id = engine.start("bhxh_registration").flow_id
    sys.stdout.write(f"{FLOW_ID}{flow_id}\n")
    sys.stdout.flush()
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for())
    if what == "notice":
        deliver_outbox(outbox, ports.sms, clock=ports.clock)
        engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
        dying.point = point
        engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))
    receiver = CountingProvider(Path(sent))
    handlers = {"account_created": receiver.receive}
    deliver_outbox(dying, receiver, handlers=handlers, clock=ports.clock)
    os._exit(0)


if __name__ == "__main__":
    main(*sys.argv[1:6])
