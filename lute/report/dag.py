"""A workflow run's graph drawn as SVG: layers from ``graphlib``, nodes coloured by status.

The layout is the usual layered one: a node's layer is one below its
deepest parent (so every edge points down), and within a layer nodes are
ordered by the mean position of their parents, a few sweeps down, which
keeps most edges from crossing in the graphs workflows have (chains,
fans, diamonds). Each node links to the page of the run it became.
"""

from __future__ import annotations

import dataclasses
import graphlib
from collections.abc import Mapping, Sequence
from html import escape

from lute.report.colours import status_colour

BOX_W, BOX_H = 196, 50
GAP_X, GAP_Y = 28, 58
PAD = 16
LEGEND_H = 34
WIDE = 1000
"""A graph wider than this scrolls sideways instead of shrinking its text."""


@dataclasses.dataclass(frozen=True)
class DagNode:
    """One node to draw.

    Attributes:
        name: The node's name.
        parents: Names of its parents (all among the drawn nodes).
        status: The status that colours it (a ``NodeState`` value).
        label: The status as shown (e.g. ``CANCELLED (not run)``).
        subtitle: A second line (its managed task).
        href: Its run's page, relative to the page, or ``None``.
    """

    name: str
    parents: tuple[str, ...]
    status: str
    label: str
    subtitle: str
    href: str | None = None


def layers(parents: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Nodes by layer, top first; a node sits one layer below its deepest parent.

    Parents missing from ``parents`` are ignored (the graph is drawn as recorded).

    Raises:
        graphlib.CycleError: The graph has a cycle (a recorded workflow never has).
    """
    known = {name: [p for p in ps if p in parents] for name, ps in parents.items()}
    depth: dict[str, int] = {}
    for name in graphlib.TopologicalSorter(known).static_order():
        depth[name] = 1 + max((depth[p] for p in known[name]), default=-1)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name in parents:  # recorded order first, so the drawing is stable
        rows[depth[name]].append(name)
    for index in range(1, len(rows)):
        place = {name: i for row in rows[:index] for i, name in enumerate(row)}
        rows[index].sort(key=lambda n: _mean([place[p] for p in known[n]], len(rows[index])))
    return rows


def _mean(values: list[int], fallback: int) -> float:
    return sum(values) / len(values) if values else float(fallback)


def dag_svg(nodes: Sequence[DagNode]) -> str:
    """The graph as an ``<svg>`` element with a legend of the statuses shown."""
    by_name = {node.name: node for node in nodes}
    rows = layers({node.name: node.parents for node in nodes})
    widest = max((len(row) for row in rows), default=1)
    width = max(PAD * 2 + widest * BOX_W + (widest - 1) * GAP_X, 420)
    height = PAD * 2 + len(rows) * BOX_H + max(len(rows) - 1, 0) * GAP_Y + LEGEND_H
    centre: dict[str, tuple[float, float]] = {}
    for depth, row in enumerate(rows):
        row_w = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = (width - row_w) / 2
        for index, name in enumerate(row):
            x = left + index * (BOX_W + GAP_X) + BOX_W / 2
            centre[name] = (x, PAD + depth * (BOX_H + GAP_Y) + BOX_H / 2)
    kind = "dag wide" if width > WIDE else "dag"
    out = [
        f'<svg class="{kind}" width="{width:.0f}" height="{height:.0f}"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" role="img"'
        ' aria-label="Workflow graph" xmlns="http://www.w3.org/2000/svg">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"'
        ' fill="#6b7280"/></marker></defs>'
    ]
    for node in nodes:
        for parent in node.parents:
            if parent in centre:
                out.append(_edge(centre[parent], centre[node.name]))
    for name, (x, y) in centre.items():
        out.append(_box(by_name[name], x, y))
    out.append(_legend(sorted({n.status for n in nodes}), height - LEGEND_H + 8))
    out.append("</svg>")
    return "".join(out)


def _edge(start: tuple[float, float], end: tuple[float, float]) -> str:
    x1, y1 = start[0], start[1] + BOX_H / 2
    x2, y2 = end[0], end[1] - BOX_H / 2 - 2
    bend = (y2 - y1) / 2
    return (
        f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f}'
        f' {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}" marker-end="url(#arrow)"/>'
    )


def _box(node: DagNode, x: float, y: float) -> str:
    fill = status_colour(node.status)
    ink = _ink_class(fill)
    left, top = x - BOX_W / 2, y - BOX_H / 2
    title = f"{node.name} ({node.subtitle}): {node.label}"
    shape = (
        f'<g class="node" data-node="{escape(node.name)}" data-status="{escape(node.status)}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="{left:.1f}" y="{top:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8"'
        f' fill="{fill}" stroke="#374151" stroke-width="1"/>'
        f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="node-name {ink}">'
        f"{escape(_shorten(node.name, 22))}</text>"
        f'<text x="{x:.1f}" y="{y + 13:.1f}" text-anchor="middle" class="node-sub {ink}">'
        f"{escape(_shorten(f'{node.subtitle} · {node.label}', 29))}</text></g>"
    )
    if node.href is None:
        return shape
    return f'<a href="{escape(node.href)}">{shape}</a>'


def _legend(statuses: list[str], y: float) -> str:
    out = ['<g class="legend">']
    x = PAD
    for status in statuses:
        out.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" rx="3" fill="{status_colour(status)}"'
            f' stroke="#374151" stroke-width="0.5"/><text class="tick" x="{x + 19}"'
            f' y="{y + 11.5}">{escape(status)}</text>'
        )
        x += 28 + 7.5 * len(status)
    out.append("</g>")
    return "".join(out)


def _ink_class(fill: str) -> str:
    """The class of dark or light text, whichever reads better on ``fill`` (#rrggbb)."""
    red, green, blue = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    light = 0.299 * red + 0.587 * green + 0.114 * blue
    return "ink-dark" if light > 150 else "ink-light"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
