"""Where portal accounts live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from regflow._domain import Account


class UserStore(Protocol):
    """The portal's accounts: find the citizen's account, add a new one.

    The store must enforce uniqueness of both `id_number` and `bhxh_number`: two flows
    that race to the last step for one citizen must end with exactly one account.
    """

    def find(self, id_number: str, bhxh_number: str) -> Account | None:
        """Return the account held by this ID number or this BHXH number, if any."""
        ...

    def add(self, account: Account, password_hash: str) -> None:
        """Store a new account; raise `DuplicateAccountError` if either number is taken."""
        ...
