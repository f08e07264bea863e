"""`regflow report`: the funnel of every flow, read from the engine's JSON audit lines.

The audit log is what the engine writes today (`flow.started` and `flow.transition`, one
JSON object per line, as docs/operations.md configures structlog): any number of files, one
per app server, each in the order it was written. They are merged by the engine's clock
(`at`) and read once, keeping per flow in flight only its state and when it entered it;
a flow is forgotten when it ends. Figures are per flow and declaration version
(`flow_version`): entries into each state, where flows ended, drop-off per step, time
spent in each state, the error codes answered per step and starts and ends over time.

A flow still in flight when the log ends was abandoned at its state if nothing was heard
of it for the flow's lifetime (the citizen gave up: no event ever expires it), else it is
still in progress.
"""

from __future__ import annotations

import functools
import gzip
import heapq
import html
import json
import operator
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TextIO

import attrs

from regflow._policy import Policy

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from pathlib import Path

    from regflow.declare import FlowSpec
    from regflow.diagram import Lang, Traffic

#: The audit events the report reads; any other line, or one without the keys or the
#: values it needs, is skipped.
_EVENTS: Final = frozenset({"flow.started", "flow.transition"})
_MARKER: Final = '"flow.'  # in every line of them, and in few others
IN_PROGRESS: Final = "in progress"
ABANDONED: Final = "abandoned"
#: The error codes listed per step.
TOP_ERRORS: Final = 3


def abandoned(state: str) -> str:
    """The outcome of a flow whose citizen gave up in `state`."""
    return f"{ABANDONED} at {state}"


@attrs.define
class _Flight:
    """A flow in flight: all the report keeps of it until it ends (times in seconds)."""

    figures: FlowFigures
    state: str
    entered: int | None  # None: it entered its state before the log began
    seen: int


@attrs.define
class FlowFigures:
    """The funnel of one flow at one declaration version."""

    flow: str
    version: int
    entries: Counter[str] = attrs.Factory(Counter)
    outcomes: Counter[str] = attrs.Factory(Counter)
    #: (source, dest, trigger, rule) → how often the edge was taken, refusals too.
    edges: Counter[tuple[str, str, str, str | None]] = attrs.Factory(Counter)
    #: State → seconds spent in it → how many flows spent that long (exact quantiles in
    #: memory bounded by the flow's lifetime, not by the log's length).
    durations: dict[str, Counter[int]] = attrs.Factory(dict)
    errors: dict[str, Counter[str]] = attrs.Factory(dict)
    #: Bucket start (seconds since the epoch) → "started" or an outcome → count.
    timeline: dict[int, Counter[str]] = attrs.Factory(dict)

    @property
    def started(self) -> int:
        return sum(self.timeline[bucket]["started"] for bucket in self.timeline)

    def traffic(self) -> Traffic:
        """The counts a weighted diagram draws (`regflow.diagram.Traffic`)."""
        from regflow.diagram import Traffic  # noqa: PLC0415 - only pictures need it

        return Traffic(edges=dict(self.edges), entries=dict(self.entries))

    def quantile(self, state: str, q: float) -> int | None:
        """The `q` quantile (nearest rank) of the seconds flows spent in `state`."""
        spent = self.durations.get(state)
        if not spent:
            return None
        rank = max(1, round(q * spent.total()))
        seen = 0
        for seconds in sorted(spent):
            seen += spent[seconds]
            if seen >= rank:
                return seconds
        return max(spent)  # pragma: no cover - the ranks add up to the total


@attrs.define
class Report:
    """Every flow's figures, by (flow, version), and the span of time the log covers."""

    bucket: timedelta
    figures: dict[tuple[str, int], FlowFigures] = attrs.Factory(dict)
    first: datetime | None = None
    last: datetime | None = None
    lines: int = 0


@functools.lru_cache(maxsize=4096)
def _seconds_of(at: object) -> int:
    """An ISO 8601 time (the engine's `at`, in whole seconds) as seconds since the epoch;
    kept for the lines of the same second."""
    return int(datetime.fromisoformat(str(at)).timestamp())


