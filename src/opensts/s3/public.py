"""Is a bucket policy public? Amazon S3's own definition, for Block Public Access.

S3 User Guide, access-control-block-public-access.html, "The meaning of 'public'" (§ Bucket
policies): "Amazon S3 begins by assuming that the policy is public. It then evaluates the
policy to determine whether it qualifies as non-public. To be considered non-public, a bucket
policy must grant access only to fixed values (values that don't contain a wildcard or an
AWS Identity and Access Management Policy Variable) for one or more of the following":

* an AWS principal, user, role, or service principal (e.g. ``aws:PrincipalOrgID``);
* a set of CIDRs, using ``aws:SourceIp`` — "very broad IP ranges ... are evaluated as
  public. This includes values broader than /8 for IPv4 and /32 for IPv6 (excluding RFC1918
  private ranges)";
* ``aws:SourceArn``, ``aws:SourceVpc``, ``aws:SourceVpce``, ``aws:SourceOwner``,
  ``aws:SourceAccount``, ``s3:x-amz-server-side-encryption-aws-kms-key-id``;
* ``aws:userid``, outside the pattern ``AROLEID:*``;
* ``s3:DataAccessPointArn`` (whose access-point name may be a wildcard "as long as the
  account id is fixed") and ``s3:DataAccessPointAccount``.

So each Allow statement is looked at on its own (Deny statements grant nothing). Its grant is
fixed when the Principal names only fixed AWS principals, service principals or canonical
users; a wildcard principal (``"*"``, ``{"AWS": "*"}``) or a federated one (the guide's first
public example is ``{"Federated": "graph.facebook.com"}``) is not, unless a condition binds one
of the keys above to fixed values. Conditions of a statement are ANDed, so one binding
condition is enough; the values of one condition are ORed, so every one must be fixed. Only
operators that limit the key to their values bind: the positive String/Arn/IpAddress ones,
also under ``ForAnyValue:``; never a negated operator, ``...IfExists`` (true when the key is
absent, as ``aws:SourceVpc`` is for any request from the internet), ``ForAllValues:`` (true
for an absent key) or Null/Bool/Numeric/Date. Actions do not matter: S3 "reviews policies for
current actions and any potential actions".

Interpretations (UNVERIFIED against live S3, chosen to err toward "public", which is the
closed direction for BlockPublicPolicy and RestrictPublicBuckets): ``aws:PrincipalAccount``,
``aws:PrincipalArn`` and ``aws:PrincipalOrgPaths`` count with ``aws:PrincipalOrgID`` as
"an AWS principal ... (e.g. aws:PrincipalOrgID)"; an aws:SourceIp value that is not a valid
CIDR counts as public; ``AROLEID:*`` is read as a role's unique id followed by ``:*``.
"""

from __future__ import annotations

import functools
import ipaddress
import re

from opensts.errors import MalformedPolicyDocument
from opensts.policy import PolicyKind, parse_policy
from opensts.policy.conditions import Condition, split_operator
from opensts.policy.parser import Statement

# Keys that bind a grant to fixed values (lower case: condition keys are case-insensitive).
_FIXED_STRING_KEYS = frozenset({
    "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
    "aws:sourceaccount", "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointaccount", "aws:principalorgid", "aws:principalaccount",
    "aws:principalarn", "aws:principalorgpaths",
})
_BINDING_BASES = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike",
                            "ArnEquals", "ArnLike"})
_ROLE_SESSIONS = re.compile(r"AROA[A-Z0-9]+:\*\Z")
_ACCESS_POINTS = re.compile(
    r"arn:aws[a-z-]*:s3:[a-z0-9-]+:\d{12}:accesspoint/(?:[^*?$]*\*?)\Z")
_IPV4_BROADEST = 8  # prefix lengths shorter than these are "very broad", so public
_IPV6_BROADEST = 32


def fixed_value(value: str) -> bool:
    """A value without a wildcard or a policy variable."""
    return not ("*" in value or "?" in value or "${" in value)


def cidr_not_public(value: str) -> bool:
    """Whether an aws:SourceIp range is narrow enough that S3 does not call it public."""
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return False
    if net.version == 4:
        return net.prefixlen >= _IPV4_BROADEST or net.is_private
    return net.prefixlen >= _IPV6_BROADEST


def _value_binds(key: str, value: str) -> bool:
    if key == "aws:userid":
        return fixed_value(value) or bool(_ROLE_SESSIONS.match(value))
    if key == "s3:dataaccesspointarn":
        return fixed_value(value) or bool(_ACCESS_POINTS.match(value))
    return fixed_value(value)


def _binds(condition: Condition) -> bool:
    """True when the condition limits the request to fixed values of a listed key."""
    if condition.negated or condition.if_exists or condition.qualifier == "all":
        return False
    if not condition.values:
        return False
    key = condition.key_l
    if key == "aws:sourceip":
        return condition.family == "ip" and all(cidr_not_public(v) for v in condition.values)
    if key not in _FIXED_STRING_KEYS and key not in ("aws:userid", "s3:dataaccesspointarn"):
        return False
    _, base, _ = split_operator(condition.operator)  # operator names ignore case
    if base not in _BINDING_BASES:
        return False
    return all(_value_binds(key, v) for v in condition.values)


def _fixed_principal(statement: Statement) -> bool:
    principal = statement.principal
    if principal is None or principal.wildcard or principal.federated:
        return False
    return bool(principal.aws or principal.service or principal.canonical)


def statement_is_public(statement: Statement) -> bool:
    if statement.is_deny:
        return False
    if _fixed_principal(statement):
        return False
    return not any(_binds(c) for c in statement.conditions)


@functools.lru_cache(maxsize=1024)
def is_public(policy_text: str) -> bool:
    """True when S3 would call this bucket policy public (GetBucketPolicyStatus IsPublic).

    A document that does not parse as a resource policy is called public: it is never
    stored (services.s3.bucket_policy refuses it), and if one ever were, treating it as
    public is the safe answer for BlockPublicPolicy and RestrictPublicBuckets.
    """
    try:
        policy = parse_policy(policy_text, PolicyKind.RESOURCE)
    except MalformedPolicyDocument:
        return True
    return any(statement_is_public(s) for s in policy.statements)
