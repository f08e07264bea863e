"""Where the citizen's social-insurance record comes from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from regflow._domain import BhxhRecord


class BhxhRegistry(Protocol):
    """The BHXH database, as the flow needs it: one look-up by social-insurance number."""

    def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        """Return the record, or None when BHXH has no such number.

        Raise (anything) when BHXH cannot answer: the engine reports a retryable
        `bhxh.unavailable`, never a data mismatch.
        """
        ...
