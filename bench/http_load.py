"""Registrations through HTTP: the reference portal under gunicorn and the JSON API under
uvicorn, on PostgreSQL and Redis.

    .venv/bin/python bench/http_load.py            # each server, 1 and 2 workers, 300 each
    .venv/bin/python bench/http_load.py --smoke    # each server, 1 worker, 4: numbers meaningless

The run starts its own redis-server and, unless ``REGFLOW_BENCH_POSTGRES_DSN`` names a
database (the run then works in a schema of its own, dropped afterwards), its own PostgreSQL
cluster, both on loopback; then, for each number of workers, the portal under gunicorn
(`http_portal.py`: production mode, argon2id, the Redis limiter), then the JSON API under
uvicorn (`http_api.py`: `AsyncEngine`, the async PostgreSQL stores, argon2id in threads, the
async Redis limiter), each with a load generator in a separate process: asyncio and httpx,
`--concurrency` citizens at once, each walking a whole registration (the portal: home, start,
method, form, the OTP read from the SMS sink, password; the API: the same as five JSON POSTs),
each request timed. Printed: registrations per second and p50/p99 per request, against the
argon2id bound measured in the same run (hashes per second from 1 and 2 processes).

(Not ``bench/http.py``: run as a script, that name would shadow the standard library's
``http`` package, which httpx imports.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable  # WALKS's and Server's types, at run time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import psycopg
import redis
import redis.asyncio

from cpu import process_cpu
from regflow import BhxhRecord
from regflow.adapters.argon2 import Argon2Hasher

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Mật-khẩu-2026"  # noqa: S105 - the benchmark citizens' password
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODE = re.compile(r"\b(\d{6})\b")
#: Requests a registration makes through each server: the portal's home page, then five
#: forms, each POST answered 303 and the next screen fetched; the API's start and four events,
#: each answer carrying the next screen.
REQUESTS = {"portal": 11, "api": 5}
#: The header the JSON API wants on every POST (`regflow_api.CSRF_HEADER`, not imported: the
#: load generator's process has only bench/ and src/ on its path).
API_CSRF_HEADER = "X-Regflow-Request"


#: Every code a citizen is sent, pushed on this list per phone number.
SMS_KEY = "bench:sms:{phone}"


def citizens(count: int) -> list[BhxhRecord]:
    """The benchmark's citizens: each its own BHXH and CCCD number and its own phone, so
    that the limits per phone and per number count one citizen each."""
    return [
        BhxhRecord(
            bhxh_number=f"{n:010d}",
            full_name="Nguyễn Văn An",
            date_of_birth=date(1990, 5, 17),
            phone=f"+8491{n:07d}",
            id_number=f"001090{n:06d}",  # a CCCD: Hà Nội, born in the 1900s, in (19)90
        )
        for n in range(1, count + 1)
    ]


# --- servers on loopback ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(ready: Any, what: str, seconds: float = 30) -> None:  # noqa: ANN401 - any probe
    """Poll `ready()` until it answers true; `what` names the server that did not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server of its own, nothing saved to disk; its URL."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server not found: install it (scripts/redis.sh does)")
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    with subprocess.Popen([*command, "--appendonly", "no"], stdout=subprocess.DEVNULL) as server:  # noqa: S603 - our own arguments
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait(lambda: redis.Redis.from_url(url).ping(), "redis-server")
            yield url
        finally:
            server.terminate()


@contextlib.contextmanager
def postgres_database(directory: Path) -> Iterator[str]:
    """A PostgreSQL URL whose search path is a schema of this run's: in the database of
    ``REGFLOW_BENCH_POSTGRES_DSN`` if set, else in a cluster started here."""
    given = os.environ.get("REGFLOW_BENCH_POSTGRES_DSN")
    with contextlib.ExitStack() as stack:
        dsn = given or stack.enter_context(postgres_cluster(directory))
        schema = f"regflow_http_{os.getpid()}"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in dsn else "?"
            yield f"{dsn}{separator}options=-c%20search_path%3D{schema}"
        finally:
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def postgres_cluster(directory: Path) -> Iterator[str]:
    """A throwaway cluster in `directory` (as user ``postgres`` when run as root: PostgreSQL
    refuses root), trusting loopback; its URL."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not binaries:
        raise RuntimeError("PostgreSQL not found: install it or set REGFLOW_BENCH_POSTGRES_DSN")
    data, port = directory / "pgdata", free_port()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(directory, "postgres")
    quiet = {"stdout": subprocess.DEVNULL, "check": True}

    def pg(tool: str, *arguments: str) -> None:
        subprocess.run([*as_user, str(binaries[-1] / tool), *arguments], **quiet)  # type: ignore[call-overload]  # noqa: S603, PLW1510 - our own arguments, checked

    pg("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync")
    settings = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1"
    pg("pg_ctl", "-D", str(data), "-o", settings, "-l", str(directory / "log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")


def portal_command(workers: int, threads: int, port: int) -> list[str]:
    """The portal under gunicorn's gthread workers."""
    command = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread"]
    command += ["--workers", str(workers), "--threads", str(threads), "--log-level", "warning"]
    return [*command, "--keep-alive", "5", "--bind", f"127.0.0.1:{port}", "http_portal:app"]


