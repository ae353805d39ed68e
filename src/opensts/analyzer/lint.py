"""ValidatePolicy's checks of a policy that IAM's parser accepts.

The service catalog checks (actions, condition keys, condition values, set operators on
single-valued keys, variables in an old version) are policy.validate's, translated to AWS's
issue codes and located; the others are Access Analyzer's security warnings and
suggestions that OpenSTS can decide exactly: iam:PassRole with wildcards or NotResource,
OIDC trust without a condition on the provider's claims, redundant actions and resources,
wildcards in a service name, policy size quotas, and for ``AWS::S3::Bucket`` actions and
ARNs that a bucket policy cannot name.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Mapping
from typing import Any, Protocol

from opensts.analyzer.spans import Path
from opensts.policy import catalog
from opensts.policy.model import PolicyKind
from opensts.policy.parser import Policy, Statement
from opensts.policy.validate import Finding, policy_size, validate_policy
from opensts.policy.wildcard import GlobSet

IDENTITY_QUOTA = 6144  # managed policy, characters without whitespace (reference_iam-quotas)
TRUST_QUOTA = 2048  # role trust policy length, default quota
_WELL_KNOWN_OIDC = ("cognito-identity.amazonaws.com", "accounts.google.com",
                    "graph.facebook.com", "www.amazon.com")
_GITHUB = "token.actions.githubusercontent.com"
_TYPE_CODES = {"numeric": "TYPE_MISMATCH_NUMBER", "date": "TYPE_MISMATCH_DATE",
               "ip": "TYPE_MISMATCH_IP_RANGE", "bool": "TYPE_MISMATCH_BOOLEAN",
               "binary": "TYPE_MISMATCH_STRING"}


class Reporter(Protocol):
    kind: PolicyKind

    def add(self, code: str, details: str, path: Path, *, key: bool = False) -> None: ...


def check(run: Reporter, policy: Policy, paths: Mapping[Path, Any], text: str,
          resource_type: str | None) -> None:
    by_index = {i: path for i, path in enumerate(paths)}
    _catalog(run, policy, by_index, text)
    for st in policy.statements:
        path = by_index[st.index]
        if run.kind == PolicyKind.IDENTITY:
            _pass_role(run, st, path)
        if run.kind == PolicyKind.TRUST:
            _oidc(run, st, path)
        _redundant(run, st, path)
        _service_wildcards(run, st, path)
        _source_ip(run, st, path)
        if resource_type == "AWS::S3::Bucket":
            _s3_bucket(run, st, path)
    _redundant_statements(run, policy, by_index)
    size = policy_size(text)
    if run.kind == PolicyKind.IDENTITY and size > IDENTITY_QUOTA:
        run.add("POLICY_SIZE_EXCEEDS_IDENTITY_POLICY_QUOTA", f"The {size} characters in the "
                f"identity policy, excluding whitespace, exceed the {IDENTITY_QUOTA} character "
                "maximum for inline and managed policies. We recommend that you use multiple "
                "granular policies.", ())
    if run.kind == PolicyKind.TRUST and size > TRUST_QUOTA:
        run.add("POLICY_SIZE_EXCEEDS_ROLE_TRUST_POLICY_QUOTA", "The characters in the role "
                "trust policy, excluding whitespace, exceed the character maximum. We recommend "
                "that you request a role trust policy length quota increase.", ())


def _listed(st: Statement, element: str) -> list[str]:
    raw = st.raw.get(element)
    if raw is None:
        return []
    return [raw] if isinstance(raw, str) else list(raw)


def _entry_path(st: Statement, path: Path, element: str, value: str) -> Path:
    raw = st.raw.get(element)
    if isinstance(raw, list):
        for i, v in enumerate(raw):
            if v == value:
                return (*path, element, i)
    return (*path, element)


def _condition_path(st: Statement, path: Path, key: str) -> Path:
    for op, keys in st.raw.get("Condition", {}).items():
        if key in keys:
            return (*path, "Condition", op, key)
    return (*path, "Condition")


def _catalog(run: Reporter, policy: Policy, by_index: dict[int, Path], text: str) -> None:
    findings: list[Finding] = validate_policy(text, policy.kind)
    done: set[tuple[str, Path]] = set()
    for f in findings:
        if f.statement is None:
            if f.code == "VARIABLES_IN_OLD_VERSION":
                run.add("VARIABLE_UNSUPPORTED_IN_VERSION", "To include variables in your "
                        "policy, use the policy version 2012-10-17 or later.", ("Version",))
            continue
        st = policy.statements[f.statement]
        path = by_index[f.statement]
        value = f.value or ""
        if f.element == "Action":
            at = _entry_path(st, path, "NotAction" if st.not_action else "Action", value)
        else:
            at = _condition_path(st, path, value)
        issue = _translate(f, st, value)
        if issue is None or (issue[0], at) in done:
            continue
        done.add((issue[0], at))
        run.add(issue[0], issue[1], at, key=issue[0] == "FORALLVALUES_WITH_SINGLE_VALUED_KEY")


def _translate(f: Finding, st: Statement, value: str) -> tuple[str, str] | None:
    service = value.split(":", 1)[0]
    if f.code in ("UNKNOWN_ACTION", "NO_MATCHING_ACTION"):
        return "INVALID_ACTION", f"The action {value} does not exist."
    if f.code == "NOT_AN_AWS_SERVICE":
        if f.element == "Action":
            return ("INVALID_SERVICE_IN_ACTION", f"The service {service} specified in the "
                    "action does not exist. (OpenSTS authorizes such actions for your own APIs "
                    "through its HTTP authorizer; AWS services do not know them.)")
        return "INVALID_SERVICE", f"The service {service} does not exist. Use a valid service name."
    if f.code == "UNKNOWN_CONDITION_KEY":
        if service.lower() == "aws":
            return ("INVALID_GLOBAL_CONDITION_KEY", f"The condition key {value} does not "
                    "exist. Use a valid condition key.")
        return ("INVALID_SERVICE_CONDITION_KEY", f"The condition key {value} does not exist "
                f"in the service {service}. Use a valid condition key.")
    if f.code == "INVALID_CONDITION_VALUE":
        for c in st.conditions:
            if c.key == value and c.family in _TYPE_CODES:
                code = _TYPE_CODES[c.family]
                return code, {
                    "TYPE_MISMATCH_NUMBER": f"Add a valid numeric value for the condition "
                                            f"operator {c.operator}.",
                    "TYPE_MISMATCH_DATE": "The date condition operator is used with an invalid "
                                          "value. Specify a valid date using YYYY-MM-DD or "
                                          "other ISO 8601 date/time format.",
                    "TYPE_MISMATCH_IP_RANGE": f"The condition operator {c.operator} is used "
                                              "with an invalid IP range value. Specify the IP "
                                              "range in standard CIDR format.",
                    "TYPE_MISMATCH_BOOLEAN": "Add a valid Boolean value (true or false) for "
                                             f"the condition operator {c.operator}.",
                    "TYPE_MISMATCH_STRING": "Add a valid base64-encoded string value for the "
                                            f"condition operator {c.operator}.",
                }[code]
        return None
    if f.code == "SET_OPERATOR_ON_SINGLE_VALUED_KEY":
        if any(c.key == value and c.qualifier == "all" for c in st.conditions):
            return ("FORALLVALUES_WITH_SINGLE_VALUED_KEY", "Using ForAllValues qualifier with "
                    f"the single-valued condition key {value} can be overly permissive. We "
                    "recommend that you remove ForAllValues:.")
        return None
    # RESOURCE_TYPE_MISMATCH: Access Analyzer has no such check for identity policies.
    return None


def _pass_role(run: Reporter, st: Statement, path: Path) -> None:
    if st.is_deny or not st.action_matches("iam:passrole"):
        return
    exact = not st.not_action and any(a.lower() == "iam:passrole" for a in _listed(st, "Action"))
    if st.not_resource:
        resource_star = True
    else:
        resource_star = any("*" in r and catalog.resource_fits("iam:PassRole", r)
                            for r in _listed(st, "Resource"))
    if not resource_star:
        return
    if st.not_action:
        code = ("PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE" if st.not_resource
                else "PASS_ROLE_WITH_STAR_IN_RESOURCE_AND_NOT_ACTION")
        why = ("Using NotAction with NotResource" if st.not_resource else
               "Using a resource with wildcards (*) and NotAction")
    elif exact:
        code = ("PASS_ROLE_WITH_NOT_RESOURCE" if st.not_resource
                else "PASS_ROLE_WITH_STAR_IN_RESOURCE")
        why = ("Using the iam:PassRole action with NotResource" if st.not_resource else
               "Using the iam:PassRole action with wildcards (*) in the resource")
    else:
        code = ("PASS_ROLE_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE" if st.not_resource
                else "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE")
        why = ("Using an action with a wildcard (*) and NotResource" if st.not_resource else
               "Using wildcards (*) in the action and the resource")
    element = "NotResource" if st.not_resource else "Resource"
    run.add(code, f"{why} can be overly permissive because it allows iam:PassRole permissions "
            "on multiple resources. We recommend that you specify resource ARNs or add the "
            "iam:PassedToService condition key to your statement.", (*path, element))


def _oidc(run: Reporter, st: Statement, path: Path) -> None:
    if st.is_deny or st.principal is None:
        return
    keys = {c.key_l for c in st.conditions}
    for provider in sorted(st.principal.federated):
        if "saml-provider/" in provider:
            continue
        host = provider.split("oidc-provider/", 1)[1] if "oidc-provider/" in provider else (
            provider if provider in _WELL_KNOWN_OIDC else None)
        if host is None:
            continue
        federated = st.raw["Principal"].get("Federated")
        at: Path = (*path, "Principal", "Federated")
        if isinstance(federated, list):
            at = (*at, federated.index(provider))
        if host.lower().startswith(_GITHUB):
            if f"{_GITHUB}:sub" not in keys:
                run.add("MISSING_GITHUB_REPO_CONDITION_KEY", "Granting a federated GitHub "
                        "principal permissions without a condition key can allow more sources "
                        "to assume the role than you intended. Add the "
                        f"{_GITHUB}:sub condition key and specify the branch and repository "
                        "name in the value.", at)
        elif not any(k.startswith(host.lower() + ":") for k in keys):
            run.add("MISSING_CONDITION_KEY_FOR_OIDC_PRINCIPAL", "Using an Open ID Connect "
                    "principal without a condition can be overly permissive. Add condition "
                    f"keys with a prefix that matches your federated OIDC principals ({host}:) "
                    "to ensure that only the intended identity provider assumes the role.", at)


def _covers_action(broad: str, narrow: str) -> bool:
    if broad.lower() == narrow.lower():
        return True
    if "*" not in broad and "?" not in broad:
        return False
    if "*" not in narrow and "?" not in narrow:
        # An action the catalog does not know is INVALID_ACTION, not redundant.
        known = catalog.action_exists(narrow) or not catalog.service_exists(
            narrow.split(":", 1)[0])
        return known and GlobSet([broad], ignore_case=True)(narrow.lower())
    inner = _expanded(narrow.lower())
    return bool(inner) and inner <= _expanded(broad.lower())


@functools.lru_cache(maxsize=256)
def _expanded(pattern: str) -> frozenset[str]:
    """The catalog's actions an Action pattern names (memoized: ``*`` names ~20,000)."""
    return frozenset(catalog.expand_actions(pattern))


