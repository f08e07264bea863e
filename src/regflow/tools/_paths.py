"""Paths through a machine: the test cases the declaration itself implies.

A path is a sequence of declared transitions, each a step "send this trigger, with the
payload that makes this rule decide, and land in that state". Rejections (``dest`` None)
keep the flow where it is, so simple paths never contain them; `transition_paths` adds
one shortest path ending in every declared transition, rejections included.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Final

import attrs

from regflow.tools._declaration import Declaration, Transition

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@attrs.frozen
class Path:
    """Transitions taken one after the other, starting in the declaration's initial state."""

    steps: tuple[Transition, ...]

    @property
    def states(self) -> tuple[str, ...]:
        """The state after each step (a rejection repeats the state it stays in)."""
        return tuple(step.target for step in self.steps)

    @property
    def end(self) -> str | None:
        return self.steps[-1].target if self.steps else None

    @property
    def name(self) -> str:
        """A readable id, e.g. for pytest: ``submit_form[data_mismatch]>…``."""
        return ">".join(f"{step.trigger}[{step.outcome}]" for step in self.steps) or "start"

    def __str__(self) -> str:
        return " ; ".join(str(step) for step in self.steps) or "(start)"


def _moves(declaration: Declaration, source: str) -> Iterator[Transition]:
    """The edges out of `source` that change state (terminal states have none)."""
    if source in declaration.terminal:
        return
    for edge in declaration.outgoing(source):
        if edge.dest is not None and edge.dest != source:
            yield edge


def simple_paths(declaration: Declaration, to: str) -> list[Path]:
    """Every path from the initial state to `to` that visits no state twice."""
    found: list[Path] = []

    def walk(state: str, taken: tuple[Transition, ...], visited: frozenset[str]) -> None:
        if state == to and taken:
            found.append(Path(taken))
            return
        for edge in _moves(declaration, state):
            assert edge.dest is not None  # noqa: S101 - _moves yields state changes only
            if edge.dest not in visited:
                walk(edge.dest, (*taken, edge), visited | {edge.dest})

    walk(declaration.initial, (), frozenset({declaration.initial}))
    return found


def terminal_paths(declaration: Declaration) -> list[Path]:
    """Every simple path from the start to every terminal state."""
    return [
        path
        for state in declaration.states
        if state in declaration.terminal
        for path in simple_paths(declaration, state)
    ]


def shortest_paths(declaration: Declaration) -> dict[str, Path]:
    """One shortest path to every reachable state (the empty path to the initial one).

    Of the edges into a new state, the one without guards (the plain way) goes first: the
    paths built on it then run through the flow as most citizens meet it, not through an
    exception a rule makes (a probed BHXH number, say) that later steps need not hold for.
    """
    paths = {declaration.initial: Path(())}
    queue = deque([declaration.initial])
    while queue:
        state = queue.popleft()
        for edge in sorted(_moves(declaration, state), key=lambda edge: bool(edge.guards)):
            assert edge.dest is not None  # noqa: S101 - _moves yields state changes only
            if edge.dest not in paths:
                paths[edge.dest] = Path((*paths[state].steps, edge))
                queue.append(edge.dest)
    return paths


def transition_paths(declaration: Declaration) -> list[Path]:
    """For every declared transition from a reachable, active state: the shortest path
    to its source, then that transition. Running them all exercises every transition."""
    to_state = shortest_paths(declaration)
    return [
        Path((*to_state[edge.source].steps, edge))
        for edge in declaration.transitions
        if edge.source in to_state and edge.source not in declaration.terminal
    ]


def _shortest(declaration: Declaration) -> list[Path]:
    return [path for path in shortest_paths(declaration).values() if path.steps]


#: The kinds of path `generated_paths` (and the plugin's ``regflow_paths`` marker) knows.
PATH_KINDS: Final[dict[str, Callable[[Declaration], list[Path]]]] = {
    "terminal": terminal_paths,
    "shortest": _shortest,
    "transitions": transition_paths,
}


def generated_paths(declaration: Declaration, kind: str = "all") -> list[Path]:
    """The paths of one kind, or of every kind without repeats for ``"all"``."""
    kinds = PATH_KINDS if kind == "all" else {kind: PATH_KINDS[kind]}
    paths = (path for generate in kinds.values() for path in generate(declaration))
    return list(dict.fromkeys(paths))
