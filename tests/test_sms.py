"""The OTP goes out as operators require: a brandname, an approved template, one GSM-7 segment."""

from __future__ import annotations

import io
from datetime import timedelta
from importlib import resources
from typing import TYPE_CHECKING

import attrs
import pytest
from structlog.testing import capture_logs

from regflow import Policy, SmsMessage, SmsTemplate, load_sms_templates
from regflow.adapters.console import ConsoleSmsGateway
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import at_form

if TYPE_CHECKING:
    from pathlib import Path

OTP = Policy().otp_sms
#: Characters of the GSM 03.38 basic table, one septet each, with no diacritic.
GSM7_PLAIN = "@£$¥Ø\nø\rΔ_ΦΓΛΩΠΨΣΘΞÆæß !\"#¤%&'()*+,-./09:;<=>?¡AZ§¿az"
#: Vietnamese letters, the extension table (two septets) and characters GSM-7 lacks.
NOT_GSM7_PLAIN = "ăâđêôơưĐạảãáàầẩẫấậếệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹýÀéÄÜñ€[]{}|~^\\`\t"


def template(text: str, **params: int) -> SmsTemplate:
    return SmsTemplate(id="t-1", brandname="DVCQG", text=text, params=params)


def longest(of: SmsTemplate) -> str:
    return of.render({name: "9" * length for name, length in of.params.items()})


def test_the_shipped_otp_template_fits_one_segment_with_its_longest_values() -> None:
    text = longest(OTP)

    assert len(text) <= 160
    assert text.isascii()
    assert text.startswith("DVCQG: ")
    assert set(OTP.params) == {"code", "minutes"}
    assert OTP.params["code"] == 6


def test_the_shipped_file_is_the_policys_default() -> None:
    shipped = load_sms_templates(resources.files("regflow").joinpath("sms_templates.toml"))

    assert shipped == {"otp": OTP}


@pytest.mark.parametrize("character", GSM7_PLAIN)
def test_a_character_of_the_basic_gsm_alphabet_fits(character: str) -> None:
    assert template("DVCQG {code}" + character, code=6).text.endswith(character)


@pytest.mark.parametrize("character", NOT_GSM7_PLAIN)
def test_a_diacritic_or_a_character_outside_the_basic_alphabet_is_refused(character: str) -> None:
    literal = character.replace("{", "{{").replace("}", "}}")
    with pytest.raises(ValueError, match=r"GSM 03\.38 basic alphabet without diacritics"):
        template("DVCQG {code}" + literal, code=6)


def test_the_check_counts_every_parameter_at_its_longest() -> None:
    words = "DVCQG: " + "x" * 140 + " {code}"  # 154 characters with a 6-digit code

    assert len(longest(template(words, code=6))) == 154
    assert len(longest(template(words, code=12))) == 160  # still one segment
    with pytest.raises(ValueError, match="161 characters with its longest parameters"):
        template(words, code=13)