def _text(value: object) -> str:
    """A name from an audit line, which the engine writes as text."""
    if type(value) is not str:
        raise TypeError(value)
    return value


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _opened(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _events(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The audit events of one file, in its order, each with its time in seconds; lines of
    anything else are skipped (and so a line whose `at` is no time, which could not be
    merged in its place)."""
    with _opened(path) as lines:
        for line in lines:
            if _MARKER not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if type(event) is not dict or event.get("event") not in _EVENTS:
                continue
            try:
                yield _seconds_of(event["at"]), event
            except (KeyError, TypeError, ValueError):
                continue


def merged(paths: Iterable[Path]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The audit events of every file, merged by the engine's clock (each file in order)."""
    return heapq.merge(*(_events(path) for path in paths), key=operator.itemgetter(0))


class _Reader:
    """Folds audit events into a `Report`, one at a time."""

    def __init__(self, flows: Mapping[str, FlowSpec], bucket: timedelta) -> None:
        self.report = Report(bucket=bucket)
        self._flows = flows
        self._bucket = max(1, int(bucket.total_seconds()))
        self._flights: dict[str, _Flight] = {}
        self._first: int | None = None
        self._last: int | None = None
        #: The terminal states of each flow the process runs, by name.
        self._terminal = {
            name: frozenset(state.value for state in spec.terminal) for name, spec in flows.items()
        }

    def read(self, at: int, event: Mapping[str, Any]) -> None:
        try:
            if event["event"] == "flow.started":
                self._started(event, at)
            else:
                self._transition(event, at)
        except (KeyError, TypeError, ValueError):  # a key missing, a value of another type
            return
        self.report.lines += 1
        if self._first is None:
            self._first = at
        self._last = at

    def _figures(self, event: Mapping[str, Any]) -> FlowFigures:
        key = (str(event.get("flow")), int(event.get("flow_version") or 1))
        found = self.report.figures.get(key)
        if found is None:
            found = self.report.figures[key] = FlowFigures(*key)
        return found

    def _count(self, figures: FlowFigures, at: int, what: str) -> None:
        start = at - at % self._bucket
        counts = figures.timeline.get(start)
        if counts is None:
            counts = figures.timeline[start] = Counter()
        counts[what] += 1

    def _started(self, event: Mapping[str, Any], at: int) -> None:
        state, flow_id = _text(event["state"]), _text(event["flow_id"])
        figures = self._figures(event)
        figures.entries[state] += 1
        self._count(figures, at, "started")
        self._flights[flow_id] = _Flight(figures, state, at, at)

    def _transition(self, event: Mapping[str, Any], at: int) -> None:
        flow_id, source, dest = (
            _text(event["flow_id"]),
            _text(event["source"]),
            _text(event["dest"]),
        )
        trigger, rule, codes = event.get("trigger"), event.get("rule"), event.get("errors") or ()
        flight = self._flights.get(flow_id)
        if flight is None:  # begun before the log: its time in `source` is unknown
            flight = self._flights[flow_id] = _Flight(self._figures(event), source, None, at)
        figures = flight.figures
        flight.seen = at
        if codes:
            errors = figures.errors.get(source)
            if errors is None:
                errors = figures.errors[source] = Counter()
            errors.update(map(str, codes))
        figures.edges[source, dest, str(trigger), None if rule is None else str(rule)] += 1
        if dest == source:
            return
        figures.entries[dest] += 1
        if flight.entered is not None:
            figures.durations.setdefault(source, Counter())[at - flight.entered] += 1
        flight.state, flight.entered = dest, at
        if dest in self._terminal.get(figures.flow, ()):
            figures.outcomes[dest] += 1
            self._count(figures, at, dest)
            del self._flights[flow_id]

    def finish(self, as_of: datetime | None) -> Report:
        """The flows still in flight at `as_of` (by default the last line's time):
        abandoned, or in progress if heard of within their lifetime."""
        report = self.report
        if self._first is not None and self._last is not None:
            report.first, report.last = _time(self._first), _time(self._last)
        last = int(as_of.timestamp()) if as_of else self._last
        for flight in self._flights.values():
            figures = flight.figures
            spec = self._flows.get(figures.flow)
            lifetime = spec.lifetime_under(Policy()) if spec else timedelta(0)
            idle = last is not None and last - flight.seen >= lifetime.total_seconds()
            outcome = abandoned(flight.state) if idle else IN_PROGRESS
            figures.outcomes[outcome] += 1
            if idle:
                self._count(figures, flight.seen, ABANDONED)
        self._flights.clear()
        return report


def read_report(
    paths: Iterable[Path],
    flows: Mapping[str, FlowSpec],
    *,
    bucket: timedelta = timedelta(hours=1),
    as_of: datetime | None = None,
) -> Report:
    """The report of the audit lines in `paths` (``.gz`` files too), in one pass; flows
    still in flight are judged at `as_of` (by default, the time of the last line)."""
    reader = _Reader(flows, bucket)
    for at, event in merged(paths):
        reader.read(at, event)
    return reader.finish(as_of)


# --- writing ----------------------------------------------------------------------------------

Table = tuple[str, tuple[str, ...], list[tuple[object, ...]]]


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _seconds(value: int | None) -> str:
    if value is None:
        return "–"
    minutes, seconds = divmod(value, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def _states(figures: FlowFigures, spec: FlowSpec | None) -> list[str]:
    """The states in declaration order, then any the log names that the spec does not."""
    declared = [state.value for state in spec.states] if spec else []
    return declared + sorted(set(figures.entries) - set(declared))


def tables(figures: FlowFigures, spec: FlowSpec | None) -> list[Table]:
    """The report of one flow as titled tables, for any notation."""
    started = figures.started or sum(figures.outcomes.values())
    terminal = {state.value for state in spec.terminal} if spec else set()
    steps: list[tuple[object, ...]] = []
    for state in _states(figures, spec):
        entered = figures.entries[state]
        if not entered and state not in figures.errors:
            continue
        left = figures.outcomes[abandoned(state)]
        errors = figures.errors.get(state, Counter()).most_common(TOP_ERRORS)
        steps.append(
            (
                state,
                f"{entered:,}",
                _percent(entered, started),
                "–" if state in terminal else f"{left:,} ({_percent(left, entered)})",
                _seconds(figures.quantile(state, 0.5)),
                _seconds(figures.quantile(state, 0.9)),
                ", ".join(f"{code} × {count:,}" for code, count in errors) or "–",
            )
        )
    ended: list[tuple[object, ...]] = [
        (outcome, f"{count:,}", _percent(count, started))
        for outcome, count in figures.outcomes.most_common()
    ]
    timeline: list[tuple[object, ...]] = [
        (
            _time(bucket).strftime("%Y-%m-%d %H:%M"),
            f"{counts['started']:,}",
            *(f"{counts[state]:,}" for state in (*sorted(terminal), ABANDONED)),
        )
        for bucket, counts in sorted(figures.timeline.items())
    ]
    step_headers = ("State", "Entered", "Of started", "Abandoned there", "Median time", "p90 time")
    return [
        ("Steps", (*step_headers, "Top errors"), steps),
        ("Where flows ended", ("Outcome", "Flows", "Of started"), ended),
        ("Over time", ("From", "Started", *sorted(terminal), ABANDONED), timeline),
    ]


def _markdown_table(headers: Sequence[str], rows: Sequence[tuple[object, ...]]) -> Iterator[str]:
    yield "| " + " | ".join(headers) + " |"
    yield "|" + "---|" * len(headers)
    for row in rows:
        yield "| " + " | ".join(str(cell) for cell in row) + " |"


def _html_table(headers: Sequence[str], rows: Sequence[tuple[object, ...]]) -> Iterator[str]:
    yield "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"
    for row in rows:
        cells = "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row)
        yield f"<tr>{cells}</tr>"
    yield "</table>"


def picture_name(figures: FlowFigures) -> str:
    """The file name of a flow's weighted diagram, beside the report."""
    return f"{figures.flow}-v{figures.version}.svg"


def _title(report: Report, figures: FlowFigures) -> str:
    span = f"{report.first:%Y-%m-%d %H:%M} – {report.last:%Y-%m-%d %H:%M}" if report.last else ""
    return f"{figures.flow} v{figures.version}: {figures.started:,} flows started ({span})"


def markdown(report: Report, flows: Mapping[str, FlowSpec], *, pictures: bool = False) -> str:
    """The report as Markdown; `pictures` links each flow's weighted diagram."""
    lines = [f"# Funnel report ({report.lines:,} audit lines)", ""]
    for key in sorted(report.figures):
        figures = report.figures[key]
        lines += [f"## {_title(report, figures)}", ""]
        if pictures:
            lines += [f"![{figures.flow} v{figures.version}]({picture_name(figures)})", ""]
        for title, headers, rows in tables(figures, flows.get(figures.flow)):
            lines += [f"### {title}", "", *_markdown_table(headers, rows), ""]
    return "\n".join(lines)


def html_page(report: Report, flows: Mapping[str, FlowSpec], svgs: Mapping[str, str]) -> str:
    """The report as one HTML page, each flow's weighted diagram inline (`svgs` by name)."""
    body = [f"<h1>Funnel report ({report.lines:,} audit lines)</h1>"]
    for key in sorted(report.figures):
        figures = report.figures[key]
        body.append(f"<h2>{html.escape(_title(report, figures))}</h2>")
        body.append(svgs.get(picture_name(figures), ""))
        for title, headers, rows in tables(figures, flows.get(figures.flow)):
            body += [f"<h3>{html.escape(title)}</h3>", *_html_table(headers, rows)]
    style = "body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
    head = f'<meta charset="utf-8"><title>regflow funnel</title><style>{style}</style>'
    return f"<!doctype html><html><head>{head}</head><body>" + "\n".join(body) + "</body></html>"


def _pictures(report: Report, flows: Mapping[str, FlowSpec], lang: Lang) -> dict[str, str]:
    """Each flow's diagram drawn by its traffic, as SVG text by file name (flows the
    process does not run have no diagram)."""
    from regflow.diagram import render  # noqa: PLC0415 - only pictures need it

    drawn: dict[str, str] = {}
    for figures in report.figures.values():
        spec = flows.get(figures.flow)
        if spec is not None:
            image = render(spec, "svg", lang=lang, traffic=figures.traffic())
            drawn[picture_name(figures)] = image.decode()
    return drawn


def write_report(
    report: Report, flows: Mapping[str, FlowSpec], out: Path, *, lang: Lang = "en"
) -> list[Path]:
    """Write report.md, report.html and each flow's weighted SVG into `out`; the files.

    Raises `regflow.diagram.DiagramToolMissingError` without Graphviz.
    """
    out.mkdir(parents=True, exist_ok=True)
    svgs = _pictures(report, flows, lang)
    written = {
        out / "report.md": markdown(report, flows, pictures=True),
        out / "report.html": html_page(report, flows, svgs),
        **{out / name: svg for name, svg in svgs.items()},
    }
    for path, text in written.items():
        path.write_text(text, encoding="utf-8")
    return list(written)
