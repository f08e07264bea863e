"""Where the citizen's social-insurance record comes from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from regflow._domain import BhxhRecord


class BhxhRegistry(Protocol):
    """The BHXH database, as the flow needs it: one look-up by social-insurance number.

    Return the record's values as BHXH stores them; the engine normalises them at this
    boundary, in one place, before any rule reads them:

    - `phone`: any shape of a Vietnamese mobile (``0912 345 678``, ``0912.345.678``,
      ``+84912345678``) becomes E.164, as the form's phone does; a pre-2018 11-digit number
      (``0166 234 5678``) becomes the number it was converted to (``+84362345678``);
    - `full_name`: Unicode NFC, runs of white space one space, none at either end, the
      look-alikes of ' - Đ (``’``, ``‐``, ``Ð``) those letters, invisible characters
      dropped, and then a name the form takes (how names are then *compared* is
      `normalise_name`'s business);
    - `date_of_birth`: a `date`; text is read as the form reads it (``17/05/1990``,
      ``1990-05-17``);
    - `bhxh_number`, `id_number`, `former_id_numbers`: spaces, dots and hyphens dropped,
      ASCII digits left; an ID number has 9 (CMND) or 12 (CCCD) digits, and a 12-digit one
      must fit the record: a province code of Circular 07/2016/TT-BCA, a century digit and
      two year digits that say the record's year of birth. Former numbers lose duplicates
      and the current number, and are kept in ascending order.

    A value that cannot be normalised (a landline, a 10-digit ID number, an empty name, a name
    with digits or brackets, a CCCD of another birth year, a date of birth that is only a
    year, a record for another number) is an error in BHXH's data: the citizen is told
    ``bhxh.record_invalid`` (retryable, never a data mismatch, never counted towards a
    lock), the flow stays where it was, and the engine logs ``bhxh.record_invalid`` with
    the field and the reason, never the value. A registry that
    cannot put a value into a `BhxhRecord` at all raises `regflow.RecordValueError` (field,
    reason) from `lookup`, with the same outcome.
    """

    def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        """Return the record, or None when BHXH has no such number.

        Raise (anything) when BHXH cannot answer: the engine reports a retryable
        `bhxh.unavailable`, never a data mismatch.
        """
        ...


class AsyncBhxhRegistry(Protocol):
    """`BhxhRegistry` for `AsyncEngine`: the same look-up, awaited."""

    async def lookup(self, bhxh_number: str) -> BhxhRecord | None: ...
