"""``opensts audit``: read the CloudTrail-format audit log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from opensts.cli.common import data_dir_option


@click.group()
def audit() -> None:
    """Read the CloudTrail-format audit log."""


@audit.command("tail")
@data_dir_option()
@click.option("-n", "--lines", default=20, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="print raw events")
@click.option("-f", "--follow", is_flag=True, help="keep printing events as they are written")
def audit_tail(data_dir: Path, lines: int, as_json: bool, follow: bool) -> None:
    """Show the latest audit events (across rotated and compressed files, and the files of
    every --workers process, merged by time)."""
    from opensts.audit.log import follow_events, tail_events

    def show(event: dict[str, object]) -> None:
        if as_json:
            click.echo(json.dumps(event, separators=(",", ":")))
            return
        who = (event.get("userIdentity") or {}).get("arn", "-")  # type: ignore[attr-defined]
        outcome = event.get("errorCode") or "OK"
        source = str(event["eventSource"]).split(".")[0]
        click.echo(f"{event['eventTime']}  {source}:{event['eventName']:<28} {outcome:<22} {who}")

    directory = data_dir / "audit"
    for event in tail_events(directory, max(lines, 0)):
        show(event)
    if follow:
        try:
            for event in follow_events(directory):
                show(event)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass
