"""In-memory adapters: fast, thread-safe, gone with the process.

For tests (regflow's and host apps') and demos. Their state is public on purpose, so a
test can check what was stored: `InMemoryUserStore.accounts`, `InMemoryFlowStore.flows`,
`InMemoryOutbox.rows`.
`InMemoryRateLimiter` counts across flows for one process.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Final

import attrs

from regflow._errors import DuplicateAccountError, StaleFlowError
from regflow.adapters.system import SystemClock
from regflow.ports.outbox import ClaimedMessage, OutboxMessage

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from datetime import timedelta

    from regflow._domain import Account, BhxhRecord
    from regflow._limits import RateLimit
    from regflow.declare import FlowSnapshot
    from regflow.ports import Clock


class InMemoryBhxhRegistry:
    """`BhxhRegistry` over a dict of records keyed by BHXH number."""

    def __init__(self, records: Iterable[BhxhRecord] = ()) -> None:
        self.records: dict[str, BhxhRecord] = {r.bhxh_number: r for r in records}

    def add(self, record: BhxhRecord) -> None:
        self.records[record.bhxh_number] = record

    def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        return self.records.get(bhxh_number)


class InMemoryUserStore:
    """`UserStore` over dicts indexed by every ID number and the BHXH number, all unique,
    under a lock."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        #: The accounts' password hashes; an account without a password has none here.
        self.password_hashes: dict[str, str] = {}
        self._by_number: dict[str, str] = {}  # "id:…" / "bhxh:…" → account_id
        self._lock = threading.Lock()

    def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        keys = [f"id:{number}" for number in (id_number, *former_id_numbers)]
        for key in (*keys, f"bhxh:{bhxh_number}"):
            account_id = self._by_number.get(key)
            if account_id is not None:
                return self.accounts[account_id]
        return None

    def add(self, account: Account, password_hash: str | None) -> None:
        keys = [f"id:{number}" for number in account.id_numbers]
        keys.append(f"bhxh:{account.bhxh_number}")
        with self._lock:
            if any(key in self._by_number for key in keys):
                raise DuplicateAccountError(account.account_id)
            self.accounts[account.account_id] = account
            if password_hash is not None:
                self.password_hashes[account.account_id] = password_hash
            for key in keys:
                self._by_number[key] = account.account_id

    def replace_password_hash(self, account: Account, password_hash: str) -> None:
        with self._lock:
            stored = self.accounts.get(account.account_id)
            if stored is None or stored.flow_id != account.flow_id:
                raise LookupError(account.account_id)
            self.password_hashes[account.account_id] = password_hash

    def find_by_login(self, login: str) -> Account | None:
        account_id = self._by_number.get(f"id:{login}")
        return None if account_id is None else self.accounts[account_id]

    def password_hash(self, account_id: str) -> str | None:
        return self.password_hashes.get(account_id)

    def set_password_hash(self, account_id: str, password_hash: str) -> None:
        with self._lock:
            if account_id not in self.accounts:
                raise LookupError(account_id)
            self.password_hashes[account_id] = password_hash

    def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None:
        with self._lock:
            stored = self.accounts.get(account_id)
            if stored is None:
                raise LookupError(account_id)
            self.accounts[account_id] = attrs.evolve(
                stored,
                verification_level=max(stored.verification_level, level),
                vneid_verified_at=verified_at,
            )


class InMemoryFlowStore:
    """`FlowStore` over a dict of (immutable) snapshots, with the version check of the port."""

    def __init__(self) -> None:
        self.flows: dict[str, FlowSnapshot] = {}
        self._lock = threading.Lock()

    def load(self, flow_id: str) -> FlowSnapshot | None:
        return self.flows.get(flow_id)

    def save(self, snapshot: FlowSnapshot) -> None:
        with self._lock:
            self._save_held(snapshot)

    def _save_held(self, snapshot: FlowSnapshot) -> None:
        """`save`, for a caller that holds the lock."""
        stored = self.flows.get(snapshot.flow_id)
        stored_version = 0 if stored is None else stored.version
        if stored_version != snapshot.version - 1:
            raise StaleFlowError(snapshot.flow_id)
        self.flows[snapshot.flow_id] = snapshot

    def purge_expired(self, now: datetime) -> int:
        with self._lock:
            expired = [k for k, flow in self.flows.items() if flow.expires_at <= now]
            for flow_id in expired:
                del self.flows[flow_id]
            return len(expired)

    def snapshots(self) -> Iterator[FlowSnapshot]:
        """Every stored flow (`regflow db verify` reads the SQL stores' alike)."""
        with self._lock:
            stored = list(self.flows.values())
        yield from stored