def _covers_resource(broad: str, narrow: str) -> bool:
    if broad == narrow:
        return True
    if "${" in broad or "${" in narrow or _wild(narrow):
        return False
    return _wild(broad) and GlobSet([broad], arn=True)(narrow)


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def _redundant(run: Reporter, st: Statement, path: Path) -> None:
    for element, covers in (("Action", _covers_action), ("Resource", _covers_resource)):
        if (element == "Action" and st.not_action) or (element == "Resource"
                                                        and st.not_resource):
            continue
        raw = st.raw.get(element)
        if not isinstance(raw, list) or len(raw) < 2:
            continue
        redundant = [i for i, v in enumerate(raw)
                     if any(j != i and covers(w, v) and not (covers(v, w) and j > i)
                            for j, w in enumerate(raw))]
        if not redundant:
            continue
        first = raw[redundant[0]]
        if element == "Action":
            details = (f"The {len(redundant)} action(s) are redundant because they provide "
                       "similar permissions. Update the policy to remove the redundant action "
                       f"such as: {first}.")
            code = "REDUNDANT_ACTION"
        else:
            details = (f"The {len(redundant)} resource ARN(s) are redundant because they "
                       "reference the same resource. Review the use of wildcards (*) and "
                       f"remove the redundant resource ARN such as: {first}.")
            code = "REDUNDANT_RESOURCE"
        for i in redundant:
            run.add(code, details, (*path, element, i))


