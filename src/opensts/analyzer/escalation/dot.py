"""The paths as a Graphviz DOT graph (``opensts analyze paths --svg`` renders it with ``dot``).

Only what the paths use is drawn: each principal on a path, the variants moves create, and
the administrators they reach, so the picture stays readable with thousands of principals.
Users are boxes, roles ellipses, variants dashed, administrators red; an edge is labelled
with its move and dashed when a step of it is conditional.
"""

from __future__ import annotations

import re

from opensts.analyzer.escalation.graph import Path
from opensts.analyzer.escalation.moves import Node

_POLICY_ARN = re.compile(r"arn:aws:iam::[^:]*:policy/(?:[^ /]+/)*([^ /]+)")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _short(node: Node) -> str:
    """``user/alice`` (account 111122223333) and the variant on a second line."""
    entity = node.entity
    label = f"{entity.kind}/{entity.name}\n{entity.account}"
    if node.variant:
        # A policy by its name: the full ARN is in the tooltip and the text output.
        words = _POLICY_ARN.sub(r"\1", node.variant).split()
        lines, line = [], ""
        for word in words:  # wrap near 36 characters
            if line and len(line) + len(word) > 36:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
        label += "\n" + "\n".join(lines[:4]) + ("…" if len(lines) > 4 else "")
    return label


def render(paths: list[Path], admin_ids: set[str]) -> str:
    nodes: dict[str, Node] = {}
    edges: dict[tuple[str, str, str], bool] = {}
    for path in paths:
        nodes[path.start.id] = path.start
        for move in path.moves:
            nodes[move.target.id] = move.target
            key = (move.source, move.target.id, move.kind)
            edges[key] = edges.get(key, False) or move.conditional
    ids = {node_id: f"n{i}" for i, node_id in enumerate(sorted(nodes))}
    lines = [
        "digraph escalation {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.4, ranksep=0.9,'
        ' label="OpenSTS privilege-escalation paths (red: administrator)", labelloc=t];',
        '  node [fontname="Helvetica", fontsize=11, style=filled, fillcolor="#eef3fb",'
        ' color="#3a5a8c"];',
        '  edge [fontname="Helvetica", fontsize=10, color="#555555"];',
    ]
    for node_id in sorted(nodes):
        node = nodes[node_id]
        attrs = [f"label={_quote(_short(node))}",
                 "shape=" + ("box" if node.entity.kind == "user" else "ellipse")]
        style = ["filled"] + (["dashed"] if node.variant else [])
        attrs.append(f"style={_quote(','.join(style))}")
        if node_id in admin_ids:
            attrs += ['fillcolor="#f8d0d0"', 'color="#b00000"', "penwidth=2"]
        attrs.append(f"tooltip={_quote(node.label)}")
        lines.append(f"  {ids[node_id]} [{', '.join(attrs)}];")
    for (source, target, kind), conditional in sorted(edges.items()):
        if source not in ids:
            continue
        attrs = [f"label={_quote(kind + (' (conditional)' if conditional else ''))}"]
        if conditional:
            attrs.append("style=dashed")
        lines.append(f"  {ids[source]} -> {ids[target]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
