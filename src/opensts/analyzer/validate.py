"""ValidatePolicy: grammar errors found everywhere in a policy, each with where it is.

IAM's parser (policy.parser) stops at a document's first error and says it in IAM's words;
Access Analyzer reports every problem, with AWS's issue code and a location (path + span).
So this module walks the decoded document element by element for the grammar checks
that need a location (types, missing and combined elements, empty arrays, operators,
ARN shapes), then hands each statement that passed to IAM's own parser, alone, so that
whatever else the parser refuses is reported too, once per statement, never silently
dropped. Only a document the parser accepts goes on to the checks of lint.py (which reuse
policy.validate and the catalog).

The policy types map to the parser's kinds: IDENTITY_POLICY → identity, RESOURCE_POLICY →
resource (a role trust policy with ``validatePolicyResourceType``
``AWS::IAM::AssumeRolePolicyDocument``), SERVICE_CONTROL_POLICY → SCP,
RESOURCE_CONTROL_POLICY → RCP.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opensts import safejson
from opensts.analyzer import lint
from opensts.analyzer.arns import check_arn
from opensts.analyzer.issues import ERROR, Issue, Location, PathElement
from opensts.analyzer.spans import Path, Position, PositionMap, Span, error_position
from opensts.errors import MalformedPolicyDocument
from opensts.policy.conditions import split_operator
from opensts.policy.model import PolicyKind
from opensts.policy.parser import VERSIONS, load_json, parse_policy

POLICY_KINDS = {
    "IDENTITY_POLICY": PolicyKind.IDENTITY,
    "RESOURCE_POLICY": PolicyKind.RESOURCE,
    "SERVICE_CONTROL_POLICY": PolicyKind.SCP,
    "RESOURCE_CONTROL_POLICY": PolicyKind.RCP,
}
TRUST_RESOURCE_TYPE = "AWS::IAM::AssumeRolePolicyDocument"

_FIELDS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
           "NotResource", "Condition")
_PRINCIPAL_KEYS = ("AWS", "Federated", "Service", "CanonicalUser")
_NO_PRINCIPAL = (PolicyKind.IDENTITY, PolicyKind.SCP)
_NEEDS_PRINCIPAL = (PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP)
_IAM_KINDS = (PolicyKind.IDENTITY, PolicyKind.TRUST)
_SID = re.compile(r"[0-9A-Za-z]*\Z")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_EQUALS = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
           "StringNotEqualsIgnoreCase")


def _wild_any(text: str) -> bool:
    return "*" in text or "?" in text


def kind_for(policy_type: str, resource_type: str | None) -> PolicyKind:
    if policy_type == "RESOURCE_POLICY" and resource_type == TRUST_RESOURCE_TYPE:
        return PolicyKind.TRUST
    return POLICY_KINDS[policy_type]


def _elements(path: Path, *, key: bool = False) -> tuple[PathElement, ...]:
    """A path as the model's PathElement list; ``key``: the last one is the key itself."""
    elements: list[PathElement] = [
        ("index", p) if isinstance(p, int) else ("value", p) for p in path
    ]
    if key and path and isinstance(path[-1], str):
        elements[-1] = ("key", path[-1])
    return tuple(elements)


class _Run:
    """The findings of one ValidatePolicy call, located in the policy's text."""

    def __init__(self, positions: PositionMap, kind: PolicyKind):
        self.positions = positions
        self.kind = kind
        self.issues: list[Issue] = []

    def add(self, code: str, details: str, path: Path, *, key: bool = False) -> None:
        self.issues.append(Issue(code, details, (self.location(path, key=key),)))

    def location(self, path: Path, *, key: bool = False) -> Location:
        elements = _elements(path, key=key)
        span: Span | None = None
        if key and path and isinstance(path[-1], str):
            span = self.positions.key_span(path)
        if span is None:
            span = self.positions.nearest_span(path)
        return Location(elements, span)

    def mismatch(self, path: Path, expected: str) -> None:
        self.add("DATA_TYPE_MISMATCH",
                 f"The text does not match the expected JSON data type {expected}.", path)

    def has_error(self) -> bool:
        return any(i.finding_type == ERROR for i in self.issues)


