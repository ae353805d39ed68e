"""``opensts audit``: read the CloudTrail-format audit log, and explain recorded denials.

``tail`` prints the latest events (optionally only one principal's, some event names, or the
failed calls) and can follow the log. ``explain REQUEST_ID`` prints why the server denied a
request, from the decision log (``opensts.audit.decisions``): identity denials, AssumeRole*
trust-policy denials with the trust policy evaluated, and federation refusals.
``opensts policy explain --request-id`` is the same command (``explain_recorded``).
"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import click

from opensts.cli.common import data_dir_option, require_data_dir

EXIT_DENIED, EXIT_INVALID = 1, 2

Event = dict[str, Any]


@click.group()
def audit() -> None:
    """Read the CloudTrail-format audit log and explain recorded denials."""


# -- tail ----------------------------------------------------------------------------------


def event_filter(principals: Iterable[str], events: Iterable[str],
                 errors: bool) -> Callable[[Mapping[str, Any]], bool]:
    """A predicate over events: any of ``principals`` (an ARN, or a glob with ``*``/``?``,
    matched against ``userIdentity.arn``, and for a session also its role's ARN), any of
    ``events`` (``eventName``, or ``source:Name`` such as ``sts:AssumeRole``, case as
    CloudTrail writes it), and only failed calls (an ``errorCode``) when ``errors``."""
    patterns = tuple(principals)
    names = {e for e in events if ":" not in e}
    qualified = {e for e in events if ":" in e}

    def keep(event: Mapping[str, Any]) -> bool:
        if errors and not event.get("errorCode"):
            return False
        if names or qualified:
            name = str(event.get("eventName", ""))
            source = str(event.get("eventSource", "")).split(".")[0]
            if name not in names and f"{source}:{name}" not in qualified:
                return False
        if patterns:
            arns = _identity_arns(event)
            if not any(fnmatch.fnmatchcase(arn, p) for arn in arns for p in patterns):
                return False
        return True

    return keep


def _identity_arns(event: Mapping[str, Any]) -> list[str]:
    identity = event.get("userIdentity") or {}
    arns = [identity.get("arn"),
            ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")]
    return [a for a in arns if isinstance(a, str) and a]


def _tail(directory: Path, count: int, keep: Callable[[Mapping[str, Any]], bool] | None,
          ) -> list[Event]:
    from opensts.audit.log import read_events, tail_events

    if keep is None:
        return tail_events(directory, count)
    # Filtered: the newest ``count`` matching events, which may lie anywhere in the log.
    found: deque[Event] = deque(maxlen=max(count, 0))
    if count > 0:
        found.extend(e for e in read_events(directory) if keep(e))
    return list(found)


@audit.command("tail")
@data_dir_option()
@click.option("-n", "--lines", default=20, show_default=True, type=int,
              help="how many of the latest (matching) events to print first")
@click.option("--json", "as_json", is_flag=True, help="print raw events")
@click.option("-f", "--follow", is_flag=True, help="keep printing events as they are written")
@click.option("--principal", "principals", multiple=True, metavar="ARN",
              help="only events of this caller: an ARN or a glob (*, ?), matched against "
              "userIdentity.arn and a session's role ARN (repeatable: any of them)")
@click.option("--event", "events", multiple=True, metavar="NAME",
              help="only this event name, e.g. AssumeRole or sts:AssumeRole (repeatable: "
              "any of them)")
@click.option("--errors", is_flag=True, help="only failed calls (events with an errorCode)")
def audit_tail(data_dir: Path, lines: int, as_json: bool, follow: bool,
               principals: tuple[str, ...], events: tuple[str, ...], errors: bool) -> None:
    """Show the latest audit events (across rotated and compressed files, and the files of
    every --workers process, merged by time). Filters combine (all must hold) and apply to
    -n and --follow alike."""
    from opensts.audit.log import follow_events

    keep = event_filter(principals, events, errors) if (principals or events or errors) \
        else None

    def show(event: Event) -> None:
        if as_json:
            click.echo(json.dumps(event, separators=(",", ":")))
            return
        who = (event.get("userIdentity") or {}).get("arn", "-")
        outcome = event.get("errorCode") or "OK"
        source = str(event["eventSource"]).split(".")[0]
        click.echo(f"{event['eventTime']}  {source}:{event['eventName']:<28} {outcome:<22} {who}"
                   f"  {event.get('requestID', '')}")

    directory = data_dir / "audit"
    for event in _tail(directory, lines, keep):
        show(event)
    if follow:
        sys.stdout.flush()
        try:
            for event in follow_events(directory):
                if keep is None or keep(event):
                    show(event)
                    sys.stdout.flush()
        except KeyboardInterrupt:
            pass


# -- explain -------------------------------------------------------------------------------

_SIDES = {
    "identity": "the caller's identity-based policies",
    "boundary": "the caller's permissions boundary",
    "session": "the caller's session policy",
    "scp": "a service control policy over the caller's account",
    "rcp": "a resource control policy over the resource's account",
    "trust": "the role's trust policy",
    "resource": "the resource-based policy",
    "federation": "the identity provider's assertion or token (it did not verify)",
    "sts": "a rule of STS itself (no policy was evaluated)",
}


def render_record(record: Mapping[str, Any]) -> str:
    """One recorded denial for a reader: what was asked, who refused and why, then the
    per-statement explanation."""
    lines = [f"Request id: {record['requestId']} at {record['eventTime']}"]
    if record.get("operation"):
        lines.append(f"Operation: {record['operation']} ({record['action']} on "
                     f"{record['resource']} by {record['principal']})")
    side = record.get("refusedBy")
    if side:
        accounts = record.get("accounts") or {}
        owner = accounts.get("resource") if side in ("trust", "resource", "rcp") \
            else accounts.get("caller")
        lines.append(f"Refused by: {_SIDES.get(side, side)}"
                     + (f" (account {owner})" if owner else ""))
    if record.get("errorCode"):
        lines.append(f"Answered: {record['errorCode']}: {record.get('errorMessage', '')}")
    if record.get("reasons"):
        lines.append("Why:")
        lines.extend(f"  - {reason}" for reason in record["reasons"])
    trust = record.get("trustPolicy")
    if trust:
        lines.append(f"Trust policy of {trust['role']} as evaluated:")
        document = trust["document"]
        text = document if isinstance(document, str) else json.dumps(document, indent=2)
        lines.extend("  " + line for line in text.splitlines())
    if record.get("truncated"):
        lines.append("(record truncated: the per-statement trace was too large to keep)")
    lines.append(record["explanation"])
    return "\n".join(lines)


def explain_recorded(request_id: str, data_dir: Path, as_json: bool) -> None:
    """Print every denial recorded for ``request_id`` and exit 1, or exit 2 when none is.
    The one implementation of ``opensts audit explain`` and ``policy explain --request-id``."""
    from opensts.audit.decisions import decisions_dir, find_denials

    require_data_dir(data_dir)  # policy explain's --data-dir is checked only here
    directory = decisions_dir(data_dir)
    records = find_denials(directory, request_id)
    if not records:
        click.echo(f"no denial is recorded for request id {request_id!r} under {data_dir} "
                   "(allowed requests are not recorded; old denials are rotated away)",
                   err=True)
        sys.exit(EXIT_INVALID)
    if as_json:
        click.echo(json.dumps(records if len(records) > 1 else records[0], indent=2))
    else:
        click.echo("\n\n".join(render_record(record) for record in records))
    sys.exit(EXIT_DENIED)


@audit.command("explain")
@click.argument("request_id")
@data_dir_option()
@click.option("--json", "as_json", is_flag=True, help="print the recorded decision as JSON")
def audit_explain(request_id: str, data_dir: Path, as_json: bool) -> None:
    """Explain why the server denied the request REQUEST_ID (the x-amzn-RequestId of the
    answer, the requestID of its audit event): which side refused (the caller's policies,
    a role's trust policy, an SCP or boundary, the identity provider's assertion), the
    deciding statements and failing conditions, and every statement evaluated.

    Exit status: 1 when a denial is recorded (and printed), 2 when none is.
    """
    explain_recorded(request_id, data_dir, as_json)
