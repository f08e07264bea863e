"""Analyses of a machine declaration: the static check, generated paths, transition coverage.

They read a `Declaration` (regflow's own by default: `regflow_declaration()`), so a host app
that extends the machine checks and tests its own declaration the same way::

    from regflow.analysis import check, regflow_declaration

    assert check(regflow_declaration()) == []
"""

from regflow._check import CHECKS, Finding, check, reachable_states
from regflow._coverage import TRANSITION_EVENT, TransitionCoverage
from regflow._declaration import OTHERWISE, Declaration, Transition, regflow_declaration
from regflow._paths import (
    PATH_KINDS,
    Path,
    generated_paths,
    shortest_paths,
    simple_paths,
    terminal_paths,
    transition_paths,
)

__all__ = [
    "CHECKS",
    "OTHERWISE",
    "PATH_KINDS",
    "TRANSITION_EVENT",
    "Declaration",
    "Finding",
    "Path",
    "Transition",
    "TransitionCoverage",
    "check",
    "generated_paths",
    "reachable_states",
    "regflow_declaration",
    "shortest_paths",
    "simple_paths",
    "terminal_paths",
    "transition_paths",
]