def _service_wildcards(run: Reporter, st: Statement, path: Path) -> None:
    element = "NotAction" if st.not_action else "Action"
    raw = st.raw.get(element)
    for i, action in enumerate([raw] if isinstance(raw, str) else list(raw or [])):
        if action != "*" and _wild(action.split(":", 1)[0]):
            at = (*path, element) if isinstance(raw, str) else (*path, element, i)
            run.add("WILDCARD_IN_SERVICE_NAME", "Avoid using wildcards (*, ?) in the service "
                    "name because it might grant unintended access to other AWS services with "
                    "similar names.", at)


def _s3_bucket(run: Reporter, st: Statement, path: Path) -> None:
    """A bucket policy governs only Amazon S3 actions on the bucket and its objects, which
    it must name (S3 refuses a statement without Resource)."""
    if st.resources is None:
        run.add("MISSING_RESOURCE", "Add a Resource or NotResource element to the policy "
                "statement.", path)
    element = "NotAction" if st.not_action else "Action"
    if not st.not_action:
        for action in _listed(st, element):
            service = action.split(":", 1)[0].lower()
            if action != "*" and not _wild(service) and service != "s3":
                run.add("UNSUPPORTED_ACTION_IN_POLICY", f"The action {action} is not supported "
                        "for the resource-based policy attached to the resource type "
                        "AWS::S3::Bucket.", _entry_path(st, path, element, action))
    if not st.not_resource:
        for resource in _listed(st, "Resource"):
            if resource != "*" and not resource.startswith(("arn:aws:s3:::", "arn:aws*:s3:::")):
                run.add("UNSUPPORTED_RESOURCE_ARN_IN_POLICY", "The resource ARN is not supported "
                        "for the resource-based policy attached to the resource type "
                        "AWS::S3::Bucket.", _entry_path(st, path, "Resource", resource))


