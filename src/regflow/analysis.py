"""Analyses of a flow's declaration: the static check, generated paths, transition coverage.

They read a `Declaration`, which any `FlowSpec` gives (`Declaration.from_spec`), so a
host app checks and tests its own flows the same way as regflow's (`host_hooks` lists the
edges a host's veto can take, docs/hooks.md)::

    from regflow import PASSWORD_RECOVERY
    from regflow.analysis import Declaration, check, regflow_declaration

    assert check(regflow_declaration()) == []  # the BHXH registration
    assert check(Declaration.from_spec(PASSWORD_RECOVERY)) == []
"""

from regflow.machine import BHXH_REGISTRATION
from regflow.tools._check import CHECKS, Finding, HookPoint, check, host_hooks, reachable_states
from regflow.tools._coverage import TRANSITION_EVENT, TransitionCoverage
from regflow.tools._declaration import OTHERWISE, Declaration, Transition
from regflow.tools._migration_check import fingerprint_check, migration_check
from regflow.tools._paths import (
    PATH_KINDS,
    Path,
    generated_paths,
    shortest_paths,
    simple_paths,
    terminal_paths,
    transition_paths,
)


def regflow_declaration() -> Declaration:
    """regflow's first flow, the BHXH registration (`regflow.machine`), as a `Declaration`."""
    return Declaration.from_spec(BHXH_REGISTRATION)


__all__ = [
    "CHECKS",
    "OTHERWISE",
    "PATH_KINDS",
    "TRANSITION_EVENT",
    "Declaration",
    "Finding",
    "HookPoint",
    "Path",
    "Transition",
    "TransitionCoverage",
    "check",
    "fingerprint_check",
    "generated_paths",
    "host_hooks",
    "migration_check",
    "reachable_states",
    "regflow_declaration",
    "shortest_paths",
    "simple_paths",
    "terminal_paths",
    "transition_paths",
]