def api_command(workers: int, _threads: int, port: int) -> list[str]:
    """The JSON API under uvicorn (one event loop per worker: no threads to choose), each
    citizen's address taken from `X-Forwarded-For`, as behind a proxy on loopback."""
    command = [sys.executable, "-m", "uvicorn", "--workers", str(workers), "--no-access-log"]
    command += ["--log-level", "warning", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
    return [*command, "--timeout-keep-alive", "5", "--port", str(port), "http_api:app"]


@attrs.frozen
class Server:
    """How to serve one app: its command, the paths it imports from, a page that answers 200."""

    name: str
    command: Callable[[int, int, int], list[str]]
    paths: tuple[str, ...]
    ready: str


SERVERS = (
    Server("portal", portal_command, ("examples/portal", "examples/phone_change"), "/healthz"),
    Server("api", api_command, ("examples/api",), "/openapi.json"),
)


@contextlib.contextmanager
def serving(
    server: Server, workers: int, threads: int, env: dict[str, str]
) -> Iterator[tuple[str, int]]:
    """`server` on a free loopback port; its base URL and its main process's id."""
    port = free_port()
    path = os.pathsep.join(str(ROOT / part) for part in ("bench", *server.paths, "src"))
    command = server.command(workers, threads, port)
    with subprocess.Popen(command, env={**os.environ, **env, "PYTHONPATH": path}) as process:  # noqa: S603 - our own arguments
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(lambda: httpx.get(f"{url}{server.ready}").status_code == 200, server.name)
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(30)


def workers_cpu(main: int) -> float:
    """CPU seconds the workers under `main` have used, or `main`'s own when it has no
    children (uvicorn serves one worker in its main process) (Linux)."""
    children = Path(f"/proc/{main}/task/{main}/children").read_text().split()
    return sum(process_cpu(pid) for pid in children or [str(main)])


# --- the argon2id bound -------------------------------------------------------------------------


def _hashes(seconds: float) -> int:
    hasher, count, deadline = Argon2Hasher(), 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        hasher.hash(PASSWORD)
        count += 1
    return count


def hash_rate(processes: int, seconds: float) -> float:
    """argon2id hashes per second from `processes` processes hashing side by side."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_hashes, [0.2] * processes)  # each process imported and warm
        began = time.perf_counter()
        done = sum(pool.map(_hashes, [seconds] * processes))
        return done / (time.perf_counter() - began)


# --- the load generator (its own process) ------------------------------------------------------


def typed_form(record: BhxhRecord) -> dict[str, str]:
    """The BHXH form as the citizen types it."""
    return {
        "bhxh_number": record.bhxh_number,
        "full_name": record.full_name,
        "id_number": record.id_number,
        "date_of_birth": record.date_of_birth.strftime("%d/%m/%Y"),
        "phone": "0" + record.phone.removeprefix("+84"),
        "email": "",
    }


@attrs.define
class Citizen:
    """One citizen's browser: its cookies, the CSRF token of its session, its timings."""

    client: httpx.AsyncClient
    times: list[float]
    csrf: str = ""

    async def request(self, method: str, path: str, **options: Any) -> httpx.Response:  # noqa: ANN401 - httpx's
        began = time.perf_counter()
        answer = await self.client.request(method, path, **options)
        self.times.append(time.perf_counter() - began)
        return answer

    async def get(self, path: str) -> httpx.Response:
        return await self.request("GET", path)

    async def post(self, path: str, **form: str) -> str:
        """Submit a form and fetch the screen its 303 names; that screen's path."""
        answer = await self.request("POST", path, data={"csrf_token": self.csrf, **form})
        if answer.status_code != 303:
            raise RuntimeError(f"{path} answered {answer.status_code}")
        screen = answer.headers["Location"]
        await self.get(screen)
        return str(screen)

    async def call(self, path: str, **fields: str) -> dict[str, Any]:
        """POST `fields` to the JSON API as its front-end does; the flow it answers."""
        answer = await self.request("POST", path, json=fields)
        if answer.status_code not in {200, 201}:
            raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text}")
        flow: dict[str, Any] = answer.json()
        return flow


