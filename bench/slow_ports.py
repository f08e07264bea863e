"""Slow ports: flows in flight and the latency they add, AsyncEngine vs Engine on threads.

    .venv/bin/python bench/slow_ports.py            # 500 flows, BHXH answering after 200 ms
    .venv/bin/python bench/slow_ports.py --smoke    # 20 flows after 20 ms: numbers meaningless

Every flow is brought to the BHXH form first, and its form made; then all of them submit it
at once and each submit is timed, the look-up answering after `--latency`. The async engine
awaits an async BHXH (`asyncio.sleep`) on one loop, one thread; the sync engine runs the
submits on a thread pool of `--threads` workers (a threaded server's), its BHXH blocking in
`time.sleep`. Printed:
how many look-ups were in flight at once, and what p50/p99 of a submit adds to the port's own
latency, in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import structlog

from regflow import BHXH_REGISTRATION, AsyncEngine, ChooseMethod, Engine, State
from regflow.testing import FakePorts, as_async, form_for

if TYPE_CHECKING:
    from regflow import BhxhRecord, SubmitForm


class _Counted:
    """Counts the look-ups in flight, and the most at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = self.most = 0

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.now -= 1


class AsyncSlowBhxh:
    def __init__(self, ports: FakePorts, latency: float) -> None:
        self._ports, self._latency, self.in_flight = ports, latency, _Counted()

    async def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        with self.in_flight:
            await asyncio.sleep(self._latency)
        return self._ports.bhxh.lookup(bhxh_number)


class SyncSlowBhxh:
    def __init__(self, ports: FakePorts, latency: float) -> None:
        self._ports, self._latency, self.in_flight = ports, latency, _Counted()

    def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        with self.in_flight:
            time.sleep(self._latency)
        return self._ports.bhxh.lookup(bhxh_number)


def _wiring(ports: FakePorts) -> dict[str, Any]:
    return {
        "flows": ports.flows,
        "users": ports.users,
        "sms": ports.sms,
        "hasher": ports.hasher,
        "clock": ports.clock,
        "otp_secret": ports.otp_secret,
    }


def run_async(flows: int, latency: float) -> tuple[list[float], int]:
    ports = FakePorts.seeded()
    bhxh = AsyncSlowBhxh(ports, latency)
    engine = AsyncEngine(BHXH_REGISTRATION, bhxh=bhxh, **_wiring(ports))

    async def at_form() -> str:
        flow_id = (await engine.start("bhxh_registration")).flow_id
        await engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
        return flow_id

    async def submit(flow_id: str, form: SubmitForm, queued: float) -> float:
        view = await engine.send(flow_id, form)
        assert view.state is State.OTP_PENDING, view.errors  # noqa: S101 - a bench's sanity
        return time.perf_counter() - queued

    async def crowd() -> list[float]:
        ids = [await at_form() for _ in range(flows)]
        forms = [form_for() for _ in ids]  # the request bodies, made before the clock starts
        queued = time.perf_counter()  # as for the threads: every submit timed from one start
        submits = (submit(flow_id, form, queued) for flow_id, form in zip(ids, forms, strict=True))
        return list(await asyncio.gather(*submits))

    return asyncio.run(crowd()), bhxh.in_flight.most


def run_threads(flows: int, latency: float, threads: int) -> tuple[list[float], int]:
    ports = FakePorts.seeded()
    bhxh = SyncSlowBhxh(ports, latency)
    engine = Engine(BHXH_REGISTRATION, bhxh=bhxh, **_wiring(ports))
    ids = []
    for _ in range(flows):
        flow_id = engine.start("bhxh_registration").flow_id
        engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
        ids.append(flow_id)
    forms = {flow_id: form_for() for flow_id in ids}
    queued = time.perf_counter()

    def submit(flow_id: str) -> float:
        view = engine.send(flow_id, forms[flow_id])
        assert view.state is State.OTP_PENDING, view.errors  # noqa: S101 - a bench's sanity
        return time.perf_counter() - queued  # a threaded server's request waits in its queue

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(submit, ids)), bhxh.in_flight.most


def _report(name: str, seconds: list[float], most: int, latency: float) -> None:
    cuts = statistics.quantiles(seconds, n=100)
    p50, p99 = ((cut - latency) * 1000 for cut in (cuts[49], cuts[98]))
    print(f"{name:<28} in flight at once {most:>4}   p50 +{p50:8.1f} ms   p99 +{p99:8.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="20 flows, 20 ms: a smoke run")
    parser.add_argument("--flows", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.2, help="BHXH's answer time (s)")
    parser.add_argument("--threads", type=int, default=32, help="the threaded server's pool")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    flows, latency = (20, 0.02) if args.smoke else (args.flows, args.latency)
    print(f"{flows} flows submit the BHXH form at once; BHXH answers after {latency * 1000:.0f} ms")
    _report("AsyncEngine, one loop", *run_async(flows, latency), latency)
    threaded = f"Engine, {args.threads} threads"
    _report(threaded, *run_threads(flows, latency, args.threads), latency)
    _overhead(flows)


def _overhead(flows: int) -> None:
    """What the driver costs when the port answers at once: a submit's median, async ÷ sync,
    each submit timed on its own, the two engines alternated."""
    ports = FakePorts.seeded()
    sync = Engine(BHXH_REGISTRATION, bhxh=ports.bhxh, **_wiring(ports))
    driven = AsyncEngine(BHXH_REGISTRATION, bhxh=as_async(ports.bhxh), **_wiring(ports))
    times: dict[str, list[float]] = {"sync": [], "async": []}

    async def one(name: str) -> None:
        flow_id = (await driven.start("bhxh_registration")).flow_id
        await driven.send(flow_id, ChooseMethod("citizen", "bhxh"))
        form = form_for()
        began = time.perf_counter()
        if name == "async":
            await driven.send(flow_id, form)
        else:
            sync.send(flow_id, form)
        times[name].append(time.perf_counter() - began)

    async def alternate() -> None:
        for _ in range(flows):
            for name in times:
                await one(name)

    asyncio.run(alternate())
    sync_us, async_us = (statistics.median(times[name]) * 1e6 for name in ("sync", "async"))
    print(
        f"BHXH answering at once: a submit's median {sync_us:.0f} µs sync, {async_us:.0f} µs "
        f"async (ratio {async_us / sync_us:.2f})"
    )


if __name__ == "__main__":
    main()
