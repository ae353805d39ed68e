"""``opensts policy explain --endpoint-url``: explain one request against a server's live
policies, read through its API (cli.live_policies) and evaluated locally with the same
engine as policy files.

Fail closed: when a policy that could change the decision could not be read, the answer is
"undetermined" (exit 3), never "allowed"; only an explicit deny among the policies read is
certain without them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from opensts.cli.aws_client import AwsClient, find_credentials, profile_region
from opensts.cli.live_policies import LivePolicies, read_live
from opensts.policy import Decision, Policy, Principal, Request, evaluate

EXIT_ALLOWED, EXIT_DENIED, EXIT_INVALID, EXIT_UNDETERMINED = 0, 1, 2, 3


def explain_live(endpoint: str, profile: str | None, organizations_profile: str | None,
                 region: str | None, principal: Principal, action: str, resource: str,
                 resource_account: str | None, session: list[tuple[str, Policy]] | None,
                 no_session_policy: bool, context: dict[str, str | list[str]],
                 as_json: bool) -> None:
    from opensts.cli.policy import warn_request

    try:
        region = region or profile_region(profile)
        credentials = find_credentials(profile)
        iam = AwsClient(endpoint, credentials, region)
        orgs = (AwsClient(endpoint, find_credentials(organizations_profile), region)
                if organizations_profile else iam)
        try:
            live = read_live(iam, orgs, principal, action, resource, resource_account,
                             session_known=session is not None or no_session_policy)
        finally:
            iam.close()
            if orgs is not iam:
                orgs.close()
    except click.ClickException as exc:
        # Exit 1 means "denied": a failure to ask is not an answer.
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(EXIT_INVALID)
    if session is not None:
        live.policies.session = session
    warn_request(action, resource)
    request = Request(live.principal or principal, action, resource,
                      resource_account=live.resource_account,
                      context={**live.context, **context})  # the caller's --context wins
    decision = evaluate(request, live.policies)
    certain = not live.unreadable or decision.decision == "explicitDeny"
    if as_json:
        click.echo(json.dumps(_as_dict(decision, live, endpoint, credentials.source, certain),
                              indent=2))
    else:
        click.echo(_render(decision, live, endpoint, credentials.source, certain))
    if not certain:
        sys.exit(EXIT_UNDETERMINED)
    sys.exit(EXIT_ALLOWED if decision.allowed else EXIT_DENIED)


def _render(decision: Decision, live: LivePolicies, endpoint: str, source: str,
            certain: bool) -> str:
    lines = []
    if not certain:
        lines.append("Decision: undetermined — policies that apply could not be read "
                     f"({len(live.unreadable)} below) and could change this; the policies "
                     f"read give {decision.decision} ({decision.reason})")
        lines.extend(f"  could not read: {u}" for u in live.unreadable)
    lines.append(decision.explain())
    lines.append(f"Live policies read from {endpoint} with the credentials of {source}:")
    lines.extend(f"  {r}" for r in live.read)
    if not live.read:
        lines.append("  (none)")
    if certain:
        lines.extend(f"  could not read (an explicit deny wins regardless): {u}"
                     for u in live.unreadable)
    lines.extend(f"  note: {n}" for n in live.notes)
    if live.context:
        lines.append("Context keys taken from the principal (--context overrides): " + ", ".join(
            f"{k}={v!r}" for k, v in sorted(live.context.items())))
    return "\n".join(lines)


def _as_dict(decision: Decision, live: LivePolicies, endpoint: str, source: str,
             certain: bool) -> dict[str, Any]:
    out = decision.to_dict()
    out["determined"] = certain
    if not certain:
        out["readableDecision"] = out["decision"]
        out["decision"] = "undetermined"
    out["live"] = {"endpoint": endpoint, "credentials": source, "read": live.read,
                   "unreadable": live.unreadable, "notes": live.notes,
                   "principalContext": live.context}
    return out
