"""Where portal accounts live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from regflow._domain import Account


class UserStore(Protocol):
    """The portal's accounts: find the citizen's account, add a new one, change its password.

    The store must enforce uniqueness of every CMT/CCCD number an account is known by (its
    `id_number` and its `former_id_numbers`) and of its `bhxh_number`: two flows that race
    to the last step for one citizen must end with exactly one account, and a record that
    names the citizen by an old CMND must not open a second account beside their CCCD's.
    """

    def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        """Return the account known by any of the ID numbers, else the one holding this BHXH
        number, if any."""
        ...

    def add(self, account: Account, password_hash: str | None) -> None:
        """Store a new account; raise `DuplicateAccountError` if any of its numbers is taken.

        A `password_hash` of None makes an account without a password, whose citizen signs
        in by VNeID only: `password_hash` then gives None back."""
        ...

    def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None:
        """Mark the account as verified by the national identity platform (VNeID) at
        `verified_at`, and raise its `verification_level` to `level` if it is lower (never
        lower it). Doing it again changes only the time, so a retried step is harmless.

        Raise `LookupError` if there is no such account (the engine reports a storage
        outage)."""
        ...

    def replace_password_hash(self, account: Account, password_hash: str) -> None:
        """Replace the password hash of `account`, which its flow created before that flow's
        completing save was lost; the flow's retry sets the password the citizen chose last.

        Only the account of that `account_id` and `flow_id` changes; raise `LookupError` if
        there is none (the engine reports a storage outage)."""
        ...

    def find_by_login(self, login: str) -> Account | None:
        """Return the account whose current or former CMT/CCCD number is `login`, if any.

        The login of the portal is an ID number, never a BHXH number. The caller has checked
        its shape (9 or 12 ASCII digits); the recovery flow answers alike whether an account
        is found, so the store only looks it up."""
        ...

    def password_hash(self, account_id: str) -> str | None:
        """Return the stored password hash of the account, None if there is no such account
        or it has no password.

        A host's login page verifies a typed password against it with
        `PasswordHasher.verify`; the engine itself never reads a hash back."""
        ...

    def set_password_hash(self, account_id: str, password_hash: str) -> None:
        """Replace the password hash of the account, whichever flow created it: the password
        recovery sets the new password, and the old one stops working at once.

        Raise `LookupError` if there is no such account (the engine reports a storage
        outage)."""
        ...


class AsyncUserStore(Protocol):
    """`UserStore` for `AsyncEngine`: the same methods and guarantees, awaited."""

    async def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None: ...

    async def add(self, account: Account, password_hash: str | None) -> None: ...

    async def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None: ...

    async def replace_password_hash(self, account: Account, password_hash: str) -> None: ...

    async def find_by_login(self, login: str) -> Account | None: ...

    async def password_hash(self, account_id: str) -> str | None: ...

    async def set_password_hash(self, account_id: str, password_hash: str) -> None: ...
