"""The portal as operators run it: `python -m regflow_portal` in production mode, over real HTTP.

One server process for the module, configured the way docs/operations.md says (hex secrets,
an SMS gateway URL); the tests send it what an attacker would and read its raw answers.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest

import phone_change
import regflow
import regflow_portal

from .client import OFF_SITE_TARGETS

if TYPE_CHECKING:
    from collections.abc import Iterator

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PORT = re.compile(r"portal\.serving.*\bport=(\d+)")
MiB = 1024 * 1024
START_TIMEOUT = 60


def portal_env(**changes: str | None) -> dict[str, str]:
    """The environment of a production portal (a gateway that is never reached: no form is
    submitted), with `changes` applied (None removes a variable)."""
    packages = (regflow_portal, phone_change, regflow)
    paths = [Path(package.__file__ or "").parents[1] for package in packages]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGFLOW_PORTAL_")}
    env |= {
        "PYTHONPATH": os.pathsep.join(map(str, paths)),
        "PYTHONUNBUFFERED": "1",
        "REGFLOW_PORTAL_SECRET_KEY": os.urandom(32).hex(),
        "REGFLOW_PORTAL_OTP_SECRET": os.urandom(32).hex(),
        "REGFLOW_PORTAL_SMS_URL": "http://127.0.0.1:9",
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def command() -> list[str]:
    return [sys.executable, "-m", "regflow_portal", "--port", "0"]


@attrs.frozen
class Running:
    process: subprocess.Popen[str]
    port: int

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path: str) -> tuple[http.client.HTTPResponse, str]:
        """The answer to a GET of `path` (its headers and status) and its body."""
        connection = self.connect()
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read().decode()
        connection.close()
        return answer, body

    def peak_memory(self) -> int:
        """The process's peak resident memory (VmHWM), in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        assert match is not None
        return int(match.group(1)) * 1024


@pytest.fixture(scope="module")
def portal() -> Iterator[Running]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command(), env=portal_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if match := _PORT.search(_ANSI.sub("", line)):
            break
    else:
        pytest.fail(f"the portal did not start: {''.join(seen)}")
    yield Running(process, int(match.group(1)))
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


def test_a_proper_production_configuration_starts_and_serves(portal: Running) -> None:
    answer, page = portal.get("/")

    assert answer.status == 200
    assert "Cổng Dịch vụ công Quốc gia" in page
    assert "MÔI TRƯỜNG PHÁT TRIỂN" not in page


@pytest.mark.parametrize("target", OFF_SITE_TARGETS)
def test_the_language_switch_never_leaves_the_site_over_http(portal: Running, target: str) -> None:
    answer, _ = portal.get(f"/lang/en?next={target}")

    assert answer.status == 302
    assert answer.getheader("Location") == "/"
    assert answer.getheader("Set-Cookie", "").count("pwned") == 0


@pytest.mark.parametrize("path", ["/", "/register/otp", "/static/portal.css", "/no-such-page"])
def test_every_answer_carries_the_security_headers_and_no_server_banner(
    portal: Running, path: str
) -> None:
    answer, _ = portal.get(path)

    assert answer.getheader("Server") is None
    assert answer.getheader("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    policy = answer.getheader("Content-Security-Policy", "")
    assert "form-action 'self'" in policy
    assert "base-uri 'none'" in policy


def test_a_malformed_request_gets_no_server_banner_either(portal: Running) -> None:
    with socket.create_connection(("127.0.0.1", portal.port), timeout=30) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")  # 431
        head = raw.recv(65536).decode("latin-1")

    assert head.startswith("HTTP/1.1 431")
    assert "\r\nserver:" not in head.lower()


def test_a_body_declared_too_large_is_refused_before_it_is_read(portal: Running) -> None:
    connection = portal.connect()
    connection.putrequest("POST", "/register")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(400 * MiB))
    connection.endheaders(b"full_name=" + b"x" * 1000)  # the rest never comes
    answer = connection.getresponse()

    assert answer.status == 413
    assert "Dữ liệu gửi lên quá lớn" in answer.read().decode()
    assert answer.getheader("Server") is None
    connection.close()


def send_body(portal: Running, size: int, *, chunked: bool) -> int | None:
    """POST `size` bytes of form to the portal; its status, or None if it hung up first."""
    block = b"%x\r\n%s\r\n" % (MiB, b"x" * MiB) if chunked else b"x" * MiB
    connection = portal.connect()
    try:
        connection.putrequest("POST", "/register")
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(size))
        connection.endheaders()
        for _ in range(size // MiB):
            connection.send(block)
        if chunked:
            connection.send(b"0\r\n\r\n")
        answer = connection.getresponse()
        answer.read()
    except (BrokenPipeError, ConnectionResetError):
        return None  # refused before the body was all sent: fine too
    else:
        return answer.status
    finally:
        connection.close()


@pytest.mark.parametrize(("size", "chunked"), [(400 * MiB, False), (100 * MiB, True)])
def test_a_huge_body_is_refused_with_413_and_memory_stays_bounded(
    portal: Running, size: int, chunked: bool
) -> None:
    before = portal.peak_memory()

    status = send_body(portal, size, chunked=chunked)

    assert portal.peak_memory() - before < 64 * MiB  # it was 867 MB for 400 MB before the limit
    assert status in (413, None)
    assert portal.get("/")[0].status == 200


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"REGFLOW_PORTAL_SECRET_KEY": os.urandom(16).hex()}, "REGFLOW_PORTAL_SECRET_KEY"),
        ({"REGFLOW_PORTAL_SECRET_KEY": "correct horse battery staple!!!!"}, "must be hex"),
        ({"REGFLOW_PORTAL_SMS_URL": None}, "REGFLOW_PORTAL_SMS_URL"),
    ],
)
def test_production_refuses_to_start_with_unsafe_settings(
    change: dict[str, str | None], refusal: str
) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        command(),
        env=portal_env(**change),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )

    assert done.returncode == 2
    assert refusal in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])  # noqa: S104 - refused, never bound
def test_development_mode_refuses_to_serve_beyond_this_machine(host: str) -> None:
    """Its inbox shows every OTP at /dev/sms and its clock buttons end every flow: a
    development portal bound to a public address would hand both to the network."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [*command(), "--host", host],
        env=portal_env(REGFLOW_PORTAL_DEV="1"),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )

    assert done.returncode == 2
    assert "loopback" in done.stderr
    assert "Traceback" not in done.stderr