#: Every request's time, in the load generator's process.
TIMES: list[float] = []


@attrs.frozen
class Load:
    """What every citizen shares: the portal's URL, one connection pool (a client's own
    would build an SSL context per citizen, milliseconds of CPU), the SMS sink."""

    base: str
    transport: httpx.AsyncHTTPTransport
    sink: redis.asyncio.Redis


def browser(load: Load, number: int, **headers: str) -> Citizen:
    """Citizen `number`'s browser: its own client address (`X-Forwarded-For`), its own
    cookies, the shared connections."""
    address = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
    headers["X-Forwarded-For"] = address
    # Not closed when done: closing a client closes its transport, which every citizen shares.
    client = httpx.AsyncClient(base_url=load.base, headers=headers, transport=load.transport)
    return Citizen(client, TIMES)


async def texted_code(load: Load, record: BhxhRecord) -> str:
    """The OTP the citizen's phone received, from the SMS sink."""
    sent = await load.sink.blpop([SMS_KEY.format(phone=record.phone)], timeout=30)  # type: ignore[misc]
    if sent is None:
        raise RuntimeError(f"no text reached {record.phone} in 30 s")
    code = _CODE.search(sent[1].decode())
    return code.group(1) if code else ""


async def register(load: Load, record: BhxhRecord, number: int) -> bool:
    """Walk one registration through the portal; whether it reached its result screen."""
    citizen = browser(load, number)
    match = _CSRF.search((await citizen.get("/")).text)
    citizen.csrf = match.group(1) if match else ""
    await citizen.post("/register")
    await citizen.post("/register/method", subject="citizen", method="bhxh")
    await citizen.post("/register/details", **typed_form(record))
    await citizen.post("/register/otp", code=await texted_code(load, record))
    done = await citizen.post("/register/password", password=PASSWORD, confirmation=PASSWORD)
    return done.endswith("/register/result")


async def register_by_api(load: Load, record: BhxhRecord, number: int) -> bool:
    """Walk one registration through the JSON API; whether its flow completed."""
    citizen = browser(load, number, **{API_CSRF_HEADER: "1"})
    events = f"/flows/{(await citizen.call('/flows/bhxh_registration'))['id']}/events"
    await citizen.call(f"{events}/choose_method", subject="citizen", method="bhxh")
    await citizen.call(f"{events}/submit_form", **typed_form(record))
    await citizen.call(f"{events}/confirm_otp", code=await texted_code(load, record))
    done = await citizen.call(f"{events}/set_password", password=PASSWORD, confirmation=PASSWORD)
    return bool(done["state"] == "completed")


#: How each server is walked through.
WALKS: dict[str, Callable[[Load, BhxhRecord, int], Awaitable[bool]]] = {
    "portal": register,
    "api": register_by_api,
}


@attrs.frozen
class Batch:
    """Citizens `first`… (`count` of them) registered by `walk`, `concurrency` at once."""

    walk: str
    first: int
    count: int
    concurrency: int


async def generate(base: str, sink_url: str, batch: Batch) -> None:
    """Register `batch`'s citizens; print the wall time, the registrations that reached
    their result and every request's time."""
    records = citizens(batch.first + batch.count)[batch.first :]
    gate, transport = asyncio.Semaphore(batch.concurrency), httpx.AsyncHTTPTransport()
    load = Load(base, transport, redis.asyncio.Redis.from_url(sink_url))
    walk = WALKS[batch.walk]

    async def one(number: int, record: BhxhRecord) -> bool:
        async with gate:
            return await walk(load, record, batch.first + number)

    began, cpu = time.perf_counter(), time.process_time()
    done = await asyncio.gather(*(one(n, record) for n, record in enumerate(records)))
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    await load.sink.aclose()
    await transport.aclose()
    print(json.dumps({"seconds": seconds, "cpu": cpu, "done": sum(done), "times": TIMES}))


