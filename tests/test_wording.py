"""`regflow.Wording`: a host's texts over the catalogue, languages of its own, codes checked."""

from __future__ import annotations

import pytest

from phone_change import PHONE_CHANGE
from regflow import ERRORS, SHIPPED_FLOWS, Wording

OWN = "Mã OTP chưa đúng."


def test_the_catalogue_is_the_wording_until_a_host_changes_it() -> None:
    wording = Wording.of()

    for code, spec in ERRORS.items():
        assert wording.text(code, "vi") == spec.message.vi
        assert wording.text(code, "en") == spec.message.en
    assert wording.missing("vi") == []


def test_a_host_text_replaces_only_its_code_and_language() -> None:
    wording = Wording.of().with_texts({"otp.invalid": {"vi": OWN}})

    assert wording.text("otp.invalid", "vi") == OWN
    assert wording.text("otp.invalid", "en") == ERRORS["otp.invalid"].message.en
    assert wording.text("otp.expired", "vi") == ERRORS["otp.expired"].message.vi
    assert Wording.of().text("otp.invalid", "vi") != OWN  # the catalogue is not changed


def test_a_new_language_falls_back_where_it_has_no_text_and_says_where() -> None:
    wording = Wording.of().with_texts({"otp.invalid": {"km": "លេខកូដ OTP មិនត្រឹមត្រូវទេ។"}})

    assert wording.text("otp.invalid", "km") == "លេខកូដ OTP មិនត្រឹមត្រូវទេ។"
    assert wording.text("otp.expired", "km") == ERRORS["otp.expired"].message.vi
    assert "otp.expired" in wording.missing("km")
    assert "otp.invalid" not in wording.missing("km")
    english = Wording(wording.texts, fallback="en")
    assert english.text("otp.expired", "km") == ERRORS["otp.expired"].message.en


def test_a_host_flows_own_codes_can_be_worded() -> None:
    own_code = PHONE_CHANGE.errors[0].code

    with pytest.raises(ValueError, match=own_code):
        Wording.of().with_texts({own_code: {"vi": "…"}})  # not a code of the shipped flows
    wording = Wording.of(*SHIPPED_FLOWS, PHONE_CHANGE).with_texts({own_code: {"vi": OWN}})
    assert wording.text(own_code, "vi") == OWN


@pytest.mark.parametrize(
    ("texts", "refusal"),
    [
        ({"otp.invalidd": {"vi": OWN}}, "otp.invalidd"),  # a typo, or a renamed code
        ({"otp.invalid": {"vi": ""}}, "non-empty string"),
        ({"otp.invalid": {"vi": 1}}, "non-empty string"),
        ({"otp.invalid": "Mã OTP"}, "non-empty string"),
    ],
)
def test_texts_for_no_code_or_of_no_text_are_refused(texts: object, refusal: str) -> None:
    with pytest.raises(ValueError, match=refusal):
        Wording.of().with_texts(texts)  # type: ignore[arg-type]


def test_a_translators_toml_file_is_read() -> None:
    wording = Wording.of().with_toml('["otp.invalid"]\nvi = "Mã OTP chưa đúng."\n')

    assert wording.text("otp.invalid", "vi") == OWN
