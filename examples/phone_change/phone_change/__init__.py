"""The tutorial's flow (docs/tutorial.md): a citizen changes their account's phone by OTP."""

from phone_change.flow import (
    PHONE_CHANGE,
    PhoneChangeContext,
    PhoneChangeState,
    RequestPhoneChange,
)
from phone_change.phones import (
    AccountPhones,
    InMemoryAccountPhones,
    PostgresAccountPhones,
    SqliteAccountPhones,
)

__all__ = [
    "PHONE_CHANGE",
    "AccountPhones",
    "InMemoryAccountPhones",
    "PhoneChangeContext",
    "PhoneChangeState",
    "PostgresAccountPhones",
    "RequestPhoneChange",
    "SqliteAccountPhones",
]