def validate(text: str, policy_type: str, resource_type: str | None = None) -> list[Issue]:
    """Every finding for ``text`` as a policy of ``policy_type`` (a PolicyType value)."""
    kind = kind_for(policy_type, resource_type)
    try:
        doc = load_json(text)
    except MalformedPolicyDocument:
        return [_json_error(text)]
    positions = PositionMap(text)
    run = _Run(positions, kind)
    if not isinstance(doc, dict):
        run.mismatch((), "Object")
        return run.issues
    for name in doc:
        if name not in ("Version", "Id", "Statement"):
            run.add("INVALID_POLICY_ELEMENT", f"The policy element {name} is not valid.",
                    (name,), key=True)
    version = doc.get("Version")
    if "Version" not in doc:
        run.add("MISSING_VERSION", "We recommend that you specify the Version element to help "
                "you with debugging permission issues.", ())
        version = "2008-10-17"
    elif type(version) is not str:
        run.mismatch(("Version",), "String")
        version = "2012-10-17"
    elif version not in VERSIONS:
        run.add("INVALID_VERSION", f"The version {version} is not valid. Use one of the "
                f"following versions: {', '.join(VERSIONS)}", ("Version",))
        version = "2012-10-17"
    if "Id" in doc and type(doc["Id"]) is not str:
        run.mismatch(("Id",), "String")
    statements = _statements(run, doc)
    parsed_ok = [_statement(run, st, path, version) for path, st in statements]
    _sids(run, statements)
    if run.has_error() or not all(parsed_ok):
        return run.issues
    try:
        policy = parse_policy(text, kind)
    except MalformedPolicyDocument as exc:
        # Every statement parsed alone, so this is a document-wide rule.
        run.add(*_parser_issue(exc.message, (), {}, kind))
        return run.issues
    lint.check(run, policy, dict(statements), text, resource_type)
    return run.issues


def _json_error(text: str) -> Issue:
    """Why the text is not a JSON document IAM reads: a duplicate key (valid JSON, but
    meaningless), or where the syntax breaks."""
    try:
        safejson.check_depth(text)  # before the recursive scan
        positions = PositionMap(text)
    except (safejson.JsonInputError, ValueError):
        return _syntax_error(text)
    if not positions.duplicates:
        return _syntax_error(text)
    path, span = positions.duplicates[0]
    return Issue("JSON_SYNTAX_ERROR", f"Fix the JSON syntax error: the key {path[-1]} appears "
                 "twice in one object.", (Location(_elements(path, key=True), span),))


def _syntax_error(text: str) -> Issue:
    offset = error_position(text)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1)
    here = Position(line, column, offset)
    return Issue("JSON_SYNTAX_ERROR",
                 f"Fix the JSON syntax error at index {offset} line {line} column {column}.",
                 (Location((), Span(here, here)),))


def _statements(run: _Run, doc: dict[str, Any]) -> list[tuple[Path, Any]]:
    if "Statement" not in doc:
        run.add("MISSING_STATEMENT", "Add a statement to the policy", ())
        return []
    raw = doc["Statement"]
    if isinstance(raw, dict):
        items: list[tuple[Path, Any]] = [(("Statement",), raw)]
    elif isinstance(raw, list):
        items = [(("Statement", i), s) for i, s in enumerate(raw)]
        if not items:
            run.add("MISSING_STATEMENT", "Add a statement to the policy", ("Statement",))
    else:
        run.mismatch(("Statement",), "Array")
        return []
    good = []
    for path, st in items:
        if isinstance(st, dict):
            good.append((path, st))
        else:
            run.mismatch(path, "Object")
    return good


def _strings(run: _Run, st: dict[str, Any], name: str, path: Path) -> list[str] | None:
    """A string or an array of strings; None (and a finding) otherwise."""
    value = st[name]
    if type(value) is str:
        return [value]
    if isinstance(value, list):
        bad = [i for i, v in enumerate(value) if type(v) is not str]
        for i in bad:
            run.mismatch((*path, name, i), "String")
        return None if bad else list(value)
    run.mismatch((*path, name), "Array")
    return None


