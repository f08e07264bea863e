"""Diagrams of any declared flow (a `FlowSpec`; by default the BHXH registration).

`mermaid()` and `dot()` return text and need nothing beyond regflow; `render()` lays the
DOT text out as SVG or PNG with the `graphviz` package (``pip install 'regflow[diagrams]'``)
and Graphviz's ``dot`` program. Given a `FlowSnapshot`, every function draws that one flow:
the way it went (`FlowSnapshot.path`) highlighted and its current state marked.

Edges that move the flow are arrows labelled with the trigger and, in brackets, the business
rules (guards) that must hold; refusals (transitions that keep the state and report an
error) are listed inside their state, marked ✗, so the arrows show only the way forward.
A guard that is a host hook (a host's veto decides it, docs/hooks.md) is marked ⚑.
Given `moves_to`, a newer version of the flow, each state a migration of that version moves
flows out of lists where they go, marked ⇢ (docs/versioning.md).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal

import attrs

from regflow.declare import EXPIRE, FlowSpec
from regflow.declare._rules import UNNAMED, HostHook, guard_name
from regflow.engine._compile import CompiledFlow
from regflow.machine import BHXH_REGISTRATION

if TYPE_CHECKING:
    import enum
    from collections.abc import Iterator

    from regflow.declare import FlowSnapshot
    from regflow.engine._compile import Edge

    State = enum.StrEnum

__all__ = [
    "FORMATS",
    "DiagramToolMissingError",
    "Format",
    "Lang",
    "Traffic",
    "dot",
    "mermaid",
    "render",
    "state_label",
    "trigger_label",
]

Lang = Literal["vi", "en"]
Format = Literal["mermaid", "dot", "svg", "png"]
FORMATS: Final[tuple[Format, ...]] = ("mermaid", "dot", "svg", "png")

_RUNNING: Final = {"vi": "Phiên đang diễn ra", "en": "Flow in progress"}
_REFUSED: Final = "✗"
_TAKEN: Final = "✔"
_MOVES: Final = "⇢"
#: Marks a guard that is a host hook (`regflow.declare.host_veto`): a host's code decides it.
_HOST_HOOK: Final = "⚑"


class DiagramToolMissingError(RuntimeError):
    """SVG or PNG was asked for, but the `graphviz` package or the `dot` program is missing."""


@attrs.frozen(kw_only=True)
class Traffic:
    """How often each declared edge was taken (`edges`, by source, the state after it,
    trigger and rule, as the audit line names them) and each state entered (`entries`):
    `dot` and `render` draw an arrow's width by its count, label it with the count and its
    share of the flows that entered its source, and count each refusal in its box
    (`regflow report` counts them from the audit log)."""

    edges: Mapping[tuple[str, str, str, str | None], int]
    entries: Mapping[str, int]

    def took(self, edge: Edge) -> int:
        """How often `edge` was taken (a refusal leaves the flow in its source)."""
        dest = edge.source if edge.dest is None else edge.dest
        return self.edges.get((edge.source.value, dest.value, edge.trigger, edge.rule), 0)

    def share(self, source: str, count: int) -> str:
        """`count` and its share of the entries into `source`, as a label prints it."""
        entered = self.entries.get(source, 0)
        return f"{count:,} ({count / entered:.0%})" if entered else f"{count:,}"


@attrs.frozen
class _Arrow:
    source: State
    dest: State
    labels: tuple[str, ...]
    timed: bool  # fired by the flow's lifetime, not by the citizen
    taken: bool
    count: int | None = None  # the flows that took it, when drawn with `Traffic`


@attrs.frozen
class _Picture:
    """The diagram before it is written in one notation."""

    flow: FlowSpec
    title: str
    lang: Lang
    boxes: dict[State, tuple[str, ...]]  # state -> its label, then its refusals
    arrows: tuple[_Arrow, ...]
    visited: frozenset[State]
    current: State | None
    traffic: Traffic | None = None


def state_label(state: State, lang: Lang, flow: FlowSpec = BHXH_REGISTRATION) -> str:
    """The state's name for readers (the flow's `states`), or its code when none is declared."""
    info = flow.states.get(state)
    return info.label.in_language(lang) if info else state.value


def trigger_label(trigger: str, lang: Lang, flow: FlowSpec = BHXH_REGISTRATION) -> str:
    """The trigger's name for readers (`FlowSpec.trigger_labels`), or its code without one."""
    label = flow.trigger_labels().get(trigger)
    return label.in_language(lang) if label else trigger


