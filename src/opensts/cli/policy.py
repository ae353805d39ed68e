"""``opensts policy``: explain and validate IAM policies.

``explain`` evaluates one request with ``opensts.policy`` (the same engine the server
authorizes with) and prints why it was allowed or denied: the deciding statements, then every
statement of every policy with the element that did not match. The policies come from local
files, or with ``--endpoint-url`` from a running server's API (``cli.explain_live``).
``explain --request-id ID`` prints the same trace for a denial the server recorded
(``opensts.audit.decisions``), read from the data dir. Both warn when the catalog knows no
such action or the action cannot act on the resource. ``validate`` parses a document
(MalformedPolicyDocument errors, JSON ones with line and column) and prints the
non-blocking findings of ``validate_policy``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from opensts.errors import MalformedPolicyDocument
from opensts.policy import (
    Decision,
    Policy,
    PolicyKind,
    PolicySet,
    Principal,
    PrincipalKind,
    Request,
    catalog,
    evaluate,
    parse_policy,
    validate_policy,
)
from opensts.policy.validate import resource_mismatch

EXIT_ALLOWED, EXIT_DENIED, EXIT_INVALID = 0, 1, 2

_IAM = re.compile(r"arn:aws:iam::(\d{12}):(user|role|root)(.*)")
_STS = re.compile(r"arn:aws:sts::(\d{12}):(assumed-role|federated-user)/([^/]+)(?:/(.+))?")


def principal_from_arn(arn: str) -> Principal:
    """The principal an ARN (or service name, or ``*``) names.

    An assumed-role session's role is taken to have the path ``/``, since the session ARN
    does not carry it (id_roles_use: "the role path is not included")."""
    if arn == "*":
        return Principal(PrincipalKind.ANONYMOUS, "*", None)
    if arn.endswith(".amazonaws.com"):
        return Principal(PrincipalKind.SERVICE, arn, None)
    match = _IAM.fullmatch(arn)
    if match:
        account, kind, _ = match.groups()
        if kind == "root":
            return Principal(PrincipalKind.ROOT, arn, account)
        return Principal(PrincipalKind.USER if kind == "user" else PrincipalKind.ROLE,
                         arn, account)
    match = _STS.fullmatch(arn)
    if match:
        account, kind, name, _ = match.groups()
        if kind == "assumed-role":
            return Principal(PrincipalKind.ASSUMED_ROLE, arn, account,
                             issuer_arn=f"arn:aws:iam::{account}:role/{name}")
        return Principal(PrincipalKind.FEDERATED_USER, arn, account)
    raise click.BadParameter(
        "expected an IAM user/role/root ARN, an STS assumed-role or federated-user ARN, a "
        "service principal (…amazonaws.com) or *", param_hint="--principal")


def _load(path: Path, kind: PolicyKind) -> tuple[str, Policy]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    try:
        return str(path), parse_policy(text, kind)
    except MalformedPolicyDocument as exc:
        click.echo(f"{path}: MalformedPolicyDocument: {exc.message}", err=True)
        sys.exit(EXIT_INVALID)


def parse_context(items: tuple[str, ...]) -> dict[str, str | list[str]]:
    """``key=value`` pairs; a key given more than once becomes a multivalued key."""
    context: dict[str, str | list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not key=value", param_hint="--context")
        if key in context:
            old = context[key]
            context[key] = [*(old if isinstance(old, list) else [old]), value]
        else:
            context[key] = value
    return context


@click.group()
def policy() -> None:
    """Explain and validate IAM policies: local files, or a server's live policies."""


@policy.command()
@click.option("--request-id", help="explain a denial the server recorded for this request "
              "id, instead of evaluating local files")
@click.option("--data-dir", default="./data", show_default=True, envvar="OPENSTS_DATA_DIR",
              type=click.Path(path_type=Path), help="the server's data dir (--request-id)")
@click.option("--action", help="e.g. s3:GetObject")
@click.option("--resource", default="*", show_default=True, help="resource ARN")
@click.option("--principal", "principal_arn",
              help="caller ARN: IAM user/role/root, STS session, service principal or *")
@click.option("--identity", "identity", multiple=True, type=click.Path(path_type=Path),
              help="identity-based policy file (repeatable)")
@click.option("--boundary", type=click.Path(path_type=Path), help="permissions boundary file")
@click.option("--session", "session", multiple=True, type=click.Path(path_type=Path),
              help="session policy file (repeatable)")
@click.option("--resource-policy", type=click.Path(path_type=Path),
              help="resource-based policy file")
@click.option("--trust", is_flag=True,
              help="treat --resource-policy as a role trust policy (it must allow explicitly)")
@click.option("--resource-account", help="account owning the resource (default: the "
              "principal's; another account makes the request cross-account)")
@click.option("--scp", "scps", multiple=True, type=click.Path(path_type=Path),
              help="service control policy file, one per level from the root down (repeatable)")
@click.option("--context", "context", multiple=True, metavar="KEY=VALUE",
              help="request context key (repeat a key for a multivalued key)")
@click.option("--json", "as_json", is_flag=True, help="print the decision as JSON")
@click.option("--endpoint-url", help="read the live policies from this OpenSTS server "
              "(IAM, Organizations, S3 APIs) instead of files, signed with your AWS "
              "credentials")