def load(url: str, sink_url: str, batch: Batch) -> dict[str, Any]:
    """Run the load generator in a process of its own; what it printed."""
    command = [sys.executable, __file__, "--generate", url, "--sink", sink_url]
    command += ["--walk", batch.walk, "--first", str(batch.first), "--count", str(batch.count)]
    command += ["--concurrency", str(batch.concurrency)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT / "src")])}
    out = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, env=env)  # noqa: S603 - our own arguments
    result: dict[str, Any] = json.loads(out.stdout)
    if result["done"] != batch.count:
        failed = batch.count - result["done"]
        raise RuntimeError(f"{failed} of {batch.count} registrations failed")
    return result


# --- the run ------------------------------------------------------------------------------------


@attrs.frozen
class Measured:
    server: str
    workers: int
    rate: float
    p50_ms: float
    p99_ms: float
    #: The load generator's CPU time ÷ the run's wall time: the share of a core it took.
    generator_cpu: float
    #: CPU time per registration (ms): the server's workers (argon2id included), the load
    #: generator, the PostgreSQL backends serving the workers, the redis-server.
    server_cpu_ms: float
    generator_cpu_ms: float
    postgres_cpu_ms: float
    redis_cpu_ms: float


def backends(database: str) -> list[int]:
    """The PostgreSQL backends of the servers' pools: every other connection to this run's
    database (the machine's other databases are other people's)."""
    with psycopg.connect(database) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def redis_cpu(url: str) -> float:
    """CPU seconds the redis-server has used (its own count: INFO cpu)."""
    info: dict[str, Any] = redis.Redis.from_url(url).info("cpu")  # type: ignore[assignment]
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@attrs.frozen
class Meters:
    """CPU seconds used so far by the server's workers, each of its PostgreSQL backends (by
    process id: a pool may open one during the run) and Redis."""

    workers: float
    postgres: dict[int, float]
    redis: float

    @classmethod
    def read(cls, main: int, env: dict[str, str]) -> Meters:
        pids = backends(env["REGFLOW_BENCH_DATABASE"])
        postgres = {pid: process_cpu(str(pid)) for pid in pids}
        return cls(workers_cpu(main), postgres, redis_cpu(env["REGFLOW_BENCH_REDIS_URL"]))

    def postgres_since(self, before: Meters) -> float:
        return sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in self.postgres.items())


def measure(
    server: Server, workers: int, args: argparse.Namespace, env: dict[str, str], first: int
) -> Measured:
    """Registrations per second through `workers` workers, after a warm-up of a few."""
    warm, sink = 2 * workers, env["REGFLOW_BENCH_REDIS_URL"]
    concurrency = args.concurrency or 4 * workers
    with serving(server, workers, args.threads, env) as (url, main):
        load(url, sink, Batch(server.name, first, warm, concurrency))
        before = Meters.read(main, env)
        result = load(url, sink, Batch(server.name, first + warm, args.count, concurrency))
        after = Meters.read(main, env)
    cuts = statistics.quantiles(result["times"], n=100)
    seconds, per = result["seconds"], 1e3 / args.count
    return Measured(
        server.name,
        workers,
        args.count / seconds,
        cuts[49] * 1e3,
        cuts[98] * 1e3,
        result["cpu"] / seconds,
        (after.workers - before.workers) * per,
        result["cpu"] * per,
        after.postgres_since(before) * per,
        (after.redis - before.redis) * per,
    )


@attrs.frozen
class Stored:
    """What the run left in PostgreSQL: accounts, and bytes per account and per completed
    flow (tables, TOAST and indexes: `pg_total_relation_size`, as saved, not vacuumed)."""

    accounts: int
    account_bytes: float
    flow_bytes: float


_SIZES = (
    "SELECT (SELECT count(*) FROM regflow_accounts), (SELECT count(*) FROM regflow_flows), "
    "pg_total_relation_size('regflow_accounts') + pg_total_relation_size('regflow_id_numbers'), "
    "pg_total_relation_size('regflow_flows')"
)


def stored(database: str) -> Stored:
    with psycopg.connect(database) as connection:
        row = connection.execute(_SIZES).fetchone()
    accounts, flows, account_bytes, flow_bytes = row or (0, 0, 0, 0)
    return Stored(accounts, account_bytes / max(accounts, 1), flow_bytes / max(flows, 1))