def _statement(run: _Run, st: dict[str, Any], path: Path, version: str) -> bool:
    """Checks one statement; True when it may go on to the parser."""
    kind = run.kind
    before = len(run.issues)
    blocked = False  # the parser would refuse it for a reason reported here
    for name in st:
        if name not in _FIELDS:
            run.add("INVALID_POLICY_ELEMENT", f"The policy element {name} is not valid.",
                    (*path, name), key=True)
    sid = st.get("Sid")
    if "Sid" in st:
        if type(sid) is not str:
            run.mismatch((*path, "Sid"), "String")
        elif sid == "":
            run.add("EMPTY_SID_VALUE", "Add a value to the empty string in the Sid element.",
                    (*path, "Sid"))
        elif kind in _IAM_KINDS and not _SID.match(sid):
            run.add("UNSUPPORTED_SID", "Update the characters in the Sid element to use one "
                    "of the following character types: [a-z, A-Z, 0-9]", (*path, "Sid"))
    effect = st.get("Effect")
    if "Effect" not in st:
        run.add("MISSING_EFFECT", "Add an Effect element to the policy statement with a value "
                "of Allow or Deny.", path)
    elif type(effect) is not str:
        run.mismatch((*path, "Effect"), "String")
    elif effect not in ("Allow", "Deny"):
        run.add("INVALID_EFFECT", f"The effect {effect} is not valid. Use Allow or Deny.",
                (*path, "Effect"))
    blocked |= _pair(run, st, path, "Action", "NotAction")
    if "Action" not in st and "NotAction" not in st:
        run.add("MISSING_ACTION", "Add an Action or NotAction element to the policy statement.",
                path)
    for name in ("Action", "NotAction"):
        if name in st:
            actions = _strings(run, st, name, path)
            if actions == []:
                run.add("EMPTY_ARRAY_ACTION", "This statement includes no actions and does not "
                        "affect the policy. Specify actions.", (*path, name))
                blocked = True
            for i, action in enumerate(actions or []):
                where = (*path, name) if type(st[name]) is str else (*path, name, i)
                if action != "*" and (":" not in action or action.startswith(":")
                                      or action.count(":") > 1):
                    run.add("INVALID_ACTION", f"The action {action} does not exist.", where)
    blocked |= _pair(run, st, path, "Resource", "NotResource")
    has_resource = "Resource" in st or "NotResource" in st
    if kind == PolicyKind.TRUST and has_resource:
        run.add("ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE", "Role trust policies apply to the "
                "role that they are attached to. You cannot specify a resource. Remove the "
                "Resource or NotResource element.",
                (*path, "Resource" if "Resource" in st else "NotResource"))
    elif kind in _NO_PRINCIPAL and not has_resource:
        run.add("MISSING_RESOURCE", "Add a Resource or NotResource element to the policy "
                "statement.", path)
    for name in ("Resource", "NotResource"):
        if name in st and kind != PolicyKind.TRUST:
            resources = _strings(run, st, name, path)
            if resources == []:
                run.add("EMPTY_ARRAY_RESOURCE", "This statement includes no resources and does "
                        "not affect the policy. Specify resources.", (*path, name))
                blocked = True
            for i, resource in enumerate(resources or []):
                where = (*path, name) if type(st[name]) is str else (*path, name, i)
                blocked |= check_arn(run, resource, where, version)
    blocked |= _principal(run, st, path, effect)
    blocked |= _conditions(run, st, path)
    if len(run.issues) > before and any(i.finding_type == ERROR for i in run.issues[before:]):
        return False
    if blocked:
        return False
    single = json.dumps({"Version": version, "Statement": [st]})
    try:
        parse_policy(single, kind)
    except MalformedPolicyDocument as exc:
        run.add(*_parser_issue(exc.message, path, st, kind))
        return False
    return True


def _pair(run: _Run, st: dict[str, Any], path: Path, one: str, other: str) -> bool:
    if one in st and other in st:
        run.add("UNSUPPORTED_ELEMENT_COMBINATION", f"The policy elements {one} and {other} can "
                "not be used in the same statement. Remove one of these elements.",
                (*path, other), key=True)
        return True
    return False


