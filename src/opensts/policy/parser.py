"""Parse and compile a JSON policy document.

Grammar: "Grammar of the IAM JSON policy language" (reference_policies_grammar) and the
element pages it links to. Kind-specific rules:

* identity, boundary, session and SCP policies must not name a principal ("Policy document
  should not specify a principal.") and must name resources;
* resource and trust policies need ``Principal`` (or, resource policies only, a Deny with
  ``NotPrincipal``); trust policies have no ``Resource``;
* ``NotPrincipal`` works only with ``"Effect": "Deny"`` and not in trust policies, SCPs or
  RCPs (reference_policies_elements_notprincipal);
* RCPs name ``"Principal": "*"`` and do not support ``NotAction``
  (orgs_manage_policies_rcps_syntax).

The JSON is read strictly: duplicate object keys are rejected, because JSON leaves their
meaning open (RFC 8259 §4) and a second ``Effect`` or ``Condition`` could hide intent.
Compiled policies are cached by (text, kind), so parsing the same text twice is a lookup.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from opensts import safejson
from opensts.errors import MalformedPolicyDocument
from opensts.policy.conditions import (
    OPERATORS,
    Condition,
    compile_conditions,
    parse_date,
    split_operator,
)
from opensts.policy.model import PolicyKind
from opensts.policy.principals import PrincipalMatcher
from opensts.policy.variables import Template, parse_template
from opensts.policy.wildcard import GlobSet, dynamic_matcher

VERSIONS = ("2012-10-17", "2008-10-17")
SYNTAX = "Syntax errors in policy."
_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_IAM_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.TRUST}
)
_NO_PRINCIPAL = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
)
_SID = re.compile(r"[0-9A-Za-z]*\Z")
LEGACY = "The policy failed legacy parsing"
INVALID_JSON = "This policy contains invalid Json"
TRUST_ACTIONS = ("Trust Policy statement actions can only be sts:AssumeRole, "
                 "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity")
# Partitions an IAM policy's Resource may name (aws-partitions endpoints.json).
_PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e",
                         "aws-iso-f", "aws-eusc"})
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_WILDCARD = re.compile(r"[*?]")
_NO_REGION = frozenset({"iam", "s3"})
_CACHE_SIZE = 4096


class _Number(str):
    """A JSON number kept as its text, told apart from a JSON string."""


def with_detail(message: str, detail: str) -> str:
    """AWS's message first, verbatim, then what exactly is wrong: clients and scripts that
    match IAM's text keep working, and people learn where to look."""
    return f"{message} ({detail})"


class _Refused(Exception):
    """Raised by the decoder hooks; not a ValueError, so it passes safejson untouched."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"duplicate key {json.dumps(key)}")
        out[key] = value
    return out


def _bad_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON value")


def json_error_detail(text: str, reason: str) -> str:
    """Where JSON ``text`` breaks: "line 3, column 5: Expecting ',' delimiter".

    safejson keeps decoder details to itself, so the text is decoded again, plainly, only
    on this error path; a refusal that is not a syntax error (nesting, a lone surrogate)
    keeps safejson's reason."""
    if reason == "The JSON text is not valid.":
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            return f"line {err.lineno}, column {err.colno}: {err.msg}"
        except (ValueError, RecursionError):
            pass
    return reason.rstrip(".")


def load_json(text: str, message: str = SYNTAX) -> Any:
    """Decode a policy's JSON; MalformedPolicyDocument(``message`` plus where) if it is not."""
    try:
        return safejson.loads(
            text,
            object_pairs_hook=_pairs,
            parse_float=_Number,
            parse_int=_Number,
            parse_constant=_bad_constant,
        )
    except safejson.JsonInputError as exc:
        raise MalformedPolicyDocument(
            with_detail(message, json_error_detail(text, exc.reason))
        ) from exc
    except _Refused as exc:
        raise MalformedPolicyDocument(with_detail(message, exc.detail)) from None


def _strings(value: Any, *, empty_ok: bool = False) -> list[str] | None:
    """A string or a list of strings (reference_policies_grammar: most elements take either)."""
    if type(value) is str:
        return [value]
    if isinstance(value, list) and all(type(v) is str for v in value) and (value or empty_ok):
        return list(value)
    return None