def _guard_label(guard: object) -> str:
    """A guard's rule name, marked ⚑ when it is a host hook (a host's veto decides it)."""
    name = guard_name(guard) or UNNAMED
    return f"{_HOST_HOOK} {name}" if isinstance(guard, HostHook) else name


def _edge_label(edge: Edge, lang: Lang, flow: FlowSpec) -> str:
    label = trigger_label(edge.trigger, lang, flow)
    if edge.guards:
        label += " [" + " & ".join(map(_guard_label, edge.guards)) + "]"
    return label


def _declared_edges(flow: FlowSpec) -> Iterator[Edge]:
    """Every edge of the flow, grouped by source state in the order states are declared."""
    table = CompiledFlow.of(flow).table
    for state in flow.states:
        for (source, _), edges in table.items():
            if source is state:
                yield from edges


def _moves(flow: FlowSpec, newer: FlowSpec, lang: Lang) -> Iterator[tuple[State, str]]:
    """Each state of `flow` that `newer`'s migration moves, and a line saying where to."""
    migration = newer.migration_from(flow.version)
    if migration is None:
        return
    for state in flow.states:
        for route in migration.states.get(state.value, ()):
            dest = state_label(newer.state_named(route.dest), lang, newer)
            guard = "" if route.guard is None else f" [{route.guard_name}]"
            yield state, f"{_MOVES} v{newer.version}: {dest}{guard}"


def _entered(traffic: Traffic | None, state: State) -> str:
    """How many flows entered `state`, after its name on a diagram drawn with traffic."""
    return "" if traffic is None else f" · {traffic.entries.get(state.value, 0):,}"


def _picture(
    flow: FlowSpec,
    lang: Lang,
    snapshot: FlowSnapshot | None,
    moves_to: FlowSpec | None = None,
    traffic: Traffic | None = None,
) -> _Picture:
    path = (flow.initial, *map(flow.state_named, snapshot.path)) if snapshot else ()
    taken = set(itertools.pairwise(path))
    boxes = {
        state: [state_label(state, lang, flow) + _entered(traffic, state)] for state in flow.states
    }
    for state, line in _moves(flow, moves_to, lang) if moves_to else ():
        boxes[state].append(line)
    grouped: dict[tuple[State, State], list[Edge]] = {}
    for edge in _declared_edges(flow):
        if edge.dest is None:
            refused = traffic.took(edge) if traffic else 0
            times = f" × {refused:,}" if refused else ""
            boxes[edge.source].append(f"{_REFUSED} {_edge_label(edge, lang, flow)}{times}")
        else:
            grouped.setdefault((edge.source, edge.dest), []).append(edge)
    arrows = tuple(
        _Arrow(
            source,
            dest,
            tuple(_edge_label(edge, lang, flow) for edge in edges),
            timed=all(edge.trigger == EXPIRE for edge in edges),
            taken=(source, dest) in taken,
            count=None if traffic is None else sum(map(traffic.took, edges)),
        )
        for (source, dest), edges in grouped.items()
    )
    return _Picture(
        flow=flow,
        title=_title(flow, lang, moves_to),
        lang=lang,
        boxes={state: tuple(lines) for state, lines in boxes.items()},
        arrows=arrows,
        visited=frozenset(path),
        current=flow.state_named(snapshot.state) if snapshot else None,
        traffic=traffic,
    )


def _title(flow: FlowSpec, lang: Lang, moves_to: FlowSpec | None) -> str:
    title = flow.title.in_language(lang)
    return f"{title} (v{flow.version} → v{moves_to.version})" if moves_to else title


# --- Mermaid --------------------------------------------------------------------------------


def _timed(picture: _Picture) -> dict[State, list[_Arrow]]:
    """The lifetime's arrows by destination: one from every running state, drawn as one."""
    timed: dict[State, list[_Arrow]] = {}
    for arrow in picture.arrows:
        if arrow.timed:
            timed.setdefault(arrow.dest, []).append(arrow)
    return timed


def _mermaid_lines(picture: _Picture) -> Iterator[str]:
    """Mermaid text; the lifetime's arrows meet in a choice mark that leads to their state."""
    timed = _timed(picture)
    yield "---"
    yield f"title: {picture.title}"
    yield "---"
    yield "stateDiagram-v2"
    for state, (label, *refusals) in picture.boxes.items():
        yield f'    state "{_quoted(label)}" as {state.value}'
        for refusal in refusals:
            yield f"    {state.value} : {refusal}"
    for dest in timed:
        yield f"    state {dest.value}_due <<choice>>"
    yield f"    [*] --> {picture.flow.initial.value}"
    for arrow in picture.arrows:
        if arrow.timed:
            yield f"    {arrow.source.value} --> {arrow.dest.value}_due" + _mermaid_label(arrow, "")
        else:
            for label in arrow.labels:
                yield f"    {arrow.source.value} --> {arrow.dest.value}" + _mermaid_label(
                    arrow, label
                )
    for dest, arrows in timed.items():
        way = attrs.evolve(arrows[0], taken=any(arrow.taken for arrow in arrows))
        yield f"    {dest.value}_due --> {dest.value}" + _mermaid_label(way, way.labels[0])
    for state in picture.flow.terminal:
        yield f"    {state.value} --> [*]"
    yield from _mermaid_classes(picture)