def _principal(run: _Run, st: dict[str, Any], path: Path, effect: object) -> bool:
    kind = run.kind
    blocked = _pair(run, st, path, "Principal", "NotPrincipal")
    present = [n for n in ("Principal", "NotPrincipal") if n in st]
    if present and kind in _NO_PRINCIPAL:
        if kind == PolicyKind.SCP:
            run.add("SCP_SYNTAX_ERROR_PRINCIPAL", "SCPs do not support specifying principals. "
                    "Remove the Principal or NotPrincipal element.", (*path, present[0]),
                    key=True)
        else:
            run.add("UNSUPPORTED_PRINCIPAL", "The policy type IDENTITY_POLICY does not support "
                    "the Principal element. Remove the Principal element.", (*path, present[0]),
                    key=True)
        return True
    if not present:
        if kind in _NEEDS_PRINCIPAL:
            run.add("MISSING_PRINCIPAL", "Add a Principal element to the policy statement.", path)
        return blocked
    if "NotPrincipal" in st:
        if kind == PolicyKind.TRUST:
            run.add("ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL", "Role trust policies do not "
                    "support NotPrincipal. Update the policy to use a Principal element "
                    "instead.", (*path, "NotPrincipal"), key=True)
            blocked = True
        elif effect == "Allow":
            run.add("ALLOW_WITH_NOT_PRINCIPAL", "Using Allow with NotPrincipal can be overly "
                    "permissive. We recommend that you use Principal instead.",
                    (*path, "NotPrincipal"), key=True)
            blocked = True  # IAM's parser refuses it, so nothing further can be checked
    name = present[0]
    value = st[name]
    where = (*path, name)
    if value == "*":
        return blocked
    if not isinstance(value, dict):
        run.add("INVALID_PRINCIPAL_FORMAT", "The Principal element contents are not valid. "
                "Specify a key-value pair in the Principal element.", where)
        return True
    if not value:
        run.add("EMPTY_OBJECT_PRINCIPAL", "This statement includes no principals and does not "
                "affect the policy. Specify principals.", where)
        return True
    for key, entries in value.items():
        if key not in _PRINCIPAL_KEYS:
            run.add("INVALID_PRINCIPAL_KEY", f"The principal key {key} is not valid.",
                    (*where, key), key=True)
            blocked = True
            continue
        items = [entries] if type(entries) is str else entries
        if not isinstance(items, list) or any(type(i) is not str for i in items):
            run.mismatch((*where, key), "String")
            blocked = True
            continue
        if not items:
            run.add("EMPTY_ARRAY_PRINCIPAL", "This statement includes no principals and does "
                    "not affect the policy. Specify principals.", (*where, key))
            blocked = True
        for i, item in enumerate(items):
            at = (*where, key) if type(entries) is str else (*where, key, i)
            # A lone "*" is "everyone" under AWS only; any other wildcard is refused.
            if (item == "*" and key != "AWS") or (item != "*" and _wild_any(item)):
                run.add("UNSUPPORTED_WILDCARD_IN_PRINCIPAL", "Wildcards (*, ?) are not "
                        f"supported with the principal key {key}. Replace the wildcard with a "
                        "valid principal value.", at)
    return blocked