@click.option("--profile", help="AWS profile whose credentials read the live policies "
              "(default: the environment, then $AWS_PROFILE or default)")
@click.option("--organizations-profile", help="AWS profile for the Organizations calls "
              "(SCPs/RCPs), e.g. the management account's (default: as --profile)")
@click.option("--region", help="region to sign for (default: $AWS_REGION, the profile's, "
              "us-east-1)")
@click.option("--no-session-policy", is_flag=True, help="with --endpoint-url: the role "
              "session has no session policies (no API can show them)")
def explain(request_id: str | None, data_dir: Path, action: str | None, resource: str,
            principal_arn: str | None, identity: tuple[Path, ...],
            boundary: Path | None, session: tuple[Path, ...], resource_policy: Path | None,
            trust: bool, resource_account: str | None, scps: tuple[Path, ...],
            context: tuple[str, ...], as_json: bool, endpoint_url: str | None,
            profile: str | None, organizations_profile: str | None, region: str | None,
            no_session_policy: bool) -> None:
    """Explain whether PRINCIPAL may perform ACTION on RESOURCE under the given policies,
    or under the live policies of a server (--endpoint-url), or, with --request-id, why
    the server denied that request.

    Exit status: 0 when the request is allowed, 1 when it is denied (explicitly or
    implicitly), 2 when an argument or a policy document is invalid or no denial is recorded
    for the request id, 3 when live policies that could change the decision could not be
    read (the readable ones would allow, or deny only implicitly).
    """
    if request_id is not None:
        if action or principal_arn:
            raise click.UsageError("--request-id explains a recorded denial; it takes no "
                                   "--action or --principal")
        _explain_recorded(request_id, data_dir, as_json)
        return
    if not action or not principal_arn:
        raise click.UsageError("give --action and --principal, or --request-id")
    principal = principal_from_arn(principal_arn)
    if endpoint_url is not None:
        if identity or boundary or resource_policy or scps or trust:
            raise click.UsageError("--endpoint-url reads the identity, boundary, resource, "
                                   "trust and Organizations policies from the server; give "
                                   "no policy files but --session")
        from opensts.cli.explain_live import explain_live

        explain_live(endpoint_url, profile, organizations_profile, region, principal,
                     action, resource, resource_account,
                     [_load(p, PolicyKind.SESSION) for p in session] if session else None,
                     no_session_policy, parse_context(context), as_json)
        return
    policies = PolicySet(
        identity=[_load(p, PolicyKind.IDENTITY) for p in identity],
        boundary=_load(boundary, PolicyKind.BOUNDARY) if boundary else None,
        session=[_load(p, PolicyKind.SESSION) for p in session] if session else None,
        scps=[[_load(p, PolicyKind.SCP)] for p in scps],
    )
    if resource_policy is not None:
        kind = PolicyKind.TRUST if trust else PolicyKind.RESOURCE
        policies.resource = _load(resource_policy, kind)
        policies.resource_must_allow = trust
    request = Request(principal, action, resource, resource_account=resource_account,
                      context=parse_context(context))
    warn_request(action, resource)
    decision: Decision = evaluate(request, policies)
    if as_json:
        click.echo(json.dumps(decision.to_dict(), indent=2))
    else:
        click.echo(decision.explain())
    sys.exit(EXIT_ALLOWED if decision.allowed else EXIT_DENIED)


def _explain_recorded(request_id: str, data_dir: Path, as_json: bool) -> None:
    # One implementation with ``opensts audit explain`` (cli/audit.py).
    from opensts.cli.audit import explain_recorded

    explain_recorded(request_id, data_dir, as_json)


def warn_request(action: str, resource: str) -> None:
    """On stderr, what the catalog says against the request itself (as validate says it
    against a policy): an unknown action, a resource the action cannot act on."""
    service = action.partition(":")[0]
    if not service or "*" in action or "?" in action:
        return
    if not catalog.service_exists(service):
        # A team's own action (issue 11): evaluated like any other, but nothing knows it.
        click.echo(f"note: {service} is not an AWS service; its actions are not checked",
                   err=True)
    elif not catalog.action_exists(action):
        click.echo(f"warning: unknown action {action} (not in the IAM service catalog)",
                   err=True)
    elif not catalog.resource_fits(action, resource):
        click.echo("warning: " + resource_mismatch(action, f"{resource} is none of them"),
                   err=True)


_KINDS = {k.value: k for k in PolicyKind}


@policy.command()
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(sorted(_KINDS)), default="identity",
              show_default=True, help="where the document is attached")
@click.option("--strict", is_flag=True, help="also fail (exit 1) on warnings")
def validate(file: Path, kind: str, strict: bool) -> None:
    """Check FILE: grammar errors as IAM reports them, then non-blocking warnings.

    Exit status: 0 when the document is valid, 1 when it is malformed (or, with --strict,
    has warnings).
    """
    text = file.read_text()
    try:
        findings = validate_policy(text, _KINDS[kind])
    except MalformedPolicyDocument as exc:
        click.echo(f"{file}: MalformedPolicyDocument: {exc.message}")
        sys.exit(1)
    for f in findings:
        click.echo(f"{file}: {f.severity} {f.code}: {f.message}")
    if not findings:
        click.echo(f"{file}: valid {kind} policy")
    sys.exit(1 if strict and findings else 0)