@contextlib.contextmanager
def servers(citizen_count: int) -> Iterator[dict[str, str]]:
    """Redis and PostgreSQL of this run's; the portal's ``REGFLOW_BENCH_*`` settings."""
    with contextlib.ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        redis_url = stack.enter_context(redis_server())
        yield {
            "REGFLOW_BENCH_DATABASE": stack.enter_context(postgres_database(directory)),
            "REGFLOW_BENCH_REDIS_URL": redis_url,
            "REGFLOW_BENCH_CITIZENS": str(citizen_count),
            "REGFLOW_BENCH_SECRET_KEY": secrets.token_hex(32),
            "REGFLOW_BENCH_OTP_SECRET": secrets.token_hex(32),
        }


def run(args: argparse.Namespace) -> None:
    """Each server and number of workers in turn, the argon2id bound before and after
    (averaged), and a check that every registration stored its account."""
    worker_counts = (1,) if args.smoke else (1, 2)
    total = len(SERVERS) * sum(2 * w + args.count for w in worker_counts)
    with servers(total) as env:
        before = {w: hash_rate(w, args.bound_seconds) for w in worker_counts}
        measured, first = [], 0
        for server in SERVERS:
            for workers in worker_counts:
                measured.append(measure(server, workers, args, env, first))
                first += 2 * workers + args.count
        bounds = {w: (before[w] + hash_rate(w, args.bound_seconds)) / 2 for w in before}
        left = stored(env["REGFLOW_BENCH_DATABASE"])
    if left.accounts != total:
        raise RuntimeError(f"{left.accounts} accounts stored, {total} expected")
    report(measured, bounds, args)
    print(
        f"PostgreSQL after {total} registrations: {left.account_bytes:.0f} bytes per account "
        f"(its row and ID number, indexes included), {left.flow_bytes:.0f} per completed flow"
    )


def report(measured: list[Measured], bounds: dict[int, float], args: argparse.Namespace) -> None:
    load_average = ", ".join(f"{avg:.1f}" for avg in os.getloadavg())
    requests = ", ".join(f"{name} {count}" for name, count in REQUESTS.items())
    print(
        f"{args.count} registrations per run (requests each: {requests}), {os.cpu_count()} "
        f"CPUs, load average {load_average}; gunicorn gthread, {args.threads} thread(s) per "
        "worker; uvicorn, one event loop per worker, argon2id in 2 threads"
    )
    for w, bound in bounds.items():
        print(f"argon2id bound, {w} process(es): {bound:.2f} hashes/s")
    for m in measured:
        print(
            f"{m.server}, {m.workers} worker(s): {m.rate:.2f} registrations/s "
            f"({m.rate / bounds[m.workers]:.1%} of the {m.workers}-process bound); "
            f"per request p50 {m.p50_ms:.1f} ms, p99 {m.p99_ms:.1f} ms; CPU per registration: "
            f"workers {m.server_cpu_ms:.1f} ms (argon2id alone: {1e3 / bounds[1]:.1f} ms), "
            f"load generator {m.generator_cpu_ms:.1f} ms, PostgreSQL {m.postgres_cpu_ms:.1f} ms, "
            f"Redis {m.redis_cpu_ms:.1f} ms; the load generator took {m.generator_cpu:.0%} "
            "of a core"
        )
    for server in SERVERS:
        one, two = (
            [m for m in measured if m.server == server.name and m.workers == w] for w in (1, 2)
        )
        if one and two:
            print(
                f"{server.name}, 2 workers ÷ 1: {two[0].rate / one[0].rate:.2f}× "
                f"(the bound's 2 processes ÷ 1: {bounds[2] / bounds[1]:.2f}×)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="4 registrations, 1 worker each")
    parser.add_argument("--count", type=int, default=300, help="registrations per run")
    parser.add_argument("--concurrency", type=int, help="citizens at once (4 per worker)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--bound-seconds", type=float, default=5.0, help="argon2id alone")
    generator = parser.add_argument_group("the load generator's own process")
    generator.add_argument("--generate", metavar="URL", help=argparse.SUPPRESS)
    generator.add_argument("--sink", help=argparse.SUPPRESS)
    generator.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    generator.add_argument("--walk", choices=WALKS, default="portal", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        batch = Batch(args.walk, args.first, args.count, args.concurrency)
        asyncio.run(generate(args.generate, args.sink, batch))
        return
    if args.smoke:
        args.count, args.bound_seconds = 4, 0.5
    run(args)


if __name__ == "__main__":
    main()