def _conditions(run: _Run, st: dict[str, Any], path: Path) -> bool:
    if "Condition" not in st:
        return False
    block = st["Condition"]
    where = (*path, "Condition")
    if not isinstance(block, dict):
        run.mismatch(where, "Object")
        return True
    if not block:
        run.add("EMPTY_OBJECT_CONDITION", "This condition block is empty and it does not affect "
                "the policy. Specify conditions.", where)
        return False
    blocked = False
    for op, keys in block.items():
        at = (*where, op)
        try:
            qualifier, base, if_exists = split_operator(op)
        except MalformedPolicyDocument:
            if op.lower().startswith("null") and op.lower().endswith("ifexists"):
                run.add("NULL_WITH_IF_EXISTS", "The Null condition operator cannot be used with "
                        "the IfExists suffix. Update the operator or the suffix.", at, key=True)
            else:
                run.add("INVALID_CONDITION_OPERATOR", f"The condition operator {op} is not "
                        "valid. Use a valid condition operator.", at, key=True)
            blocked = True
            continue
        if not isinstance(keys, dict):
            run.mismatch(at, "Object")
            blocked = True
            continue
        if base == "Null" and qualifier:
            run.add("NULL_WITH_QUALIFIER", "Avoid using the Null condition operator with the "
                    "ForAllValues or ForAnyValue qualifiers because they always return a true "
                    "or false respectively.", at, key=True)
        seen: dict[str, str] = {}
        for key, values in keys.items():
            kat = (*at, key)
            if key.lower() in seen and seen[key.lower()] != key:
                run.add("DUPLICATE_KEYS_WITH_DIFFERENT_CASE", f"The condition key {key} appears "
                        "more than once with different capitalization in the same condition "
                        "block. Remove the duplicate condition keys.", kat, key=True)
            seen.setdefault(key.lower(), key)
            if ":" not in key or key.startswith(":"):
                run.add("INVALID_CONDITION_KEY_FORMAT", "The condition key format is not valid. "
                        "Use the format service:keyname.", kat, key=True)
            items = values if isinstance(values, list) else [values]
            if any(isinstance(v, (dict, list)) for v in items):
                run.mismatch(kat, "String")
                blocked = True
                continue
            if not items:
                code = {"all": "EMPTY_ARRAY_CONDITION_FORALLVALUES",
                        "any": "EMPTY_ARRAY_CONDITION_FORANYVALUE"}.get(qualifier or "")
                code = code or ("EMPTY_ARRAY_CONDITION_IFEXISTS" if if_exists
                                else "EMPTY_ARRAY_CONDITION")
                run.add(code, f"There are no values for the condition key {key} and it does not "
                        "affect the policy. Specify conditions.", kat)
            if base in _EQUALS and any(
                    type(v) is str and _wild_any(_VARIABLE.sub("", v)) for v in items):
                run.add("WILDCARD_WITHOUT_LIKE_OPERATOR", "Your condition value includes a "
                        "* or ? character. If you meant to use a wildcard (*, ?), update the "
                        "condition operator to include Like.", kat)
    return blocked


def _sids(run: _Run, statements: list[tuple[Path, Any]]) -> None:
    seen: set[str] = set()
    for path, st in statements:
        sid = st.get("Sid")
        if type(sid) is not str or not sid:
            continue
        if sid in seen:
            if run.kind in (PolicyKind.RESOURCE, PolicyKind.RCP):
                run.add("UNIQUE_SIDS_RECOMMENDED", "We recommend that you use statement IDs "
                        "that are unique to your policy. Update the Sid value.", (*path, "Sid"))
            else:
                run.add("UNIQUE_SIDS_REQUIRED", "Duplicate statement IDs are not supported for "
                        "this policy type. Update the Sid value.", (*path, "Sid"))
        seen.add(sid)


def _parser_issue(message: str, path: Path, st: dict[str, Any],
                  kind: PolicyKind) -> tuple[str, str, Path]:
    """What IAM's parser refused, as an issue code at the element it is about. Its message
    is kept in the details, so nothing the parser says is lost."""
    said = f"IAM refuses this statement: {message}"
    if message.startswith("Invalid principal in policy"):
        return "INVALID_PRINCIPAL_FORMAT", said, (*path, "Principal")
    if message.startswith("Trust Policy statement actions"):
        return ("UNSUPPORTED_ACTION_IN_POLICY", "The action is not supported for the "
                f"resource-based policy attached to the resource type {TRUST_RESOURCE_TYPE}. "
                f"{said}", (*path, "Action"))
    if message.startswith("Has prohibited field "):
        field = message.rsplit(" ", 1)[-1]
        return "INVALID_POLICY_ELEMENT", said, (*path, field)
    if "Condition" in st and any(
            str(op).lower().startswith(("date", "foranyvalue:date", "forallvalues:date"))
            for op in st["Condition"]):
        return "TYPE_MISMATCH_DATE", said, (*path, "Condition")
    if "Resource" in st or "NotResource" in st:
        return "INVALID_ARN_RESOURCE", said, (*path, "Resource" if "Resource" in st
                                              else "NotResource")
    return "INVALID_POLICY_ELEMENT", said, path