def _legacy_resource(pattern: str, variables: bool) -> bool:
    """What IAM's legacy resource parsing takes: ``*`` or
    ``arn:partition:service:region:account:resource`` with a known partition, no region in
    an IAM or S3 ARN, an IAM resource path without empty segments, and policy variables
    only with Version 2012-10-17."""
    if pattern == "*":
        return True
    if "${" in pattern:
        if not variables:
            return False
        pattern = _VARIABLE.sub("*", pattern)
    parts = pattern.split(":", 5)
    if parts[0] != "arn":
        return False
    if len(parts) < 6:
        # Too few segments, unless a final wildcard spans the rest (arn:aws:s3:*).
        return parts[-1].endswith("*") and len(parts) >= 3
    _, partition, service, region, _account, resource = parts
    if partition not in _PARTITIONS and not _WILDCARD.search(partition):
        return False
    if service in _NO_REGION and region and not _WILDCARD.search(region):
        return False
    if service == "iam":
        if "//" in resource or resource.startswith("/"):
            return False
        if "/" not in resource and resource != "root" and not _WILDCARD.search(resource):
            return False
    return True  # an empty resource is taken: AWS's own policies name arn:aws:organizations::*:


def _trust_action(action: str) -> bool:
    """Trust policies name STS actions (or wildcards that cover some)."""
    if action == "*":
        return True
    service, _, name = action.partition(":")
    if service.lower() != "sts" and not _WILDCARD.search(service):
        return False
    if _WILDCARD.search(action):
        return True
    return name.lower() in _STS_TRUST_ACTIONS


# STS actions a role's trust policy grants (service authorization reference, AWS STS).
_STS_TRUST_ACTIONS = frozenset(a.lower() for a in (
    "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "TagSession",
    "SetSourceIdentity", "SetContext", "AssumeRoot", "DecodeAuthorizationMessage",
    "GetAccessKeyInfo", "GetCallerIdentity", "GetFederationToken", "GetServiceBearerToken",
    "GetSessionToken"))


class ResourceMatcher:
    """A Resource/NotResource element: static patterns plus patterns with variables."""

    __slots__ = ("static", "templates")

    def __init__(self, patterns: list[str], variables: bool):
        templates = [parse_template(p, enabled=variables) for p in patterns]
        self.static = GlobSet([t.text for t in templates if not t.has_vars], arn=True)
        self.templates: tuple[Template, ...] = tuple(t for t in templates if t.has_vars)

    def __call__(
        self, resource: str, ctx: Any, seen: dict[str, str | None] | None = None
    ) -> bool | None:
        """True on a match; None when nothing matched and a variable had no value."""
        if self.static(resource):
            return True
        unresolved = False
        for t in self.templates:
            parts = t.resolve(ctx, seen)
            if parts is None:
                # Undecidable only if some value of the missing variable would match.
                if dynamic_matcher(t.any_value_parts(), arn=True)(resource):
                    unresolved = True
            elif dynamic_matcher(parts, arn=True)(resource):
                return True
        return None if unresolved else False


