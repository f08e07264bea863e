"""A hasher that fails is a retryable outcome like any port's, never an exception."""

from __future__ import annotations

from regflow import ERRORS, SetPassword, State
from regflow.testing import STRONG_PASSWORD, FakePorts

from .conftest import at_password


class BrokenHasher:
    """A `PasswordHasher` whose next `hash` raises (argon2 out of memory, say)."""

    def __init__(self) -> None:
        self.failures_left = 1

    def hash(self, password: str) -> str:
        if self.failures_left:
            self.failures_left -= 1
            raise MemoryError("argon2: cannot allocate")
        return f"ok:{len(password)}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"ok:{len(password)}"


def test_a_failing_hasher_is_reported_retryable_and_a_retry_completes() -> None:
    ports = FakePorts.seeded()
    ports.hasher = BrokenHasher()  # type: ignore[assignment]  # any PasswordHasher will do
    engine = ports.engine()
    flow_id = at_password(engine, ports).flow_id
    password = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)

    failed = engine.send(flow_id, password)

    assert failed.state is State.SETTING_PASSWORD
    assert failed.error_codes() == ("hasher.unavailable",)
    assert failed.retryable
    assert ports.users.accounts == {}
    assert engine.send(flow_id, password).state is State.COMPLETED


def test_the_hasher_code_is_catalogued_in_both_languages() -> None:
    spec = ERRORS["hasher.unavailable"]
    assert spec.retryable
    assert spec.message.vi
    assert spec.message.en
