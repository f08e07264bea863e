"""`regflow demo`: the seed's five screens in a terminal, on fictional BHXH data.

It drives the public engine API only, the way a portal's pages would, and reads plain lines
so that its answers can be piped in (``printf '...' | regflow demo``).
"""

from __future__ import annotations

import getpass
import secrets
import shutil
import sys
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from regflow._bootstrap import bootstrap, open_stores
from regflow._domain import ChooseMethod, SubmitForm
from regflow._errors import Message
from regflow.adapters.console import ConsoleSmsGateway
from regflow.adapters.demo import DEMO_PASSWORD_HASH, demo_accounts, demo_citizens
from regflow.adapters.memory import InMemoryBhxhRegistry
from regflow.adapters.system import SystemClock
from regflow.kits.otp import ConfirmOtp, ResendOtp
from regflow.kits.password import SetPassword
from regflow.machine import BHXH_REGISTRATION, STATES, State

if TYPE_CHECKING:
    import os
    from collections.abc import Callable
    from datetime import datetime

    from regflow._view import FlowView
    from regflow.engine import Engine
    from regflow.ports import Clock

M = Message
TEXT = {
    "title": M("CỔNG DỊCH VỤ CÔNG QUỐC GIA", "NATIONAL PUBLIC SERVICE PORTAL"),
    "home": M("[Trang chủ] Nhấn Enter để “Đăng ký”", "[Home] Press Enter to “Register”"),
    "choose": M("Chọn phương thức đăng ký", "Choose registration method"),
    "subject": M("Đối tượng: 1) Công dân  2) Tổ chức", "Registrant: 1) Citizen  2) Organisation"),
    "method": M("Phương thức: 1) Bảo hiểm xã hội", "Method: 1) Social insurance"),
    "form": M("Đăng ký bằng Bảo hiểm xã hội", "Register with social insurance"),
    "required": M("(* là trường bắt buộc)", "(* marks a required field)"),
    "otp": M(
        "Nhập mã OTP đã gửi tới {phone} rồi Enter để “Xác nhận” (hoặc r = “Gửi lại OTP”)",
        "Enter the OTP sent to {phone} and press Enter to “Confirm” (or r = “Resend OTP”)",
    ),
    "password_rule": M(
        "Mật khẩu: ít nhất 8 ký tự, có chữ thường, chữ hoa, chữ số và ký tự đặc biệt.",
        "Password: 8+ characters with lowercase, uppercase, digit and special character.",
    ),
    "tries_left": M(
        "Còn {n} lần thử trước khi phiên đăng ký bị khóa.",
        "{n} tries left before the registration is locked.",
    ),
    "try_left": M(
        "Còn {n} lần thử trước khi phiên đăng ký bị khóa.",
        "{n} try left before the registration is locked.",
    ),
    "completed": M(
        "Đăng ký thành công! Tài khoản của {name} — mức xác minh {level} (xác minh bởi BHXH).",
        "Registered! Account of {name} — verification level {level} (verified by BHXH).",
    ),
    "remedies": M("Bạn có thể:", "You can:"),
    "ended": M("Phiên đăng ký kết thúc: {state}.", "The registration ended: {state}."),
    "no_input": M("Hết dữ liệu nhập — dừng demo.", "Input ended — demo stopped."),
    "demo_data": M(
        "Dữ liệu BHXH mẫu (hư cấu): regflow demo --list",
        "Fictional BHXH demo data: regflow demo --list",
    ),
}
#: The names the screens give the fields, in prompts and beside their errors.
FIELD_NAMES = {
    "method": M("Phương thức đăng ký", "Registration method"),
    "bhxh_number": M("Mã số BHXH", "Social insurance number"),
    "full_name": M("Họ và tên", "Full name"),
    "date_of_birth": M("Ngày sinh", "Date of birth"),
    "phone": M("Số điện thoại", "Phone number"),
    "id_number": M("Số CMND/CCCD", "CMND/CCCD number"),
    "email": M("Email", "Email"),
    "code": M("Mã OTP", "OTP"),
    "password": M("Mật khẩu", "Password"),
    "confirmation": M("Nhập lại mật khẩu", "Confirm password"),
}
_FIELDS = ("bhxh_number", "full_name", "date_of_birth", "phone", "id_number", "email")
_OPTIONAL = frozenset({"email"})
_FORMATS = {"date_of_birth": " (dd/mm/yyyy)"}
#: The errors that use up one of the tries before a lock, and the view's count of what is left.
_COUNTED: dict[str, Callable[[FlowView], int | None]] = {
    "bhxh.data_mismatch": lambda view: view.details.mismatches_left,
    "otp.invalid": lambda view: view.otp_attempts_left,
}