class Statement:
    """One compiled statement."""

    __slots__ = (
        "actions",
        "check_resource",
        "condition_keys",
        "conditions",
        "effect",
        "index",
        "is_deny",
        "matched_memo",
        "not_action",
        "not_principal",
        "not_resource",
        "principal",
        "raw",
        "resources",
        "sid",
    )

    def __init__(self, index: int, raw: Mapping[str, Any], kind: PolicyKind, variables: bool):
        self.index = index
        self.raw = raw
        # The evaluator's MatchedStatement records for this statement, keyed by (source id,
        # policy type, level): they are immutable, so one per key is shared by all decisions.
        self.matched_memo: dict[tuple[str, str, int | None], Any] = {}
        unknown = sorted(set(raw) - _STATEMENT_FIELDS)
        if unknown:
            raise MalformedPolicyDocument(f"Unknown field {unknown[0]}")
        sid = raw.get("Sid")
        if sid is not None and type(sid) is not str:
            raise MalformedPolicyDocument(SYNTAX)
        if sid is not None and kind in _IAM_KINDS and not _SID.match(sid):
            raise MalformedPolicyDocument(
                "Statement IDs (SID) must be alpha-numeric. "
                "Check that your input satisfies the regular expression [0-9A-Za-z]*"
            )
        self.sid: str | None = sid
        effect = raw.get("Effect")
        if effect is None:
            raise MalformedPolicyDocument("Missing required field Effect")
        if effect not in ("Allow", "Deny"):
            raise MalformedPolicyDocument(f"Invalid effect: {effect}")
        self.effect: str = effect
        self.is_deny = effect == "Deny"
        self._principal(raw, kind)
        self._actions(raw, kind)
        self._resources(raw, kind, variables)
        self._conditions(raw, variables, kind)
        if kind == PolicyKind.TRUST:
            actions = _strings(raw["NotAction" if self.not_action else "Action"]) or []
            if not all(_trust_action(a) for a in actions):
                raise MalformedPolicyDocument(TRUST_ACTIONS)

    def _principal(self, raw: Mapping[str, Any], kind: PolicyKind) -> None:
        has_p, has_np = "Principal" in raw, "NotPrincipal" in raw
        if kind in _NO_PRINCIPAL and (has_p or has_np):
            raise MalformedPolicyDocument("Policy document should not specify a principal.")
        if has_p and has_np:
            raise MalformedPolicyDocument(SYNTAX)
        if has_np and kind in (PolicyKind.TRUST, PolicyKind.RCP):
            raise MalformedPolicyDocument("Has prohibited field NotPrincipal")
        if has_np and not self.is_deny:
            raise MalformedPolicyDocument('NotPrincipal is only supported with "Effect": "Deny"')
        if kind in (PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP) and not (
            has_p or has_np
        ):
            raise MalformedPolicyDocument("Missing required field Principal")
        self.not_principal = has_np
        value = raw.get("NotPrincipal" if has_np else "Principal")
        self.principal = PrincipalMatcher(value) if (has_p or has_np) else None
        if kind == PolicyKind.RCP and not (self.principal and self.principal.wildcard):
            raise MalformedPolicyDocument(f"Invalid principal in policy: {json.dumps(value)}")

    def _actions(self, raw: Mapping[str, Any], kind: PolicyKind) -> None:
        has_a, has_na = "Action" in raw, "NotAction" in raw
        if has_a and has_na:
            raise MalformedPolicyDocument(SYNTAX)
        if not (has_a or has_na):
            raise MalformedPolicyDocument("Policy statement must contain actions.")
        if has_na and kind == PolicyKind.RCP:
            raise MalformedPolicyDocument("Has prohibited field NotAction")
        actions = _strings(raw["NotAction" if has_na else "Action"], empty_ok=True)
        if actions is None:
            raise MalformedPolicyDocument(SYNTAX)
        if not actions:
            raise MalformedPolicyDocument("Policy statement must contain actions.")
        for a in actions:
            if a == "*":
                continue
            if ":" not in a or a.startswith(":"):
                raise MalformedPolicyDocument(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
                )
            if a.count(":") > 1:
                raise MalformedPolicyDocument("Actions/Condition can contain only one colon.")
        self.not_action = has_na
        self.actions = GlobSet(actions, ignore_case=True)

    def _resources(self, raw: Mapping[str, Any], kind: PolicyKind, variables: bool) -> None:
        has_r, has_nr = "Resource" in raw, "NotResource" in raw
        if kind == PolicyKind.TRUST and (has_r or has_nr):
            raise MalformedPolicyDocument(
                "Has prohibited field " + ("Resource" if has_r else "NotResource")
            )
        if has_r and has_nr:
            raise MalformedPolicyDocument(SYNTAX)
        self.not_resource = has_nr
        self.resources: ResourceMatcher | None = None
        # False when every resource matches (no element, or ``"Resource": "*"``), so the
        # evaluator can skip the call.
        self.check_resource = False
        if not (has_r or has_nr):
            if kind in _NO_PRINCIPAL:
                raise MalformedPolicyDocument("Policy statement must contain resources.")
            return  # trust policies, and resource policies that imply their own resource
        patterns = _strings(raw["NotResource" if has_nr else "Resource"], empty_ok=True)
        if patterns is None:
            raise MalformedPolicyDocument(SYNTAX)
        if not patterns:
            raise MalformedPolicyDocument("Policy statement must contain resources.")
        for p in patterns:
            if p != "*" and ":" not in p:
                raise MalformedPolicyDocument(f'Resource {p} must be in ARN format or "*".')
            if kind in _IAM_KINDS and not _legacy_resource(p, variables):
                raise MalformedPolicyDocument(LEGACY)
        self.resources = ResourceMatcher(patterns, variables)
        self.check_resource = has_nr or not self.resources.static.match_all

    def _conditions(self, raw: Mapping[str, Any], variables: bool, kind: PolicyKind) -> None:
        block = raw.get("Condition", {})
        if not isinstance(block, dict):
            raise MalformedPolicyDocument(SYNTAX)
        iam = kind in _IAM_KINDS
        clean: dict[str, dict[str, list[str]]] = {}
        for op, keys in block.items():
            if not isinstance(keys, dict):
                raise MalformedPolicyDocument(SYNTAX)
            family = None
            if iam:
                # IAM reads the operator, then the values, and only then the key.
                try:
                    family = OPERATORS[split_operator(op)[1]][0]
                except MalformedPolicyDocument:
                    raise MalformedPolicyDocument(SYNTAX) from None
            clean[op] = {}
            for key, values in keys.items():
                items = values if isinstance(values, list) else [values]
                out: list[str] = []
                for v in items:
                    if isinstance(v, bool):
                        out.append("true" if v else "false")
                    elif isinstance(v, str):  # includes JSON numbers kept as text
                        out.append(str(v))
                    else:
                        raise MalformedPolicyDocument(SYNTAX)
                if family == "date" and any(
                        "${" not in v and parse_date(v) is None for v in out):
                    raise MalformedPolicyDocument(LEGACY)
                # IAM takes keys without a vendor prefix (they match no request key); an
                # empty vendor is refused, as elsewhere.
                if key.startswith(":") or (not iam and ":" not in key):
                    raise MalformedPolicyDocument(
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
                    )
                clean[op][key] = out
        self.conditions: tuple[Condition, ...] = compile_conditions(clean, variables)
        self.condition_keys = tuple({(c.key, c.key_l) for c in self.conditions})

    # --- matching --------------------------------------------------------------------------

    def action_matches(self, action_l: str) -> bool:
        return self.actions(action_l) != self.not_action

    def resource_matches(
        self, resource: str, ctx: Any, seen: dict[str, str | None] | None = None
    ) -> bool:
        if self.resources is None:
            return True
        hit = self.resources(resource, ctx, seen)
        if hit is None:
            # A variable without a value "will not match any resource", and "might cause the
            # entire statement to be invalid" (reference_policies_variables): when the result
            # hinges on that value, the statement does not apply, even through NotResource.
            return False
        return hit != self.not_resource

    def label(self) -> str:
        return f"Statement[{self.index}]" + (f" (Sid {self.sid})" if self.sid else "")


