"""`regflow demo`: the five screens in a terminal, scripted through stdin."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regflow.testing import FakeClock
from regflow.tools._cli import main
from regflow.tools._demo import FAST, run_demo

from .test_otp import wrong

ROOT = Path(__file__).resolve().parents[1]

if TYPE_CHECKING:
    from collections.abc import Iterable

DEMO = [sys.executable, "-m", "regflow", "demo"]
FORM = [
    "",
    "1",
    "1",
    "0100000001",
    "nguyễn văn mẫu",
    "15/01/1990",
    "0912000001",
    "001090000001",
    "",
]


def run(args: list[str], answers: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        DEMO + args,
        input="\n".join(answers) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def test_a_full_registration_with_answers_piped_on_stdin() -> None:
    demo = subprocess.Popen(  # noqa: S603 - our own CLI
        [*DEMO, "--lang", "en"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert demo.stdin is not None
    assert demo.stdout is not None
    demo.stdin.write("\n".join(FORM) + "\n")
    demo.stdin.flush()
    code = None
    while code is None:
        line = demo.stdout.readline()
        assert line, "the demo ended before sending an OTP"
        found = re.search(r"SMS → \+849\*+001: .*?(\d{6})", line)
        code = found.group(1) if found else None
    out, err = demo.communicate(f"{code}\nMật-khẩu-1A\nMật-khẩu-1A\n", timeout=60)

    assert demo.returncode == 0, err
    assert "Registered! Account of Nguyễn Văn Mẫu — verification level 2" in out
    assert "Mật-khẩu-1A" not in out


def test_the_account_exists_outcome_shows_the_three_remedies_in_vietnamese() -> None:
    answers = [
        "",
        "1",
        "1",
        "0100000003",
        "Lê Minh Hoạ",
        "01/12/2000",
        "0358000003",
        "079200000003",
        "",
    ]

    result = run([], answers)

    assert result.returncode == 0, result.stderr
    assert "Đã tồn tại tài khoản" in result.stdout
    for remedy in ("Quên mật khẩu", "Quầy dịch vụ", "Khiếu nại"):
        assert remedy in result.stdout


def test_field_errors_and_mismatch_are_shown_then_the_form_is_asked_again() -> None:
    answers = [*FORM[:3], "123", "", "", "", "", "", *FORM[3:6], "0912000002", *FORM[7:]]

    result = run(["--lang", "en"], answers)

    assert result.returncode == 1  # the answers ran out on the form asked a third time
    assert (
        "[Social insurance number] The social insurance number has exactly 10 digits."
        in result.stdout
    )
    assert "[Phone number] Enter your phone number." in result.stdout
    assert "[CMND/CCCD number] Enter your CMND/CCCD number." in result.stdout
    assert "4 tries left before the registration is locked." in result.stdout
    assert "The account cannot be registered." in result.stdout
    assert "Input ended" in result.stdout


def test_an_unsupported_choice_is_explained() -> None:
    result = run(["--lang", "en"], ["", "2", "1"])

    assert "This registration method is not supported." in result.stdout


def test_the_demo_citizens_are_listed_as_the_readme_shows_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--list"]) == 0

    out = capsys.readouterr().out
    assert out in (ROOT / "README.md").read_text(encoding="utf-8")
    assert out.splitlines()[0].endswith("| Account |")
    assert "| 0100000003 | Lê Minh Hoạ | 01/12/2000 | 0358000003 | 079200000003 | exists |" in out
    assert len(out.splitlines()) == 6  # the header, its rule, four citizens


RIGHT, WRONG = object(), object()


class Typist(io.StringIO):
    """Types the demo's answers; `RIGHT` and `WRONG` stand for the last code sent and one
    that differs from it, read off the screen when the prompt comes."""

    def __init__(self, answers: Iterable[str | object], screen: io.StringIO) -> None:
        super().__init__()
        self._answers = iter(answers)
        self._screen = screen

    def readline(self, _: int | None = -1) -> str:  # type: ignore[override]  # typeshed: bytes
        answer = next(self._answers, None)
        while callable(answer):  # something that happens before the next answer is typed
            answer()
            answer = next(self._answers, None)
        if answer is None:
            return ""
        if answer in (RIGHT, WRONG):
            code = re.findall(r"SMS → .*?(\d{6})", self._screen.getvalue())[-1]
            answer = code if answer is RIGHT else wrong(code)
        return f"{answer}\n"


def screens(lang: str, answers: Iterable[str | object], **clock: object) -> str:
    screen = io.StringIO()
    run_demo(lang, Typist(answers, screen), screen, **clock)  # type: ignore[arg-type]
    return screen.getvalue()


MISMATCH = [*FORM[3:6], "0912000002", *FORM[7:]]
WRONG_CODES = [*FORM[:3], *MISMATCH, *FORM[3:], WRONG, WRONG, WRONG, WRONG]


@pytest.mark.parametrize(
    ("lang", "warnings"),
    [
        ("vi", ["Còn 4 lần thử trước khi phiên đăng ký bị khóa."] * 2 + ["Còn 1 lần thử"]),
        ("en", ["4 tries left before the registration is locked."] * 2 + ["1 try left before"]),
    ],
)
def test_each_counted_miss_says_how_many_tries_are_left(lang: str, warnings: list[str]) -> None:
    out = screens(lang, WRONG_CODES)

    found = [line.strip(" ⚠") for line in out.splitlines() if line.startswith("  ⚠")]
    assert len(found) == 5  # one mismatch, four wrong codes
    assert found[0] == warnings[0]
    assert found[1] == warnings[1]
    assert found[-1].startswith(warnings[2])


@pytest.mark.parametrize(
    ("lang", "names"),
    [
        ("vi", ["[Mã số BHXH]", "[Số điện thoại]", "[Mã OTP]", "[Mật khẩu]", "[Nhập lại mật"]),
        ("en", ["[Social insurance number]", "[Phone number]", "[OTP]", "[Confirm password]"]),
    ],
)
def test_errors_name_their_field_as_the_screen_does(lang: str, names: list[str]) -> None:
    answers = [*FORM[:3], "123", *FORM[4:6], "", "", "", *FORM[3:], WRONG, RIGHT, "short", "other"]

    out = screens(lang, answers)

    for name in names:
        assert f"  ✗ {name}" in out
    for code_id in ("bhxh_number", "phone", "code", "password", "confirmation"):
        assert f"[{code_id}]" not in out


@pytest.mark.parametrize(("speed", "expired"), [(FAST, True), (1, False)])
def test_the_fast_clock_lets_the_otp_expire_in_seconds(speed: int, expired: bool) -> None:
    real = FakeClock()
    wait_five_seconds = lambda: real.advance(seconds=5)  # noqa: E731 - one step of the typist

    out = screens("en", [*FORM, wait_five_seconds, RIGHT], speed=speed, base_clock=real)

    assert ("The OTP has expired" in out) is expired


def test_the_fast_clock_is_an_option_of_the_demo_command() -> None:
    result = run(["--lang", "en", "--fast-clock"], FORM)

    assert "SMS → " in result.stdout
    assert "--fast-clock" in run(["--help"], []).stdout