def _mermaid_label(arrow: _Arrow, label: str) -> str:
    text = " ".join(filter(None, [_TAKEN if arrow.taken else "", label]))
    return f" : {text}" if text else ""


def _mermaid_classes(picture: _Picture) -> Iterator[str]:
    yield "    classDef terminal fill:#f3f4f6,stroke:#374151,stroke-width:2px"
    yield "    classDef visited fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px"
    yield "    classDef current fill:#fee2e2,stroke:#b91c1c,stroke-width:4px"
    terminal, declared = picture.flow.terminal, picture.flow.states
    plain_terminals = [s for s in terminal if s not in picture.visited and s != picture.current]
    groups = {
        "terminal": plain_terminals,
        "visited": [s for s in declared if s in picture.visited and s != picture.current],
        "current": [picture.current] if picture.current else [],
    }
    for name, states in groups.items():
        if states:
            yield f"    class {','.join(state.value for state in states)} {name}"


def _quoted(text: str) -> str:
    return text.replace('"', "'")


def mermaid(
    flow: FlowSpec = BHXH_REGISTRATION,
    *,
    lang: Lang = "vi",
    snapshot: FlowSnapshot | None = None,
    moves_to: FlowSpec | None = None,
) -> str:
    """The flow as Mermaid ``stateDiagram-v2`` text, for Markdown (GitHub, MkDocs)."""
    return "\n".join(_mermaid_lines(_picture(flow, lang, snapshot, moves_to))) + "\n"


# --- Graphviz DOT ---------------------------------------------------------------------------

_FONT: Final = 'fontname="Helvetica,Arial,sans-serif"'
_GRAPH: Final = f"labelloc=t rankdir=TB compound=true nodesep=0.4 ranksep=0.45 {_FONT} fontsize=16"
_NODE: Final = f'shape=box style="rounded,filled" {_FONT} fontsize=11 margin="0.15,0.08"'
_EDGE: Final = f"{_FONT} fontsize=10 arrowsize=0.7"
_CLUSTER: Final = f'style="rounded,dashed" color="#9ca3af" {_FONT} fontsize=10 fontcolor="#6b7280"'
_REFUSAL_FONT: Final = 'point-size="9" color="#4b5563"'
_NODE_STYLES: Final = {
    "plain": 'fillcolor="#ffffff" color="#374151"',
    "terminal": 'fillcolor="#f3f4f6" color="#374151"',
    "visited": 'fillcolor="#dbeafe" color="#1d4ed8" penwidth=2',
    "current": 'fillcolor="#fee2e2" color="#b91c1c" penwidth=3',
}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _node_style(picture: _Picture, state: State) -> str:
    if state == picture.current:
        role = "current"
    elif state in picture.visited:
        role = "visited"
    else:
        role = "terminal" if state in picture.flow.terminal else "plain"
    return _NODE_STYLES[role] + (" peripheries=2" if state in picture.flow.terminal else "")


def _edge_style(arrow: _Arrow) -> str:
    if arrow.taken:
        return 'color="#1d4ed8" fontcolor="#1d4ed8" penwidth=2.5'
    if arrow.timed:
        return 'color="#9ca3af" fontcolor="#6b7280" style=dashed'
    return 'color="#374151"'


def _dot_node(picture: _Picture, state: State, indent: str) -> str:
    """A box: the state's name in bold, its refusals below in small grey type."""
    label, *refusals = (html.escape(line) for line in picture.boxes[state])
    lines = [f"<b>{label}</b>", *(f"<font {_REFUSAL_FONT}>{r}</font>" for r in refusals)]
    text = '<br align="left"/>'.join(lines) + ('<br align="left"/>' if refusals else "")
    return f"{indent}{state.value} [label=<{text}> {_node_style(picture, state)}]"