class Policy:
    """A parsed, compiled policy. Immutable; evaluation never parses or compiles."""

    __slots__ = ("__weakref__", "by_action", "id", "kind", "statements", "text", "version")

    def __init__(self, text: str, kind: PolicyKind):
        # IAM words a broken trust policy differently (CreateRole, UpdateAssumeRolePolicy).
        doc = load_json(text, INVALID_JSON if kind == PolicyKind.TRUST else SYNTAX)
        if not isinstance(doc, dict):
            raise MalformedPolicyDocument(SYNTAX)
        unknown = sorted(set(doc) - {"Version", "Id", "Statement"})
        if unknown:
            raise MalformedPolicyDocument(f"Unknown field {unknown[0]}")
        version = doc.get("Version", "2008-10-17")
        if type(version) is not str or version not in VERSIONS:
            raise MalformedPolicyDocument("The policy failed legacy parsing")
        pid = doc.get("Id")
        if pid is not None and type(pid) is not str:
            raise MalformedPolicyDocument(SYNTAX)
        if "Statement" not in doc:
            raise MalformedPolicyDocument("Missing required field Statement")
        raw = doc["Statement"]
        raw_list = [raw] if isinstance(raw, dict) else raw
        if not isinstance(raw_list, list) or not raw_list:
            raise MalformedPolicyDocument(SYNTAX)
        variables = version == "2012-10-17"
        statements = []
        for i, s in enumerate(raw_list):
            if not isinstance(s, dict):
                raise MalformedPolicyDocument(SYNTAX)
            statements.append(Statement(i, s, kind, variables))
        if kind in _IAM_KINDS:
            sids = [s.sid for s in statements if s.sid]
            if len(sids) != len(set(sids)):
                raise MalformedPolicyDocument(
                    "Statement IDs (SID) in a single policy must be unique."
                )
        self.text = text
        self.kind = kind
        self.version: str = version
        self.id: str | None = pid
        self.statements: tuple[Statement, ...] = tuple(statements)
        # Memo of statements_for; the evaluator reads it directly before calling.
        self.by_action: dict[str, tuple[Statement, ...]] = {}

    def statements_for(self, action_l: str) -> tuple[Statement, ...]:
        """Statements whose Action/NotAction covers ``action_l`` (lower-cased), memoized."""
        hit = self.by_action.get(action_l)
        if hit is None:
            if len(self.by_action) >= _CACHE_SIZE:
                self.by_action.clear()
            hit = tuple(s for s in self.statements if s.action_matches(action_l))
            self.by_action[action_l] = hit
        return hit

    def __repr__(self) -> str:
        return f"Policy(kind={self.kind.value}, statements={len(self.statements)})"


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compiled(text: str, kind: PolicyKind) -> Policy:
    return Policy(text, kind)


def parse_policy(text: str, kind: PolicyKind) -> Policy:
    """Parse, validate and compile ``text``; raises MalformedPolicyDocument if invalid."""
    if not isinstance(text, str):
        raise MalformedPolicyDocument(SYNTAX)
    return _compiled(text, kind)
