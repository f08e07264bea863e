"""Step 5 of the seed: the password rule, the confirmation, and the account it creates."""

from __future__ import annotations

import sys
import unicodedata
from typing import TYPE_CHECKING

import attrs
import pytest

from regflow import Account, Engine, SetPassword, State, normalise_password
from regflow.adapters.argon2 import Argon2Hasher
from regflow.testing import CITIZEN, FakePorts

from .conftest import STRONG_PASSWORD, at_password

if TYPE_CHECKING:
    from collections.abc import Sequence
MIN_LENGTH = 8


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

    def find(
        self, id_number: str, bhxh_number: str, former_id_numbers: Sequence[str] = ()
    ) -> Account | None:
        self.finds += 1
        if self.finds == 1:
            return None
        return self.users.find(id_number, bhxh_number, former_id_numbers)

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


TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
#: Every Vietnamese vowel with every tone, composed: á ắ ấ é ế ... ỵ.
TONED = [unicodedata.normalize("NFC", v + t) for v in "aăâeêioôơuưy" for t in TONES]
CAPITALS = [letter.upper() for letter in TONED] + ["Đ"]
LOWER = [*TONED, "đ"]
#: The rule on characters, one row per decision: a password that breaks nothing else, with
#: the character in question added, and the codes the rule reports.
CHARACTERS = [
    *((f"mật-khẩu-1{c}", set()) for c in CAPITALS),  # Vietnamese capitals are upper case
    *((f"MẬT-KHẨU-1{c}", set()) for c in LOWER),  # and their lower case, lower case
    ("mật-khẩu-1", {"password.no_uppercase"}),
    ("MẬT-KHẨU-1", {"password.no_lowercase"}),
    # The digit asked for is 0-9; other digits count as special characters.
    ("Mật-khẩu-A", {"password.no_digit"}),
    *((f"Mật-khẩu-A{d}", {"password.no_digit"}) for d in "١٣५０５²"),
    *((f"MậtkhẩuA1{d}", set()) for d in "١٣५０５²"),
    ("MậtkhẩuA1", {"password.no_special"}),
    # Spaces are allowed, count as special characters, and are kept where they are.
    ("Mật khẩu A1", set()),
    (" Mật khẩu A1 ", set()),
    ("Mật\u00a0khẩu\u3000A1", set()),
    # Control and invisible characters are refused, wherever they are.
    *(
        (f"Mật-khẩu{c}A1", {"password.invalid_character"})
        for c in "\x00\t\n\r\x1b\x7f\x85\u200b\u200d\u202e\u2028\u2029\ufeff\ue000\u0378\ud800"
    ),
]  # fmt: skip


@pytest.mark.parametrize(("password", "codes"), CHARACTERS)
def test_each_kind_of_character_counts_as_decided(
    engine: Engine, ports: FakePorts, password: str, codes: set[str]
) -> None:
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword(password, password))

    assert set(view.error_codes()) == codes
    assert view.state is (State.SETTING_PASSWORD if codes else State.COMPLETED)


@pytest.mark.parametrize(
    ("typed", "confirmed"),
    [
        (unicodedata.normalize("NFD", STRONG_PASSWORD), STRONG_PASSWORD),
        (STRONG_PASSWORD, unicodedata.normalize("NFD", STRONG_PASSWORD)),
        ("Mật\u00a0khẩu 1A", "Mật khẩu\u20091A"),
        *(
            (f"Mật{space}khẩu 1A", "Mật khẩu 1A")
            for space in map(chr, range(sys.maxunicode + 1))
            if unicodedata.category(space) == "Zs"
        ),
    ],
)
def test_composed_and_decomposed_or_any_space_are_one_password(
    engine: Engine, ports: FakePorts, typed: str, confirmed: str
) -> None:
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword(typed, confirmed))

    assert view.state is State.COMPLETED, view.errors
    assert view.account is not None
    stored = ports.users.password_hashes[view.account.account_id]
    assert ports.hasher.verify(stored, normalise_password(typed))
    assert ports.hasher.verify(stored, normalise_password(confirmed))


def test_length_counts_letters_as_seen_not_code_points(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_password(engine, ports).flow_id
    seven = "Ấn-1ấBỗ"
    decomposed = unicodedata.normalize("NFD", seven)
    assert len(seven) < MIN_LENGTH <= len(decomposed)

    view = engine.send(flow_id, SetPassword(decomposed, decomposed))

    assert view.error_codes() == ("password.too_short",)


def test_spaces_are_never_trimmed(engine: Engine, ports: FakePorts) -> None:
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword("Mật khẩu A1 ", "Mật khẩu A1"))

    assert view.error_codes() == ("password.mismatch",)
