"""The fictional BHXH citizens shipped for the demo (see the README's table)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib import resources
from typing import TYPE_CHECKING

from regflow._domain import Account, BhxhRecord
from regflow._errors import DuplicateAccountError

if TYPE_CHECKING:
    from regflow.ports import UserStore

DEMO_PASSWORD_HASH = "!demo-account-has-no-password"  # noqa: S105 - matches no password


def _rows() -> list[dict[str, object]]:
    text = resources.files("regflow.adapters").joinpath("demo_citizens.json").read_text("utf-8")
    rows: list[dict[str, object]] = json.loads(text)["citizens"]
    return rows


def demo_citizens() -> list[BhxhRecord]:
    """Every demo citizen as BHXH knows them."""
    return [
        BhxhRecord(
            bhxh_number=str(row["bhxh_number"]),
            full_name=str(row["full_name"]),
            date_of_birth=date.fromisoformat(str(row["date_of_birth"])),
            phone=str(row["phone"]),
            id_number=str(row["id_number"]),
        )
        for row in _rows()
    ]


def demo_accounts() -> list[Account]:
    """Accounts that already exist in the demo, so the "account exists" outcome can be tried."""
    created = datetime(2023, 6, 6, tzinfo=UTC)
    return [
        Account.for_citizen(
            record,
            account_id=f"demo-{record.bhxh_number}",
            email=None,
            created_at=created,
            flow_id="demo",
        )
        for record, row in zip(demo_citizens(), _rows(), strict=True)
        if row["has_account"]
    ]


def seed_demo_accounts(users: UserStore) -> None:
    """Add the demo's existing accounts to `users`, each with a hash no password matches;
    idempotent, so a host may call it on every start."""
    for account in demo_accounts():
        try:
            users.add(account, DEMO_PASSWORD_HASH)
        except DuplicateAccountError:
            continue
