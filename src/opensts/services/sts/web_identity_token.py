"""GetWebIdentityToken: a signed JWT of the caller's identity for services outside AWS
(STS API reference, API_GetWebIdentityToken; IAM User Guide, "Understanding token claims").

The account must have enabled outbound identity federation (IAM
EnableOutboundWebIdentityFederation, services/iam/outbound_federation.py), else
OutboundWebIdentityFederationDisabledException (403). Not available on the global endpoint.

Claims as AWS documents them: ``iss`` (the account's issuer URL), ``aud`` (a string for
one audience, else the list), ``sub`` (the principal's ARN; for a role session the role's
ARN), ``iat``, ``exp``, ``jti``, and under the ``https://sts.amazonaws.com/`` namespace
``aws_account``, ``source_region``, ``principal_id`` (the requester's ARN), ``org_id`` in
an organization, ``principal_tags`` and ``request_tags`` (the Tags parameter) when present.

Authorization: ``sts:GetWebIdentityToken`` on ``*`` with ``sts:IdentityTokenAudience``
(every audience, multivalued), ``sts:DurationSeconds``, ``sts:SigningAlgorithm``,
``sts:SubjectMode`` and the request-tag keys in the context; with Tags also
``sts:TagGetWebIdentityToken`` (``aws:RequestTag/*``, ``aws:TagKeys``).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from opensts.directory.errors import NotFound
from opensts.errors import InvalidAction, SenderError
from opensts.services import issuer
from opensts.services.context import CallContext
from opensts.services.iam.outbound_federation import enabled, issuer_path
from opensts.services.registry import operation
from opensts.services.sts.sessions import request_tag_context, session_tags, tags_for_audit
from opensts.wire.params import Params, check_str, validation_error
from opensts.wire.xml import iso8601

NAMESPACE = "https://sts.amazonaws.com/"
DEFAULT_SECONDS = 300
MIN_SECONDS, MAX_SECONDS = 60, 3600
ALGORITHMS = ("RS256", "ES384")
SUBJECT_MODES = ("AWSIdentity", "OriginIdentity")
# Ours: AWS documents a maximum payload size without a number. 50 tags at their longest
# (128 + 256 characters) are ~20 KB; this keeps a token well inside common header limits.
MAX_PAYLOAD_BYTES = 8192
GLOBAL_HOSTS = ("sts.amazonaws.com",)


class OutboundWebIdentityFederationDisabled(SenderError):
    code = "OutboundWebIdentityFederationDisabledException"
    status = 403


class SessionDurationEscalation(SenderError):
    code = "SessionDurationEscalationException"
    status = 403


class JwtPayloadSizeExceeded(SenderError):
    code = "JWTPayloadSizeExceededException"
    status = 400


def _global_endpoint(ctx: CallContext) -> bool:
    flagged = getattr(ctx.meta, "global_endpoint", None)  # RequestMeta's, once it has one
    if flagged is not None:
        return bool(flagged)
    host = ctx.meta.host.rsplit(":", 1)[0] if not ctx.meta.host.startswith("[") else ""
    return host.lower() in GLOBAL_HOSTS


def _subject(caller_type: str, arn: str, session: Any) -> str:
    """``sub``: the principal's ARN; a role session is the role (the model's wording)."""
    if caller_type == "AssumedRole" and session:
        return str(session.get("role_arn") or arn)
    return arn


def _ou_path(ctx: CallContext, org_id: str, account_id: str) -> str | None:
    """``o-.../r-.../ou-.../``: the organization, then the root and OUs above the account."""
    store = ctx.runtime.store
    try:
        parent: str | None = store.get_org_account(account_id).parent_id
        chain: list[str] = []
        while parent is not None and len(chain) < 32:  # AWS nests OUs at most 5 deep
            chain.append(parent)
            parent = store.get_org_unit(parent).parent_id
    except NotFound:
        return None
    return "/".join([org_id, *reversed(chain)]) + "/"


@operation("sts", "GetWebIdentityToken")
def get_web_identity_token(ctx: CallContext, params: Params) -> dict[str, Any]:
    audiences = params.strings("Audience", max_items=10)
    if not audiences:
        raise validation_error("Audience", None, "Member must not be null")
    for value in audiences:
        check_str("Audience.member", value, min_len=1, max_len=1000)
    algorithm = params.required("SigningAlgorithm", min_len=5, max_len=5)
    seconds = params.int("DurationSeconds", minimum=MIN_SECONDS, maximum=MAX_SECONDS)
    mode = params.str("SubjectMode", choices=SUBJECT_MODES) or "AWSIdentity"
    scope = params.str("Scope", min_len=1, max_len=256)
    tags, _ = session_tags(params)
    if algorithm not in ALGORITHMS:
        raise validation_error("SigningAlgorithm", algorithm,
                               "Member must satisfy enum value set: [RS256, ES384]")
    duration = DEFAULT_SECONDS if seconds is None else seconds
    ctx.audit.request_parameters = {
        "audience": audiences, "signingAlgorithm": algorithm,
        **({"durationSeconds": seconds} if seconds is not None else {}),
        **({"subjectMode": mode} if "SubjectMode" in params else {}),
        **({"tags": tags_for_audit(tags)} if tags else {}),
    }
    caller = ctx.require_caller()
    if _global_endpoint(ctx):
        raise InvalidAction("Unknown Operation")
    if mode == "OriginIdentity":
        # No session here carries a trusted identity propagation context.
        raise SenderError("The calling session has no trusted identity propagation context "
                          "with an aws:OriginIdentity/Subject key.", code="ValidationError")
    if scope is not None:
        raise SenderError("Scope can be specified only when SubjectMode is OriginIdentity.",
                          code="ValidationError")
    context: dict[str, str | list[str]] = {
        "sts:IdentityTokenAudience": audiences,
        "sts:DurationSeconds": str(duration),
        "sts:SigningAlgorithm": algorithm,
        "sts:SubjectMode": mode,
        **request_tag_context(tags, ()),
    }
    ctx.authorize("sts:GetWebIdentityToken", "*", context=context)
    if tags:  # Tags need their own permission too (Service Authorization Reference)
        ctx.authorize("sts:TagGetWebIdentityToken", "*", context=request_tag_context(tags, ()))
    if not enabled(ctx, caller.account_id):
        raise OutboundWebIdentityFederationDisabled(
            "Outbound web identity federation is not enabled for this account. Enable it "
            "with IAM EnableOutboundWebIdentityFederation.")
    now = ctx.meta.now.replace(microsecond=0)
    expires = now + timedelta(seconds=duration)
    session = caller.session
    if session is not None and expires.timestamp() > session["exp"]:
        raise SessionDurationEscalation(
            "The requested DurationSeconds exceeds the remaining lifetime of the calling "
            "session.")
    _, principal_tags = ctx.runtime.authorizer.policies(caller)
    aws: dict[str, Any] = {"aws_account": caller.account_id, "source_region": ctx.meta.region,
                           "principal_id": _subject(caller.type, caller.arn, session)}
    org = ctx.runtime.store.find_organization_for_account(caller.account_id)
    if org is not None:
        aws["org_id"] = org.org_id
        path = _ou_path(ctx, org.org_id, caller.account_id)
        if path:
            aws["ou_path"] = path
    if principal_tags:
        aws["principal_tags"] = dict(principal_tags)
    if tags:
        aws["request_tags"] = dict(tags)
    claims = {
        "aud": audiences[0] if len(audiences) == 1 else audiences,
        "sub": _subject(caller.type, caller.arn, session),
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": str(uuid.uuid4()),
        NAMESPACE: aws,
    }
    if len(json.dumps(claims, separators=(",", ":")).encode()) > MAX_PAYLOAD_BYTES:
        raise JwtPayloadSizeExceeded(
            "The requested token payload size exceeds the maximum allowed size. Reduce the "
            "number of request tags.")
    token = issuer.sign_token(ctx.runtime, issuer_path=issuer_path(caller.account_id),
                              claims=claims, algorithm=algorithm, now=now)
    ctx.audit.response_elements = {"expiration": iso8601(expires)}
    return {"WebIdentityToken": token, "Expiration": expires}