@pytest.mark.parametrize(
    ("text", "params", "problem"),
    [
        ("Ma OTP: {code}", {"code": 6}, "does not name its brand"),
        ("DVCQG: {code} {name}", {"code": 6}, r"no parameter \{name\} declared"),
        ("DVCQG: {code}", {"code": 6, "minutes": 2}, r"parameters \['minutes'\] unused"),
        ("DVCQG: {code:>8}", {"code": 6}, "takes no format"),
        ("DVCQG: {code!r}", {"code": 6}, "takes no format"),
        ("DVCQG: {}", {}, r"no parameter \{\} declared"),
        ("DVCQG: {code}", {"code": 0}, "maximum length must be ≥ 1"),
    ],
)
def test_a_template_that_operators_would_not_approve_is_refused(
    text: str, params: dict[str, int], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        template(text, **params)


@pytest.mark.parametrize("brandname", ["", "TWELVE-CHARS", "DVCQG!", "ĐVCQG", " DVCQG"])
def test_a_brandname_operators_would_not_register_is_refused(brandname: str) -> None:
    with pytest.raises(ValueError, match="brandname"):
        attrs.evolve(OTP, brandname=brandname)


def test_the_brandname_is_a_setting_and_the_text_is_checked_again_with_it() -> None:
    mine = attrs.evolve(OTP, brandname="MY PORTAL", id="8841")

    assert longest(mine).startswith("MY PORTAL: ")
    wordy = template("{brandname}: " + "x" * 145 + " {code}", code=6)  # 159 characters
    with pytest.raises(ValueError, match="does not fit one GSM-7 segment"):
        attrs.evolve(wordy, brandname="LONGER NAME")


def test_the_registration_text_is_what_the_provider_approves() -> None:
    assert OTP.registration_text("{{{name}:{max_length}}}") == (
        "DVCQG: Ma OTP dang ky tai khoan Cong Dich vu cong Quoc gia cua ban la {code:6}. "
        "Ma co hieu luc {minutes:2} phut. Tuyet doi KHONG cung cap ma nay cho bat ky ai."
    )


@pytest.mark.parametrize(
    "params",
    [
        {"code": "123456"},
        {"code": "123456", "minutes": "5", "name": "An"},
        {"code": "1234567", "minutes": "5"},
        {"code": "12345ă", "minutes": "5"},
        {"code": 123456, "minutes": "5"},
    ],
)
def test_a_message_whose_parameters_do_not_fit_its_template_is_refused(
    params: dict[str, object],
) -> None:
    with pytest.raises(ValueError, match="regflow-otp-v1"):
        SmsMessage(OTP, params)


def test_a_message_shows_no_code_in_its_repr() -> None:
    message = SmsMessage(OTP, {"code": "246810", "minutes": "5"})

    assert "246810" in message.text
    assert "246810" not in repr(message)


def test_the_engine_sends_the_policys_template_and_logs_neither_code_nor_text() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine()
    flow_id = at_form(engine).flow_id

    with capture_logs() as logs:
        engine.send(flow_id, form_for())

    (sent,) = ports.sms.sent
    assert sent.phone == CITIZEN.phone
    assert sent.message.template == OTP
    assert sent.message.params == {"code": ports.sms.last_code(), "minutes": "5"}
    assert ports.sms.last_code() not in repr(logs)
    assert sent.text not in repr(logs)


def test_a_hosts_own_template_file_is_loaded_checked_and_sent(tmp_path: Path) -> None:
    path = tmp_path / "templates.toml"
    path.write_text(
        'brandname = "DVCQG"\n'
        '[templates.otp]\nid = "TPL-8841"\ntext = "{brandname}: {code} la ma OTP cua ban."\n'
        "params = { code = 6 }\n",
        encoding="utf-8",
    )
    (mine,) = load_sms_templates(path, brandname="CONGDVC").values()
    ports = FakePorts.seeded()
    engine = ports.engine(policy=Policy(otp_sms=mine))

    engine.send(at_form(engine).flow_id, form_for())

    assert ports.sms.sent[0].text == f"CONGDVC: {ports.sms.last_code()} la ma OTP cua ban."
    assert ports.sms.sent[0].message.template.id == "TPL-8841"


def test_a_hosts_template_file_that_does_not_fit_fails_loudly_at_load(tmp_path: Path) -> None:
    path = tmp_path / "templates.toml"
    path.write_text(
        'brandname = "DVCQG"\n[templates.otp]\nid = "TPL-1"\n'
        'text = "DVCQG: Mã OTP của bạn là {code}"\nparams = { code = 6 }\n',
        encoding="utf-8",
    )

    with pytest.raises(ValueError, match=r"templates.toml: SMS template 'otp': .*'ã'"):
        load_sms_templates(path)


@pytest.mark.parametrize(
    "content",
    [
        '[templates.otp]\nid = "TPL-1"\ntext = "DVCQG {code}"\nparams = { code = 6 }\n',
        'brandname = "DVCQG"\n[templates.otp]\nid = "TPL-1"\n',
    ],
    ids=["no brandname", "no text"],
)
def test_a_template_file_that_leaves_something_out_fails_loudly(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "templates.toml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ValueError, match="SMS template 'otp'"):
        load_sms_templates(path)


@pytest.mark.parametrize(
    "content",
    ['brandname = "DVCQG"\ntemplates = "otp"\n', 'brandname = "DVCQG"\ntemplates = [1]\n'],
    ids=["text", "array"],
)
def test_a_template_file_whose_templates_are_no_table_fails_with_a_value_error(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "templates.toml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ValueError, match="templates"):
        load_sms_templates(path)


@pytest.mark.parametrize(
    ("otp_sms", "otp_ttl", "problem"),
    [
        (template("DVCQG {minutes}", minutes=2), timedelta(minutes=5), r"takes \{code\}"),
        (
            template("DVCQG {code} {name}", code=6, name=5),
            timedelta(minutes=5),
            r"takes \{code\}",
        ),
        (template("DVCQG {code}", code=4), timedelta(minutes=5), "cannot carry"),
        (OTP, timedelta(minutes=100), "cannot carry"),
    ],
)
def test_a_policy_refuses_an_otp_template_that_cannot_carry_its_values(
    otp_sms: SmsTemplate, otp_ttl: timedelta, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Policy(otp_sms=otp_sms, otp_ttl=otp_ttl)


def test_the_console_gateway_prints_the_text_to_a_masked_phone() -> None:
    screen = io.StringIO()

    ConsoleSmsGateway(screen).send(
        CITIZEN.phone, SmsMessage(OTP, {"code": "135790", "minutes": "5"})
    )

    assert "SMS → +849*****678: DVCQG: Ma OTP" in screen.getvalue()
    assert "135790" in screen.getvalue()