#: RFC 1918 and RFC 4193 (unique local) ranges: addresses AWS never sees as aws:SourceIp.
_PRIVATE_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


def _private(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return any(net.version == p.version and net.subnet_of(p)  # type: ignore[arg-type]
               for p in _PRIVATE_NETS)


def _source_ip(run: Reporter, st: Statement, path: Path) -> None:
    """aws:SourceIp "works only for public IP address ranges"; host bits after the mask
    are ignored."""
    for op, keys in st.raw.get("Condition", {}).items():
        base = op.split(":")[-1].lower().removesuffix("ifexists")
        if base not in ("ipaddress", "notipaddress") or not isinstance(keys, dict):
            continue
        for key, values in keys.items():
            if key.lower() != "aws:sourceip":
                continue
            at: Path = (*path, "Condition", op, key)
            items = [v for v in (values if isinstance(values, list) else [values])
                     if isinstance(v, str)]
            nets = []
            for v in items:
                try:
                    net = ipaddress.ip_network(v.strip(), strict=False)
                except ValueError:
                    continue  # TYPE_MISMATCH_IP_RANGE, reported by the catalog checks
                nets.append(net)
                if "/" in v and str(net) != v.strip():
                    run.add("IMPROVE_IP_RANGE", "The non-zero bits in the IP address after the "
                            f"masked bits are ignored. Replace address with {net}.", at)
            private = [n for n in nets if _private(n)]
            if not private:
                continue
            negated = base == "notipaddress"
            if len(private) == len(nets):
                code = "PRIVATE_NOT_IP_ADDRESS" if negated else "PRIVATE_IP_ADDRESS"
                details = ("The values for condition key aws:SourceIp include only private IP "
                           "addresses and will not have the desired effect. aws:SourceIp works "
                           "only for public IP address ranges. Update the value to include "
                           "only public IP addresses.")
            else:
                code = ("PRIVATE_NOT_IP_ADDRESS_SUBSET" if negated
                        else "PRIVATE_IP_ADDRESS_SUBSET")
                details = ("The values for condition key aws:SourceIp include a mix of private "
                           "and public IP addresses. The private addresses will not have the "
                           "desired effect. aws:SourceIp works only for public IP address "
                           "ranges. To define permissions for private IP ranges, use "
                           "aws:VpcSourceIp.")
            run.add(code, details, at)


def _redundant_statements(run: Reporter, policy: Policy, by_index: dict[int, Path]) -> None:
    """Statements identical but for their Sid grant (or deny) the same thing twice."""
    seen: dict[str, int] = {}
    for st in policy.statements:
        body = json.dumps({k: v for k, v in st.raw.items() if k != "Sid"}, sort_keys=True)
        if body in seen:
            run.add("REDUNDANT_STATEMENT", "The statements are redundant because they provide "
                    "identical permissions. Update the policy to remove the redundant "
                    f"statement (it repeats the statement with index {seen[body]}).",
                    by_index[st.index])
        else:
            seen[body] = st.index