#: How much faster than real time `regflow demo --fast-clock` runs: a minute a second.
FAST = 60


class EndOfInputError(Exception):
    """The piped answers ran out before the flow finished."""


class DemoClock:
    """The demo's `Clock`: `base` sped up `speed` times from the moment it is made, so that
    `--fast-clock` shows the OTP's five-minute expiry after five seconds of real time."""

    def __init__(self, base: Clock, speed: int = 1) -> None:
        self._base, self.speed = base, speed
        self._start = base.now()

    def now(self) -> datetime:
        return self._start + (self._base.now() - self._start) * self.speed

    def real_seconds_until(self, moment: datetime) -> int:
        """The whole seconds of real time (rounded up) a citizen waits for `moment`."""
        return max(0, int((moment - self.now()).total_seconds() / self.speed) + 1)


class Terminal:
    """Prompts and answers, in one language, on any pair of streams."""

    def __init__(self, lang: str, stdin: TextIO, stdout: TextIO, clock: DemoClock) -> None:
        self.lang, self._in, self._out, self._clock = lang, stdin, stdout, clock

    def text(self, key: str, **values: object) -> str:
        return TEXT[key].in_language(self.lang).format(**values)

    def field(self, name: str) -> str:
        """The screen's name for a field; a field regflow does not know shows as its id."""
        names = FIELD_NAMES.get(name)
        return names.in_language(self.lang) if names else name

    def prompt(self, name: str) -> str:
        """A field's prompt: its name, its format, and a star when it is required."""
        required = "" if name in _OPTIONAL else " *"
        return f"{self.field(name)}{_FORMATS.get(name, '')}{required}"

    def say(self, line: str = "") -> None:
        print(line, file=self._out, flush=True)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        if secret and self._in is sys.stdin and sys.stdin.isatty():
            return getpass.getpass(f"{prompt}: ")
        print(f"{prompt}: ", end="", file=self._out, flush=True)
        line = self._in.readline()
        if not line:
            raise EndOfInputError
        if not self._in.isatty():
            print("" if secret else line.rstrip("\n"), file=self._out)
        return line.rstrip("\r\n")

    def errors(self, view: FlowView) -> None:
        for error in view.errors:
            where = f"[{self.field(error.field)}] " if error.field else ""
            wait = ""
            if error.retry_at is not None:
                wait = f" ({self._clock.real_seconds_until(error.retry_at)} s)"
            self.say(f"  ✗ {where}{error.message.in_language(self.lang)}{wait}")
            count = _COUNTED.get(error.code)
            if count is not None:
                self.tries_left(count(view))

    def tries_left(self, left: int | None) -> None:
        """Warn before a lock, after an error that used up one of the tries."""
        if left:
            self.say(f"  ⚠ {self.text('try_left' if left == 1 else 'tries_left', n=left)}")


def demo_engine(
    stdout: TextIO,
    database: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
) -> Engine:
    """The demo's wiring: fictional BHXH data, one existing account, SMS on the terminal.

    The stores are the default SQLite ones, in `database` or else in a temporary file that
    goes away with the engine.
    """
    folder = None
    if database is None:
        folder = tempfile.mkdtemp(prefix="regflow-demo-")
        database = Path(folder, "demo.sqlite3")
    stores = open_stores(database)
    users = stores.users
    for account in demo_accounts():
        if users.find(account.id_number, account.bhxh_number) is None:
            users.add(account, DEMO_PASSWORD_HASH)
    engine = bootstrap(
        bhxh=InMemoryBhxhRegistry(demo_citizens()),
        sms=ConsoleSmsGateway(stdout),
        users=users,
        flows=stores.flows,
        otp_secret=secrets.token_bytes(32),
        clock=clock,
    )
    if folder is not None:
        weakref.finalize(engine, shutil.rmtree, folder, ignore_errors=True)
    return engine


