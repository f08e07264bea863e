"""Step 5 of the seed: the password rule, the confirmation, and the account it creates."""

from __future__ import annotations

import attrs
import pytest

from regflow import Account, Engine, SetPassword, State
from regflow.adapters.argon2 import Argon2Hasher
from regflow.testing import CITIZEN, FakePorts

from .conftest import STRONG_PASSWORD, at_password


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Ab1!xyz", {"password.too_short"}),
        ("abcdefg1!", {"password.no_uppercase"}),
        ("ABCDEFG1!", {"password.no_lowercase"}),
        ("Abcdefgh!", {"password.no_digit"}),
        ("Abcdefgh1", {"password.no_special"}),
        ("", {"password.too_short", "password.no_lowercase", "password.no_uppercase",
              "password.no_digit", "password.no_special"}),
        ("Aa1!" + "x" * 125, {"password.too_long"}),
        ("Abcdef1!\ud800", {"password.invalid_character"}),
        # a megabyte is judged by its length alone, not read through every rule
        ("a" * 1_000_000, {"password.too_long"}),
        ("\ud800" * 1_000_000, {"password.too_long"}),
    ],
)  # fmt: skip
def test_each_broken_part_of_the_rule_has_its_own_code(
    engine: Engine, ports: FakePorts, password: str, codes: set[str]
) -> None:
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword(password, password))

    assert view.state is State.SETTING_PASSWORD
    assert set(view.error_codes()) == codes
    assert {e.field for e in view.errors} == {"password"}
    assert ports.users.accounts == {}


def test_the_confirmation_must_equal_the_password(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD + " "))

    assert view.error_codes() == ("password.mismatch",)
    assert view.errors[0].field == "confirmation"


def test_wrong_types_are_refused_not_raised(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword(None, 12))  # type: ignore[arg-type]

    assert view.state is State.SETTING_PASSWORD
    assert "password.mismatch" in view.error_codes()


def test_a_valid_password_creates_a_level_2_account_from_the_bhxh_record(
    engine: Engine, ports: FakePorts
) -> None:
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert view.state is State.COMPLETED
    assert view.ok
    account = view.account
    assert isinstance(account, Account)
    assert account.verification_level == 2
    assert account.source == "bhxh"
    assert (account.id_number, account.bhxh_number) == (CITIZEN.id_number, CITIZEN.bhxh_number)
    assert (account.full_name, account.phone) == (CITIZEN.full_name, CITIZEN.phone)
    assert ports.users.accounts == {account.account_id: account}
    stored_hash = ports.users.password_hashes[account.account_id]
    assert STRONG_PASSWORD not in stored_hash
    assert ports.hasher.verify(stored_hash, STRONG_PASSWORD)
    assert not hasattr(account, "password_hash")


def test_a_completed_flow_accepts_nothing_more(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_password(engine, ports).flow_id
    engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    again = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert again.state is State.COMPLETED
    assert again.error_codes() == ("flow.finished",)
    assert len(ports.users.accounts) == 1


def test_an_account_created_meanwhile_by_another_flow_wins_the_race(
    engine: Engine, ports: FakePorts
) -> None:
    first = at_password(engine, ports).flow_id
    second = at_password(engine, ports).flow_id
    engine.send(first, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    view = engine.send(second, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert view.state is State.ACCOUNT_EXISTS
    assert len(ports.users.accounts) == 1


class RacingUserStore:
    """Finds nothing, then loses the insert: another flow created the account in between."""

    def __init__(self, ports: FakePorts) -> None:
        self.users = ports.users
        self.finds = 0

    def find(self, id_number: str, bhxh_number: str) -> Account | None:
        self.finds += 1
        if self.finds == 1:
            return None
        return self.users.find(id_number, bhxh_number)

    def add(self, account: Account, password_hash: str) -> None:
        self.users.add(attrs.evolve(account, account_id="rival", flow_id="rival"), "rival-hash")
        self.users.add(account, password_hash)


def test_losing_the_insert_race_at_the_last_step_ends_in_account_exists(
    ports: FakePorts,
) -> None:
    engine = ports.engine()
    flow_id = at_password(engine, ports).flow_id
    ports.users = RacingUserStore(ports)  # type: ignore[assignment]
    racing = ports.engine()

    view = racing.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert view.state is State.ACCOUNT_EXISTS
    assert [a.account_id for a in ports.users.users.accounts.values()] == ["rival"]  # type: ignore[attr-defined]


def test_the_default_hasher_is_argon2id_with_owasp_parameters() -> None:
    hasher = Argon2Hasher()

    encoded = hasher.hash(STRONG_PASSWORD)

    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify(encoded, STRONG_PASSWORD)
    assert not hasher.verify(encoded, STRONG_PASSWORD + "x")
    assert not hasher.verify("not a hash", STRONG_PASSWORD)
