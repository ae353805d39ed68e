"""The claims sealed inside every session token, and the Caller they describe.

Session tokens are self-contained (sealed with the key ring), so authenticating temporary
credentials needs no database read. Keys are short because the token travels with every
request:

``akid``/``sk`` access key id and secret; ``acct`` account; ``type`` CloudTrail identity type
(``AssumedRole``, ``FederatedUser``, ``IAMUser`` or ``Root`` for GetSessionToken); ``arn`` and
``pid`` the principal ARN and id; ``user``/``uid``/``uarn`` the IAM user behind
GetSessionToken and GetFederationToken sessions; ``role_arn``/``role_id``/``role_name`` the
assumed role; ``sn`` session name; ``iat``/``exp`` epoch seconds; ``pol`` inline session policy;
``parns`` managed session policy ARNs; ``tags`` session tags; ``ttk`` transitive tag keys;
``si`` source identity; ``mfa`` epoch of MFA authentication; ``op`` issuing operation;
``fed`` federation facts (provider and the condition keys that survive the exchange);
``task`` the task policy ARN of an AssumeRoot session (``op`` ``AssumeRoot``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opensts.services.context import Caller


def caller_from_claims(claims: Mapping[str, Any]) -> Caller:
    return Caller(
        type=claims["type"],
        account_id=claims["acct"],
        arn=claims["arn"],
        principal_id=claims["pid"],
        access_key_id=claims["akid"],
        user_name=claims.get("user"),
        session=claims,
    )


def session_context(claims: Mapping[str, Any]) -> dict[str, Any]:
    """CloudTrail ``userIdentity.sessionContext`` for a session."""
    issued = datetime.fromtimestamp(claims["iat"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    context: dict[str, Any] = {
        "attributes": {
            "creationDate": issued,
            "mfaAuthenticated": "true" if claims.get("mfa") else "false",
        }
    }
    if claims.get("role_arn"):
        context["sessionIssuer"] = {
            "type": "Role",
            "principalId": claims["role_id"],
            "arn": claims["role_arn"],
            "accountId": claims["acct"],
            "userName": claims["role_name"],
        }
    elif claims.get("uarn"):
        context["sessionIssuer"] = {
            "type": "IAMUser" if claims.get("type") != "Root" else "Root",
            "principalId": claims.get("uid", claims["acct"]),
            "arn": claims["uarn"],
            "accountId": claims["acct"],
            "userName": claims.get("user", ""),
        }
    if claims.get("si"):
        context["sourceIdentity"] = claims["si"]
    if claims.get("op") == "AssumeRoot":
        # IAM User Guide, cloudtrail-track-privileged-tasks: events of a privileged root
        # session carry sessionContext.assumedRoot "true".
        context["assumedRoot"] = "true"
    fed = claims.get("fed")
    if fed and fed.get("kind") == "oidc":
        context["webIdFederationData"] = {
            "federatedProvider": fed.get("provider"),
            "attributes": {},
        }
    return context
