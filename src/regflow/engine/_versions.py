"""The versions of each flow an engine runs, and what becomes of a stored flow on its load.

A stored flow names its declaration and the version it began on. `Versions.resolve` finds
that version, or moves the flow onto the newest version that declares a migration from
it (step by step: 1 → 2 → 3), or says why the flow cannot continue here. It performs no
I/O, so the sync engine, an asyncio driver and `regflow db verify` all read a stored flow
through it alike; saving a moved flow is the caller's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from regflow.declare._snapshot import FlowSnapshot
from regflow.engine import codec
from regflow.engine._compile import CompiledFlow

if TYPE_CHECKING:
    from collections.abc import Iterable

    from regflow.declare._migration import Migration
    from regflow.declare._spec import FlowSpec

#: Why a stored flow cannot continue on this engine (`Stuck.reason`).
FLOW_UNKNOWN: Final = "flow_unknown"
VERSION_UNKNOWN: Final = "version_unknown"
STATE_UNKNOWN: Final = "state_unknown"
CONTEXT_INVALID: Final = "context_invalid"
MIGRATION_FAILED: Final = "migration_failed"


@attrs.frozen
class Continues:
    """A stored flow this engine runs: its compiled version and the snapshot typed by it.

    `moved_from` is the version the flow was stored on when this read migrated it (the
    caller saves the move), else None.
    """

    compiled: CompiledFlow
    snapshot: FlowSnapshot
    moved_from: int | None = None


@attrs.frozen
class Stuck:
    """A stored flow this engine cannot run: a stable `reason` and a detail for operators."""

    reason: str
    detail: str


class Versions:
    """The compiled declarations of one engine, by (name, version)."""

    def __init__(self, compiled: Iterable[CompiledFlow]) -> None:
        self._by_key: dict[tuple[str, int], CompiledFlow] = {}
        for flow in compiled:
            key = (flow.spec.name, flow.spec.version)
            if key in self._by_key:
                raise ValueError(f"two flows of one engine have the same name and version: {key}")
            self._by_key[key] = flow
        self._latest: dict[str, CompiledFlow] = {}
        #: (name, old version) → the newer versions migrating from it, newest first.
        self._moves: dict[tuple[str, int], list[tuple[CompiledFlow, Migration]]] = {}
        for flow in sorted(self._by_key.values(), key=lambda c: -c.spec.version):
            self._latest.setdefault(flow.spec.name, flow)
            for migration in flow.spec.migrations:
                key = (flow.spec.name, migration.from_version)
                self._moves.setdefault(key, []).append((flow, migration))

    @property
    def compiled(self) -> tuple[CompiledFlow, ...]:
        """Every compiled declaration, in the order the engine was given them."""
        return tuple(self._by_key.values())

    def latest(self, name: object) -> CompiledFlow | None:
        """The newest version of the flow `name`: where `Engine.start` begins one."""
        return self._latest.get(name) if isinstance(name, str) else None

    def resolve(self, snapshot: FlowSnapshot) -> Continues | Stuck:
        """The stored `snapshot` as this engine continues it, or why it cannot."""
        try:
            moved = self._moved(snapshot)
        except Exception as exc:  # noqa: BLE001 - a host's migration code, whatever it raises
            return Stuck(MIGRATION_FAILED, f"{type(exc).__name__} in a migration")
        compiled = self._runs(moved)
        if isinstance(compiled, Stuck):
            return compiled
        spec = compiled.spec
        moved_from = None if moved is snapshot else snapshot.flow_version
        typed_already = (
            isinstance(snapshot.context, spec.context) and type(snapshot.state) is not str
        )
        if moved_from is None and typed_already:
            return Continues(compiled, snapshot)
        try:
            typed = codec.typed(moved, spec)
        except Exception as exc:  # noqa: BLE001 - whatever cattrs makes of a stored context
            return Stuck(CONTEXT_INVALID, f"{type(exc).__name__} structuring the context")
        return Continues(compiled, typed, moved_from)

    def _runs(self, snapshot: FlowSnapshot) -> CompiledFlow | Stuck:
        """The compiled version `snapshot` is on, if it runs here and has its state."""
        compiled = self._by_key.get((snapshot.flow, snapshot.flow_version))
        if compiled is None:
            if snapshot.flow not in self._latest:
                return Stuck(FLOW_UNKNOWN, f"no flow {snapshot.flow!r} here")
            where = f"{snapshot.flow} v{snapshot.flow_version}"
            return Stuck(VERSION_UNKNOWN, f"{where} is not run here")
        spec = compiled.spec
        if str(snapshot.state) not in spec.states:
            where = f"{spec.name} v{spec.version}"
            return Stuck(STATE_UNKNOWN, f"{where} has no state {snapshot.state}")
        return compiled

    def _moved(self, snapshot: FlowSnapshot) -> FlowSnapshot:
        """`snapshot` moved along every migration that takes it (itself when none does)."""
        while (moved := self._move(snapshot)) is not None:
            snapshot = moved
        return snapshot

    def _move(self, snapshot: FlowSnapshot) -> FlowSnapshot | None:
        moves = self._moves.get((snapshot.flow, snapshot.flow_version))
        if not moves:
            return None
        context, state = codec.plain(snapshot.context), str(snapshot.state)
        for compiled, migration in moves:
            dest = migration.target(state, context)
            if dest is not None:
                return _moved_onto(compiled.spec, migration, snapshot, dest, context)
        return None


def _moved_onto(
    spec: FlowSpec,
    migration: Migration,
    snapshot: FlowSnapshot,
    dest: str,
    context: dict[str, object],
) -> FlowSnapshot:
    """The snapshot on `spec`'s version, in `dest`, its context upgraded; its path keeps
    the states the new version still declares, and ends in `dest`."""
    path = tuple(str(s) for s in snapshot.path if str(s) in spec.states)
    if dest != spec.initial and path[-1:] != (dest,):
        path = (*path, dest)
    return FlowSnapshot(
        flow_id=snapshot.flow_id,
        flow=snapshot.flow,
        flow_version=spec.version,
        version=snapshot.version,
        state=dest,
        created_at=snapshot.created_at,
        expires_at=snapshot.expires_at,
        updated_at=snapshot.updated_at,
        path=path,
        context=migration.context(dict(context)),
    )