#: The columns of `regflow demo --list`, the README's table of demo citizens.
_LIST_HEADER = ("BHXH number", "Full name", "Date of birth", "Phone", "CMT/CCCD", "Account")


def list_citizens(stdout: TextIO) -> None:
    """The demo citizens as the README's Markdown table, with who already has an account."""
    registered = {account.bhxh_number for account in demo_accounts()}
    rows = [_LIST_HEADER, tuple("---" for _ in _LIST_HEADER)]
    rows += [
        (
            record.bhxh_number,
            record.full_name,
            f"{record.date_of_birth:%d/%m/%Y}",
            f"0{record.phone.removeprefix('+84')}",
            record.id_number,
            "exists" if record.bhxh_number in registered else "—",
        )
        for record in demo_citizens()
    ]
    for row in rows:
        print(f"| {' | '.join(row)} |", file=stdout)


def run_demo(
    lang: str = "vi",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    speed: int = 1,
    base_clock: Clock | None = None,
) -> int:
    """Walk one registration; return the exit status (0 when the flow reached an outcome).

    The flow's time runs `speed` times faster than `base_clock` (the system's by default).
    """
    clock = DemoClock(base_clock or SystemClock(), speed)
    term = Terminal(lang, stdin or sys.stdin, stdout or sys.stdout, clock)
    engine = demo_engine(stdout or sys.stdout, clock=clock)
    try:
        view = _walk(term, engine)
    except (EndOfInputError, KeyboardInterrupt):
        term.say()
        term.say(term.text("no_input"))
        return 1
    _outcome(term, view)
    return 0


def _walk(term: Terminal, engine: Engine) -> FlowView:
    term.say(f"=== {term.text('title')} ===")
    term.ask(term.text("home"))
    view = engine.start(BHXH_REGISTRATION.name)
    screens: dict[str | None, Callable[[Terminal, Engine, FlowView], FlowView]] = {
        State.CHOOSING_METHOD: _choose_method,
        State.FILLING_FORM: _fill_form,
        State.DATA_MISMATCH: _fill_form,
        State.OTP_PENDING: _enter_otp,
        State.OTP_EXPIRED: _enter_otp,
        State.SETTING_PASSWORD: _set_password,
    }
    while view.state in screens:
        term.errors(view)
        view = screens[view.state](term, engine, view)
    return view


def _choose_method(term: Terminal, engine: Engine, view: FlowView) -> FlowView:
    term.say(f"\n--- {term.text('choose')} ---")
    subject = {"1": "citizen", "2": "organisation"}.get(term.ask(term.text("subject")), "?")
    method = {"1": "bhxh"}.get(term.ask(term.text("method")), "?")
    return engine.send(view.flow_id, ChooseMethod(subject, method))


def _fill_form(term: Terminal, engine: Engine, view: FlowView) -> FlowView:
    term.say(f"\n--- {term.text('form')} --- {term.text('required')}")
    term.say(f"    {term.text('demo_data')}")
    typed = {field: term.ask(term.prompt(field)) for field in _FIELDS}
    return engine.send(view.flow_id, SubmitForm(**typed))


def _enter_otp(term: Terminal, engine: Engine, view: FlowView) -> FlowView:
    answer = term.ask(term.text("otp", phone=view.phone_hint or "?")).strip()
    if answer.lower() == "r":
        return engine.send(view.flow_id, ResendOtp())
    return engine.send(view.flow_id, ConfirmOtp(answer))


def _set_password(term: Terminal, engine: Engine, view: FlowView) -> FlowView:
    term.say(term.text("password_rule"))
    password = term.ask(term.prompt("password"), secret=True)
    confirmation = term.ask(term.prompt("confirmation"), secret=True)
    return engine.send(view.flow_id, SetPassword(password, confirmation))


def _outcome(term: Terminal, view: FlowView) -> None:
    term.say()
    term.errors(view)
    if view.account is not None:
        account = view.account
        term.say(term.text("completed", name=account.full_name, level=account.verification_level))
        return
    label = STATES[State(view.state)].label.in_language(term.lang) if view.state else "?"
    term.say(term.text("ended", state=label))
    if view.details and view.details.remedies:
        term.say(term.text("remedies"))
        for remedy in view.details.remedies:
            term.say(
                f"  • {remedy.title.in_language(term.lang)}: "
                f"{remedy.description.in_language(term.lang)}"
            )
