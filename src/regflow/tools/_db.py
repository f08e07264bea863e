"""`regflow db verify`: what the stored flows would become under this release's flows.

It reads every stored flow (SQLite or PostgreSQL, as `regflow.bootstrap`'s `database=`
names them) through the same `Versions` the engine loads them with, and reports, per flow,
version and state, how many there are and where they continue: on their own version,
moved by a migration, or not at all (with the reason). It writes nothing: a move happens
only when the engine next loads the flow.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Protocol, TextIO

import attrs

from regflow.engine._compile import CompiledFlow
from regflow.engine._versions import Continues, Versions

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from regflow.declare import FlowSnapshot, FlowSpec


class ListedFlowStore(Protocol):
    """A flow store that can list what it holds (regflow's SQLite, PostgreSQL and memory
    stores can): an operator's tool, not a port the engine needs."""

    def snapshots(self) -> Iterator[FlowSnapshot]: ...


@attrs.frozen(order=True)
class Where:
    """A stored flow's place: its flow, version and state."""

    flow: str
    version: int
    state: str

    def __str__(self) -> str:
        return f"{self.flow} v{self.version} {self.state}"


@attrs.frozen
class StuckFlow:
    """A stored flow that cannot continue here, and why."""

    flow_id: str
    where: Where
    reason: str
    detail: str


@attrs.frozen
class Verification:
    """How many stored flows are where, where each group continues, and which cannot."""

    #: (where it is stored, where it continues, or None when it cannot) → how many.
    counts: Counter[tuple[Where, Where | None]]
    stuck: tuple[StuckFlow, ...]

    @property
    def ok(self) -> bool:
        return not self.stuck


def verify(snapshots: Iterable[FlowSnapshot], specs: Sequence[FlowSpec]) -> Verification:
    """Read each stored flow as an engine running `specs` would, changing nothing."""
    versions = Versions(CompiledFlow.of(spec) for spec in specs)
    counts: Counter[tuple[Where, Where | None]] = Counter()
    stuck: list[StuckFlow] = []
    for snapshot in snapshots:
        stored = Where(snapshot.flow, snapshot.flow_version, str(snapshot.state))
        resolved = versions.resolve(snapshot)
        if isinstance(resolved, Continues):
            moved = resolved.snapshot
            counts[stored, Where(moved.flow, moved.flow_version, str(moved.state))] += 1
        else:
            counts[stored, None] += 1
            stuck.append(StuckFlow(snapshot.flow_id, stored, resolved.reason, resolved.detail))
    return Verification(counts, tuple(stuck))


def write_report(verification: Verification, out: TextIO) -> None:
    """The verification as a table, then the flows that cannot continue, one a line."""
    print("flow\tversion\tstate\tflows\tcontinues on", file=out)
    for (stored, target), count in sorted(verification.counts.items(), key=_row_order):
        continues = "CANNOT CONTINUE" if target is None else f"v{target.version} {target.state}"
        line = f"{stored.flow}\tv{stored.version}\t{stored.state}\t{count}\t{continues}"
        print(line, file=out)
    for flow in verification.stuck:
        print(
            f"cannot continue: {flow.flow_id} ({flow.where}): {flow.reason}: {flow.detail}",
            file=out,
        )
    total = sum(verification.counts.values())
    print(f"{total} stored flow(s), {len(verification.stuck)} cannot continue", file=out)


def _row_order(row: tuple[tuple[Where, Where | None], int]) -> tuple[Where, str]:
    (stored, target), _ = row
    return stored, "" if target is None else str(target)


def run_verify(database: str | None, specs: Sequence[FlowSpec], out: TextIO) -> int:
    """`regflow db verify`: 0 when every stored flow can continue, 1 when one cannot."""
    from regflow._bootstrap import open_stores  # noqa: PLC0415 - opens an optional extra

    with open_stores(database) as stores:
        listed: ListedFlowStore = stores.flows  # type: ignore[assignment]  # regflow's stores list
        verification = verify(listed.snapshots(), specs)
    write_report(verification, out)
    return 0 if verification.ok else 1
