"""docs/deployment.md, run: each shell block as written, in bash, against a database and a
Redis of the tests; the app servers it starts serve the reference portal in production mode
until their probes answer."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)
POSTGRES_DSN = os.environ.get("REGFLOW_TEST_POSTGRES_DSN")
REDIS_URL = os.environ.get("REGFLOW_REDIS_URL")


def blocks(kind: str) -> list[str]:
    return [body for found, body in BLOCK.findall(DOC) if found == kind]


def block(kind: str, starting: str) -> str:
    """The one block of `kind` whose text starts with `starting`."""
    (found,) = [body for body in blocks(kind) if body.startswith(starting)]
    return found


def servers_or_skip() -> tuple[str, str]:
    if POSTGRES_DSN and REDIS_URL:
        return POSTGRES_DSN, REDIS_URL
    missing = "docs/deployment.md needs $REGFLOW_TEST_POSTGRES_DSN and $REGFLOW_REDIS_URL"
    if os.environ.get("CI") == "true":
        pytest.fail(missing)
    pytest.skip(missing)


def _database(admin: str, name: str) -> str:
    """A new database `name` on the test server, and its URL."""
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return admin.rsplit("/", 1)[0] + f"/{name}"


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment the page assumes: its database (migrated), a scratch one to restore
    into, Redis, the portal's production settings, and the tools on PATH."""
    admin, redis = servers_or_skip()
    suffix = secrets.token_hex(4)
    names = (f"regflow_deploy_{suffix}", f"regflow_restore_{suffix}")
    database, restore = (_database(admin, name) for name in names)
    tools = Path(sys.executable).parent
    python_path = [ROOT / "src", ROOT / "examples/portal", ROOT / "examples/phone_change"]
    found = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(map(str, python_path)),
        "REGFLOW_DATABASE": database,
        "RESTORE_DSN": restore,
        "REGFLOW_REDIS_URL": redis,
        "REGFLOW_PORTAL_SECRET_KEY": secrets.token_hex(32),
        "REGFLOW_PORTAL_OTP_SECRET": secrets.token_hex(32),
        "REGFLOW_PORTAL_PREVIOUS_OTP_SECRETS": secrets.token_hex(32),
        "REGFLOW_PORTAL_SMS_URL": "https://sms.example.invalid",
        "REGFLOW_PORTAL_DATABASE": database,
        "REGFLOW_PORTAL_PURGE_MINUTES": "0",
        "WEB_CONCURRENCY": "1",
        "HOME": str(tmp_path_factory.mktemp("home")),
    }
    found.pop("REGFLOW_PORTAL_DEV", None)
    yield found
    for name in names:
        _drop(admin, name)


def run(body: str, env: dict[str, str], cwd: Path | None = None) -> str:
    """A block of the page in bash, stopping at its first failing command; its stdout."""
    done = subprocess.run(  # noqa: S603 - the page's own commands
        ["bash", "-euo", "pipefail", "-c", body],  # noqa: S607 - bash from PATH, as a reader
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_install_names_extras_that_exist_and_that_ci_installs() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = re.search(r"regflow\[([\w,]+)\]", block("sh", "python3 -m venv"))
    assert named is not None
    in_dev = {
        extra
        for requirement in extras["dev"]
        for found in re.findall(r"^regflow\[([\w,]+)\]", requirement)
        for extra in found.split(",")
    }

    assert set(named.group(1).split(",")) <= in_dev & set(extras)


def test_the_secret_command_prints_32_random_bytes_in_hex(env: dict[str, str]) -> None:
    out = run(block("sh", "python3 -c"), env).strip()

    assert re.fullmatch(r"[0-9a-f]{64}", out)


def test_the_superuser_statements_are_the_ones_ci_runs() -> None:
    script = (ROOT / "scripts" / "postgres.sh").read_text()

    assert "CREATE ROLE %I LOGIN PASSWORD %L" in script
    assert 'createdb -p "$port" --owner "$role" "$db"' in script
    assert block("sql", "CREATE ROLE").splitlines() == [
        "CREATE ROLE regflow LOGIN PASSWORD 'from your secret store';",
        "CREATE DATABASE regflow OWNER regflow;",
    ]


def test_the_migration_creates_the_tables_then_finds_them_up_to_date(
    env: dict[str, str],
) -> None:
    migrate = block("sh", "regflow db migrate")

    assert run(migrate, env).splitlines()[0] == "created regflow_flows"
    assert run(migrate, env).splitlines() == [
        "up to date regflow_flows",
        "up to date regflow_accounts",
        "up to date regflow_id_numbers",
        "up to date regflow_outbox",
    ]


def test_redis_answers(env: dict[str, str]) -> None:
    assert run(block("sh", "redis-cli"), env).strip() == "PONG"


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_the_app_server_serves_the_portal_and_its_probes(
    server: str, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "gunicorn.conf.py").write_text(block("python", "# gunicorn.conf.py"))
    port = str(_free_port())
    served = env | {"PORT": port}
    process = subprocess.Popen(  # noqa: S603 - the page's own command
        ["bash", "-c", "exec " + block("sh", server)],  # noqa: S607 - as a reader runs it
        env=served,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_it_answers(f"http://127.0.0.1:{port}/healthz", process)
        out = run(block("sh", "curl"), served).splitlines()
        assert [line.replace(" ", "") for line in out] == ['{"status":"ok"}'] * 2
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=60)


def _wait_until_it_answers(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll `url` until it answers (the server is up) or the server exits (it failed)."""
    while process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our loopback server
                return
        except OSError:
            try:
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
    assert process.stderr is not None
    pytest.fail(f"the server exited: {process.stderr.read().decode()}")


def test_the_purge_job_of_the_crontab_runs(env: dict[str, str]) -> None:
    (line,) = block("text", "*/5").splitlines()
    command = line.split(maxsplit=5)[5]

    assert run(command, env).strip().isdigit()


def test_the_backup_restores_into_a_scratch_database(env: dict[str, str], tmp_path: Path) -> None:
    run(block("sh", "regflow db migrate"), env)

    with psycopg.connect(env["REGFLOW_DATABASE"]) as connection:
        accounts = connection.execute("SELECT count(*) FROM regflow_accounts").fetchone()

    out = run(block("sh", "pg_dump"), env, cwd=tmp_path)

    assert (tmp_path / "regflow.dump").stat().st_size > 0
    assert accounts is not None
    assert int(out) == accounts[0]  # the restored accounts, as many as were dumped
