"""What the citizen typed into the BHXH form, kept on the server until the flow leaves the form.

The form is personal data (name, birth date, phone, BHXH number): it never goes into the
session cookie, which is signed but readable by anyone who holds it. A draft lives in this
process for at most the flow's lifetime; the store is bounded in count and in the length of
each value, so a flood of forms costs a fixed amount of memory. With several app servers and
no sticky sessions, back the same three methods with the shared cache (e.g. Redis, keyed by
flow id, with the flow's lifetime as TTL).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

#: Longer than any valid value of the form; what is cut is re-shown cut, never stored whole.
MAX_VALUE_CHARS = 256
MAX_DRAFTS = 10_000


class FormDrafts:
    """Typed forms by flow id, each until a given time; the oldest go first when it is full."""

    def __init__(self, max_drafts: int = MAX_DRAFTS) -> None:
        self._max = max_drafts
        # In the order they were put: when full, the draft put longest ago goes.
        self._drafts: dict[str, tuple[datetime, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def put(self, flow_id: str, typed: dict[str, str], until: datetime) -> None:
        kept = {name: value[:MAX_VALUE_CHARS] for name, value in typed.items()}
        with self._lock:
            self._drafts.pop(flow_id, None)
            self._drafts[flow_id] = (until, kept)
            while len(self._drafts) > self._max:
                del self._drafts[next(iter(self._drafts))]

    def get(self, flow_id: str, now: datetime) -> dict[str, str]:
        with self._lock:
            until, typed = self._drafts.get(flow_id, (now, {}))
        return dict(typed) if until > now else {}

    def drop(self, flow_id: str) -> None:
        with self._lock:
            self._drafts.pop(flow_id, None)

    def purge(self, now: datetime) -> int:
        """Forget the drafts past their time; returns how many went."""
        with self._lock:
            expired = [key for key, (until, _) in self._drafts.items() if until <= now]
            for key in expired:
                del self._drafts[key]
        return len(expired)
