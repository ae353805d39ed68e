"""``opensts analyze``: who can do what, and who can make itself an administrator, over the
directory of a data directory (read-only; docs/analyzer-escalation.md).

* ``who-can ACTION RESOURCE``: every user and role the policy engine allows, with the
  statements that decide it.
* ``paths --to admin [--from ARN] [--svg FILE]``: the shortest privilege-escalation path of
  each principal (or one) to an administrator, step by step, each step with the statement
  that allows it; ``--svg`` draws the paths with Graphviz's ``dot``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Any

import click

from opensts.cli.common import data_dir_option, open_admin_store

DOC = "docs/analyzer-escalation.md"


def _directory(data_dir: FsPath) -> tuple[Any, list[str]]:
    from opensts.cli.analyze_store import load

    store, _ = open_admin_store(data_dir)
    try:
        return load(store, datetime.now(UTC))
    finally:
        store.close()


@click.group()
def analyze() -> None:
    """Analyse the directory's policies with the policy engine: who can do an action, and
    privilege-escalation paths to an administrator."""


@analyze.command("who-can")
@click.argument("action")
@click.argument("resource")
@data_dir_option()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def who_can_command(action: str, resource: str, data_dir: FsPath, as_json: bool) -> None:
    """Every user and role allowed ACTION on RESOURCE (an ARN), with the deciding
    statements. A role's trust policy counts for sts:AssumeRole on it, a bucket's policy for
    S3. "conditional": allowed only for some values of keys the caller picks per request."""
    from opensts.analyzer.escalation.graph import who_can

    directory, notes = _directory(data_dir)
    found = who_can(directory, action, resource)
    if as_json:
        click.echo(json.dumps({
            "action": action, "resource": resource, "notes": notes,
            "principals": [{"arn": e.arn, "kind": e.kind, "account": e.account,
                            **s.to_dict()} for e, s in found]}, indent=2))
        return
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if not found:
        click.echo(f"No user or role is allowed {action} on {resource}.")
        return
    click.echo(f"Allowed {action} on {resource}:")
    for entity, step in found:
        extra = (f" (conditional on {', '.join(step.unknown_keys)})"
                 if step.outcome == "conditional" else "")
        click.echo(f"  {entity.arn}{extra}")
        for ref in step.statements:
            click.echo(f"      {ref.describe()}")
        if step.outcome == "allowed" and step.unknown_keys:
            click.echo(f"      (a condition on {', '.join(step.unknown_keys)} could still "
                       "deny some requests)")


@analyze.command("paths")
@click.option("--to", "goal", type=click.Choice(["admin"]), required=True,
              help="the goal of the paths: admin (effectively allowed * on *)")
@click.option("--from", "start", metavar="ARN", help="only the path of this user or role")
@data_dir_option()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--svg", type=click.Path(path_type=FsPath, dir_okay=False), metavar="FILE",
              help="also draw the paths as SVG (needs Graphviz's dot)")
def paths_command(goal: str, start: str | None, data_dir: FsPath, as_json: bool,
                  svg: FsPath | None) -> None:
    """Privilege-escalation paths to an administrator, each step with the statement that
    allows it. What is modelled: docs/analyzer-escalation.md."""
    from opensts.analyzer.escalation.dot import render
    from opensts.analyzer.escalation.graph import admins, build, paths_to_admin

    dot = shutil.which("dot") if svg is not None else None
    if svg is not None and dot is None:
        raise click.ClickException("--svg needs Graphviz's dot (apt-get install graphviz)")
    directory, notes = _directory(data_dir)
    if start is not None and start not in directory.entities:
        raise click.ClickException(f"{start} is not a user or role of this directory")
    starts = [start] if start is not None else None
    graph = build(directory, starts)
    found = paths_to_admin(graph, starts)
    administrators = [n.entity.arn for n in admins(graph)]
    if svg is not None:
        assert dot is not None
        admin_ids = {n for n, a in graph.admin.items() if a}
        done = subprocess.run([dot, "-Tsvg"], input=render(found, admin_ids), text=True,
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise click.ClickException(f"dot failed: {done.stderr.strip()}")
        svg.write_text(done.stdout)
    if as_json:
        click.echo(json.dumps({
            "goal": goal, "administrators": administrators,
            "paths": [_path_dict(p) for p in found],
            "moves": [{"move": m.kind, "from": m.source,
                       "fromArn": graph.nodes[m.source].entity.arn, "to": m.target.id,
                       "toArn": m.target.entity.arn, "conditional": m.conditional}
                      for moves in graph.out.values() for m in moves],
            "incomplete": [f"{arn}: more variants than the search follows"
                           for arn in graph.truncated],
            "notes": notes}, indent=2))
        return
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if start is not None and start in administrators:
        click.echo(f"{start} is an administrator already.")
        return
    click.echo("Administrators: " + (", ".join(administrators) or "none"))
    if not found:
        click.echo("No privilege-escalation path to an administrator"
                   + (f" from {start}." if start else "."))
    for path in found:
        click.echo("")
        click.echo(_path_text(path))
    for arn in graph.truncated:
        click.echo(f"incomplete: {arn} has more variants than the search follows", err=True)
    sys.stdout.flush()


def _path_dict(path: Any) -> dict[str, Any]:
    return {
        "from": path.start.entity.arn,
        "to": path.end.entity.arn,
        "toVariant": path.end.variant or None,
        "conditional": path.conditional,
        "moves": [{"move": m.kind, "from": m.source, "to": m.target.id,
                   "toArn": m.target.entity.arn, "toVariant": m.target.variant or None,
                   "summary": m.summary, "steps": [s.to_dict() for s in m.steps]}
                  for m in path.moves],
    }


def _path_text(path: Any) -> str:
    head = f"{path.start.entity.arn} → administrator {path.end.label}"
    head += f" in {len(path.moves)} move{'s' if len(path.moves) != 1 else ''}"
    if path.conditional:
        head += " (conditional)"
    lines = [head]
    for i, move in enumerate(path.moves, start=1):
        lines.append(f"  {i}. {move.kind} → {move.target.label}: {move.summary}")
        for step in move.steps:
            mark = ("" if step.outcome == "allowed"
                    else f" [conditional on {', '.join(step.unknown_keys)}]")
            note = f" ({step.note})" if step.note else ""
            lines.append(f"       {step.action} on {step.resource}{note}{mark}")
            for ref in step.statements:
                lines.append(f"         allowed by {ref.describe()}")
    return "\n".join(lines)