@attrs.define
class OutboxRow:
    """One message of `InMemoryOutbox`, as the SQL outboxes keep its row."""

    message: OutboxMessage
    status: str = "pending"  # or "dead"; a delivered message's row is gone
    attempts: int = 0
    available_at: datetime | None = None
    leased_until: datetime | None = None
    lease: str | None = None

    def due(self, now: datetime) -> bool:
        waited = self.available_at is None or self.available_at <= now
        free = self.leased_until is None or self.leased_until <= now
        return self.status == "pending" and waited and free


class InMemoryOutbox:
    """`Outbox` beside an `InMemoryFlowStore`: a save and its messages are made under the
    store's lock, and so is every claim. `rows` (by idempotency key, oldest first) is public,
    so a test can check what waits and what is dead."""

    def __init__(self, flows: InMemoryFlowStore) -> None:
        self.flows = flows
        self.rows: dict[str, OutboxRow] = {}
        self._lock = flows._lock  # noqa: SLF001 - one lock for the flows and their messages

    def save_with(self, snapshot: FlowSnapshot, messages: Sequence[OutboxMessage]) -> None:
        with self._lock:
            self.flows._save_held(snapshot)  # noqa: SLF001 - under the lock it shares
            self.rows.update((message.idempotency_key, OutboxRow(message)) for message in messages)

    def claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[ClaimedMessage]:
        token = secrets.token_urlsafe(12)
        with self._lock:
            due = [row for row in self.rows.values() if row.due(now)][:limit]
            for row in due:
                row.attempts, row.leased_until, row.lease = row.attempts + 1, now + lease, token
            return [
                ClaimedMessage(message=r.message, attempts=r.attempts, lease=token) for r in due
            ]

    def mark_delivered(self, claimed: ClaimedMessage) -> None:
        with self._lock:
            self.rows.pop(claimed.message.idempotency_key, None)

    def mark_failed(self, claimed: ClaimedMessage, *, retry_at: datetime) -> None:
        self._release(claimed, available_at=retry_at)

    def mark_dead(self, claimed: ClaimedMessage) -> None:
        self._release(claimed, status="dead")

    def _release(self, claimed: ClaimedMessage, **changes: object) -> None:
        """Record a failed attempt of the worker that still holds the lease."""
        with self._lock:
            row = self.rows.get(claimed.message.idempotency_key)
            if row is not None and row.lease == claimed.lease:
                for name, value in {"leased_until": None, "lease": None, **changes}.items():
                    setattr(row, name, value)


class InMemoryRateLimiter:
    """`RateLimiter` over sliding-window logs in a dict, under a lock.

    Counts live in one process: right for tests, demos and a single app server; many app
    servers share `regflow.adapters.limits.LimitsRateLimiter` on Redis instead.
    """

    #: Every this many hits, counters whose windows have all passed are forgotten, so keys
    #: that are never asked about again (one phone, one client) do not pile up.
    SWEEP_EVERY: Final = 1024

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._log: dict[tuple[str, RateLimit], deque[datetime]] = {}
        self._lock = threading.Lock()
        self._hits = 0

    def __len__(self) -> int:
        """How many (key, window) counters are held: for monitoring its memory."""
        return len(self._log)

    def hit(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        with self._lock:
            now = self._clock.now()
            retry_at = self._retry_at(key, limits, now)
            if retry_at is None:
                for limit in limits:
                    self._log.setdefault((key, limit), deque()).append(now)
            self._hits += 1
            if self._hits % self.SWEEP_EVERY == 0:
                self._forget_passed(now)
            return retry_at

    def _forget_passed(self, now: datetime) -> None:
        passed = [entry for entry, hits in self._log.items() if hits[-1] + entry[1].per <= now]
        for entry in passed:
            del self._log[entry]

    def peek(self, key: str, limits: Sequence[RateLimit]) -> datetime | None:
        with self._lock:
            return self._retry_at(key, limits, self._clock.now())

    def _retry_at(self, key: str, limits: Sequence[RateLimit], now: datetime) -> datetime | None:
        waits = [self._free_at(key, limit, now) for limit in limits]
        return max((wait for wait in waits if wait is not None), default=None)

    def _free_at(self, key: str, limit: RateLimit, now: datetime) -> datetime | None:
        """When `limit` has room again for `key` (None: it has now); forgets old hits."""
        hits = self._log.get((key, limit))
        if hits is None:
            return None
        while hits and hits[0] + limit.per <= now:
            hits.popleft()
        if not hits:
            del self._log[key, limit]
            return None
        return hits[0] + limit.per if len(hits) >= limit.amount else None