def _dot_edge(arrow: _Arrow, extra: str = "", traffic: Traffic | None = None) -> str:
    mark = f"{_TAKEN} " if arrow.taken else ""
    lines = [mark + _dot_text(line).replace(" [", "\\n[") for line in arrow.labels]
    style = _edge_style(arrow)
    if traffic is not None and arrow.count is not None:
        lines.append(traffic.share(arrow.source.value, arrow.count))
        style = _weighted_style(arrow.count, max(traffic.edges.values(), default=0))
    head = f"    {arrow.source.value} -> {arrow.dest.value}"
    label = "\\n".join(lines)
    return f'{head} [label="{label}" {style}{extra}]'


def _weighted_style(count: int, busiest: int) -> str:
    """An arrow as wide as its traffic (1 to 9 points), a grey dotted one when none took it."""
    if not count:
        return 'color="#d1d5db" fontcolor="#9ca3af" style=dotted'
    width = 1 + 8 * count / busiest
    return f'color="#1d4ed8" fontcolor="#1e3a8a" penwidth={width:.1f}'


def _dot_lines(picture: _Picture) -> Iterator[str]:
    """DOT text; the lifetime's arrows, one from every running state, are drawn once.

    The running states sit in one cluster and a single dashed arrow leaves it, so six
    identical arrows do not cross the whole picture; a taken one is still drawn on its own.
    """
    timed = _timed(picture)
    running = {arrow.source for arrows in timed.values() for arrow in arrows}
    title = _dot_text(picture.title)
    running_label = _dot_text(_RUNNING[picture.lang])
    yield "digraph regflow {"
    yield f'    graph [label="{title}" {_GRAPH}]'
    yield f"    node [{_NODE}]"
    yield f"    edge [{_EDGE}]"
    yield '    __start__ [shape=circle style=filled fillcolor="#111827" label="" width=0.2]'
    yield "    subgraph cluster_running {"
    yield f'        graph [label="{running_label}" {_CLUSTER}]'
    for state in picture.flow.states:
        if state in running:
            yield _dot_node(picture, state, "        ")
    yield "    }"
    for state in picture.flow.states:
        if state not in running:
            yield _dot_node(picture, state, "    ")
    yield f"    __start__ -> {picture.flow.initial.value}"
    traffic = picture.traffic
    for arrow in picture.arrows:
        if not arrow.timed or arrow.taken:
            yield _dot_edge(arrow, traffic=traffic)
    for arrows in timed.values():
        yield _dot_edge(_lifetime(arrows), " ltail=cluster_running", traffic)
    yield "}"


def _lifetime(arrows: list[_Arrow]) -> _Arrow:
    """The lifetime's arrows from every running state, as the one arrow drawn for them."""
    counts = [arrow.count for arrow in arrows if arrow.count is not None]
    return attrs.evolve(arrows[-1], taken=False, count=sum(counts) if counts else None)


def dot(
    flow: FlowSpec = BHXH_REGISTRATION,
    *,
    lang: Lang = "vi",
    snapshot: FlowSnapshot | None = None,
    moves_to: FlowSpec | None = None,
    traffic: Traffic | None = None,
) -> str:
    """The flow as Graphviz DOT text; `render` lays it out as SVG or PNG. With `traffic`,
    each arrow is drawn by how many flows took it."""
    return "\n".join(_dot_lines(_picture(flow, lang, snapshot, moves_to, traffic))) + "\n"


# --- rendering ------------------------------------------------------------------------------


def render(  # noqa: PLR0913 - the flow and format, then keyword-only drawing options
    flow: FlowSpec = BHXH_REGISTRATION,
    fmt: Format = "svg",
    *,
    lang: Lang = "vi",
    snapshot: FlowSnapshot | None = None,
    moves_to: FlowSpec | None = None,
    traffic: Traffic | None = None,
) -> bytes:
    """The diagram in `fmt`; SVG and PNG need the `graphviz` package and the `dot` program.

    Raises `DiagramToolMissingError`, naming what to install, when either is missing.
    """
    if fmt == "mermaid":
        return mermaid(flow, lang=lang, snapshot=snapshot, moves_to=moves_to).encode()
    text = dot(flow, lang=lang, snapshot=snapshot, moves_to=moves_to, traffic=traffic)
    if fmt == "dot":
        return text.encode()
    try:
        import graphviz  # noqa: PLC0415 - optional: only SVG and PNG need it
    except ImportError as exc:
        raise DiagramToolMissingError(
            f"{fmt.upper()} diagrams need the 'graphviz' Python package: "
            "pip install 'regflow[diagrams]'"
        ) from exc
    try:
        image: bytes = graphviz.Source(text).pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise DiagramToolMissingError(
            f"{fmt.upper()} diagrams need Graphviz's 'dot' program on PATH: "
            "apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), "
            "or see https://graphviz.org/download/"
        ) from exc
    return image
