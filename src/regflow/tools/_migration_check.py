"""The checks before a deploy that changes a flow: versions, fingerprints and migrations.

`migration_check` reads every declaration of one flow that a release knows (the versions
its engines run and any kept only to check), and proves, without running a flow, that
every flow stored on a version the engine still accepts can continue: each non-terminal
state of each older version either stays on its version (which the engine still runs) or
is moved by a migration on every context, to a state the new version can reach.
`fingerprint_check` compares the declarations with the fingerprints recorded for their
versions: a changed graph under an unchanged version is what strands stored flows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from regflow.tools._check import Finding, reachable_states
from regflow.tools._declaration import Declaration

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Mapping, Sequence
    from pathlib import Path

    from regflow.declare import FlowSpec
    from regflow.declare._migration import Migration


def migration_check(specs: Sequence[FlowSpec], *, retired: Collection[int] = ()) -> list[Finding]:
    """What would strand a stored flow of the flow whose versions `specs` are, when the
    engine runs every version but those `retired`; an empty list means none."""
    by_version = {spec.version: spec for spec in specs}
    findings = list(_clashes(specs))
    for spec in sorted(by_version.values(), key=lambda s: s.version):
        findings.extend(_migration_findings(spec, by_version))
        if spec.version != max(by_version):
            findings.extend(_old_version_findings(spec, by_version, set(retired)))
    return findings


def _clashes(specs: Sequence[FlowSpec]) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for spec in specs:
        if seen.setdefault(spec.version, spec.fingerprint) != spec.fingerprint:
            yield Finding(
                "version_clash",
                f"v{spec.version}",
                f"{spec.name} has two different declarations numbered v{spec.version}",
            )


def _migration_findings(spec: FlowSpec, by_version: Mapping[int, FlowSpec]) -> Iterator[Finding]:
    """A migration's old states must exist, and its targets be reachable in `spec`."""
    reachable = reachable_states(Declaration.from_spec(spec))
    for migration in spec.migrations:
        old = by_version.get(migration.from_version)
        where = f"{spec.name} v{spec.version}'s migration from v{migration.from_version}"
        if old is None:
            yield Finding(
                "migration_source_unknown",
                f"v{migration.from_version}",
                f"{where}: no declaration of v{migration.from_version} is given to check it",
            )
        for state in migration.states:
            if old is not None and state not in old.states:
                unknown = f"{where} maps {state!r}, which v{old.version} does not declare"
                yield Finding("migration_unknown_state", state, unknown)
            for dest in migration.dests(state):
                if dest not in reachable:
                    lost = f"{where} moves {state!r} to {dest!r}, which it cannot reach"
                    yield Finding("migration_target_unreachable", dest, lost)


def _old_version_findings(
    old: FlowSpec, by_version: Mapping[int, FlowSpec], retired: set[int]
) -> Iterator[Finding]:
    """Every non-terminal state of `old` has a target: its own version, still run, or a
    route of a newer version's migration that every context takes."""
    if old.version not in retired:
        return
    migrations = _migrations_from(old.version, by_version)
    if not migrations:
        yield Finding(
            "version_stranded",
            f"v{old.version}",
            f"{old.name} v{old.version} is retired and no newer version migrates from it: "
            "its stored flows cannot continue",
        )
        return
    for state in map(str, old.states):
        if state in old.terminal or any(m.always_moves(state) for m in migrations):
            continue
        routes = [route.guard_name for m in migrations for route in m.states.get(state, ())]
        why = f"only when {' or '.join(routes)}" if routes else "by no migration"
        yield Finding(
            "no_target",
            state,
            f"{old.name} v{old.version} is retired, and its flows in {state!r} are moved {why}",
        )


def _migrations_from(version: int, by_version: Mapping[int, FlowSpec]) -> list[Migration]:
    found = (spec.migration_from(version) for spec in by_version.values())
    return [migration for migration in found if migration is not None]


def fingerprint_check(
    specs: Sequence[FlowSpec], recorded: Mapping[str, Mapping[str, str]]
) -> list[Finding]:
    """Each declaration whose fingerprint differs from the one recorded for its version
    (``recorded[name][str(version)]``): its graph changed, and its version did not."""
    findings = []
    for spec in specs:
        known = recorded.get(spec.name, {}).get(str(spec.version))
        if known is not None and known != spec.fingerprint:
            findings.append(
                Finding(
                    "fingerprint_changed",
                    f"{spec.name} v{spec.version}",
                    f"{spec.name} v{spec.version} changed (fingerprint {known} → "
                    f"{spec.fingerprint}) but its version did not: give it version "
                    f"{spec.version + 1} and a migration from {spec.version}",
                )
            )
    return findings


def recorded_fingerprints(
    specs: Sequence[FlowSpec], recorded: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """`recorded` with the fingerprint of every version it does not hold yet (a recorded
    one is never replaced: `fingerprint_check` reports it instead)."""
    merged = {name: dict(versions) for name, versions in recorded.items()}
    for spec in specs:
        merged.setdefault(spec.name, {}).setdefault(str(spec.version), spec.fingerprint)
    return {name: dict(sorted(versions.items())) for name, versions in sorted(merged.items())}


def versioning_check(  # noqa: PLR0913 - `regflow check`'s options, all keyword-only
    spec: FlowSpec,
    versions: Sequence[FlowSpec],
    *,
    migration: bool,
    retired: Collection[int],
    fingerprints: Path | None,
    record: bool,
) -> list[Finding]:
    """`regflow check`'s findings about `spec`'s versions among `versions`: with
    `migration`, `migration_check`'s; with a `fingerprints` file, `fingerprint_check`'s
    against it (and with `record`, the file then holds every version's fingerprint)."""
    same = [s for s in versions if s.name == spec.name] or [spec]
    findings = migration_check(same, retired=retired) if migration else []
    if fingerprints is not None:
        recorded = json.loads(fingerprints.read_text()) if fingerprints.exists() else {}
        findings += fingerprint_check(same, recorded)
        if record:
            merged = recorded_fingerprints(same, recorded)
            fingerprints.write_text(json.dumps(merged, indent=2) + "\n")
    return findings
