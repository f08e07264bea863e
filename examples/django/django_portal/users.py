"""regflow's `UserStore` port on the Django ORM: the portal's own accounts table.

Each method is one ORM query or one transaction on the database `using` names; the
uniqueness the port requires is the tables' (`models`), so a clash that two racing requests
meet is the database's `IntegrityError`, which `add` reports as `DuplicateAccountError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Greatest

from django_portal.models import IdNumber, PortalAccount
from regflow import Account, DuplicateAccountError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from django.db.models import QuerySet

#: The account's fields stored as columns of `PortalAccount` (its former numbers are rows).
_COLUMNS = tuple(field.name for field in attrs.fields(Account) if field.name != "former_id_numbers")


class DjangoUserStore:
    """`UserStore` in the tables of `models`, on the database alias `using`."""

    def __init__(self, using: str = "default") -> None:
        self._using = using

    def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        """The account known by any of the ID numbers first, else the BHXH number's, in one
        query (and one for its former numbers)."""
        numbers = IdNumber.objects.filter(
            account=OuterRef("pk"), number__in=[id_number, *former_id_numbers]
        )
        found = (
            self._accounts()
            .annotate(by_id_number=Exists(numbers))
            .filter(Q(by_id_number=True) | Q(bhxh_number=bhxh_number))
            .order_by("-by_id_number")
        )
        return self._first(found)

    def find_by_login(self, login: str) -> Account | None:
        return self._first(self._accounts().filter(numbers__number=login))

    def add(self, account: Account, password_hash: str | None) -> None:
        """The account and every ID number it is known by, in one transaction."""
        columns = {name: getattr(account, name) for name in _COLUMNS}
        try:
            with transaction.atomic(using=self._using):
                row = self._accounts().create(**columns, password_hash=password_hash)
                numbers = dict.fromkeys(account.id_numbers)
                IdNumber.objects.using(self._using).bulk_create(
                    IdNumber(number=number, account=row) for number in numbers
                )
        except IntegrityError as exc:
            raise DuplicateAccountError(account.account_id) from exc

    def replace_password_hash(self, account: Account, password_hash: str) -> None:
        mine = self._accounts().filter(account_id=account.account_id, flow_id=account.flow_id)
        if mine.update(password_hash=password_hash) != 1:
            raise LookupError(account.account_id)

    def password_hash(self, account_id: str) -> str | None:
        row = self._accounts().filter(account_id=account_id).values_list("password_hash").first()
        return None if row is None else row[0]

    def set_password_hash(self, account_id: str, password_hash: str) -> None:
        if self._accounts().filter(account_id=account_id).update(password_hash=password_hash) != 1:
            raise LookupError(account_id)

    def verify_identity(self, account_id: str, level: int, verified_at: datetime) -> None:
        """Mark the account VNeID-verified and raise (never lower) its level, in one UPDATE."""
        raised = Greatest("verification_level", Value(level))
        mine = self._accounts().filter(account_id=account_id)
        if mine.update(vneid_verified_at=verified_at, verification_level=raised) != 1:
            raise LookupError(account_id)

    def _accounts(self) -> QuerySet[PortalAccount]:
        return PortalAccount.objects.using(self._using)

    def _first(self, found: QuerySet[PortalAccount]) -> Account | None:
        """The first account of `found` with its former ID numbers, or None."""
        row = found.prefetch_related("numbers").first()
        if row is None:
            return None
        held = (number.number for number in row.numbers.all())
        return Account(
            **{name: getattr(row, name) for name in _COLUMNS},
            former_id_numbers=tuple(number for number in held if number != row.id_number),
        )
