"""Access previews: the findings a proposed access-control configuration would have (pure).

CreateAccessPreview takes one resource ARN and its proposed configuration (the
``Configuration`` union of the service model). Covered members: ``iamRole`` (trustPolicy)
and ``s3Bucket`` (bucketPolicy, bucketAclGrants, bucketPublicAccessBlock, accessPoints);
every other member is refused, naming the field (``unsupported``). What a member leaves out
is taken from the resource as it is now, as AWS documents for each member ("If the
configuration is for an existing ... and you do not specify the ..., the access preview uses
the existing ..."); an empty bucket policy string proposes deleting the policy.

The accesses are computed by the external-access engine (analyzer/external.analyze) on the
proposed policies, so a preview and the analyzer that later sees the deployed policy agree.
What the engine does not read is handled here, as over-approximations:

* ACL grants (S3 User Guide, acl-overview "Mapping of ACL permissions and access policy
  permissions"): a grant to AllUsers or AuthenticatedUsers is public, one to a canonical user
  outside the zone is a CanonicalUser finding; the LogDelivery group is S3's own service (no
  finding, as for service principals). An unknown group URI is public. ignorePublicAcls
  drops the public grants only, as S3 does.
* Access points: each access point policy is analyzed as a policy on the access point ARN
  (source S3_ACCESS_POINT). A bucket policy Allow whose only way in is an access point of the
  bucket owner's account (``s3:DataAccessPointAccount`` equal to the owner: the documented
  delegation pattern) grants nothing by itself: every request it admits passes an access
  point policy too, and those are analyzed. Any other bucket statement is analyzed as is
  (an unknown condition key widens, never hides).

The comparison with the analyzer's current findings (``compare``) uses the finding ids of
analyzer/findings.py: the same access on the same resource has the same id, so an access
that exists today is UNCHANGED (with its current status: an archived finding stays ARCHIVED),
a current finding whose access the proposal removes is CHANGED to RESOLVED, a resolved
finding that would come back is CHANGED to ACTIVE, and anything else is NEW (ACTIVE, or
ARCHIVED when an archive rule matches it, as rules apply to new findings).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from opensts.analyzer import external
from opensts.analyzer.external import BUCKET, ROLE, Access, Resource
from opensts.analyzer.findings import Finding, finding_id, matches_fields
from opensts.analyzer.zone import Zone

# Configuration union member -> resource type; the members served.
COVERED = {"iamRole": ROLE, "s3Bucket": BUCKET}
# Every member of the union in the service model (botocore accessanalyzer Configuration).
UNION_MEMBERS = ("ebsSnapshot", "ecrRepository", "iamRole", "efsFileSystem", "kmsKey",
                 "rdsDbClusterSnapshot", "rdsDbSnapshot", "secretsManagerSecret", "s3Bucket",
                 "snsTopic", "sqsQueue", "s3ExpressDirectoryBucket", "dynamodbStream",
                 "dynamodbTable")
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
# acl-overview, "Mapping of ACL permissions and access policy permissions" (bucket ACLs).
ACL_ACTIONS = {
    "READ": ("s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"),
    "WRITE": ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"),
    "READ_ACP": ("s3:GetBucketAcl",),
    "WRITE_ACP": ("s3:PutBucketAcl",),
}
ACL_ACTIONS["FULL_CONTROL"] = tuple(sorted({a for v in ACL_ACTIONS.values() for a in v}))
# Preview-only filter keys (access-analyzer-reference-filter-keys, access previews).
PREVIEW_FILTER_KEYS = frozenset({"changeType", "existingFindingId", "existingFindingStatus"})


class ConfigError(ValueError):
    """The request is malformed (ValidationException naming ``field``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class InvalidConfiguration(ValueError):
    """The configuration is well formed but cannot be previewed: the preview FAILS with
    statusReason INVALID_CONFIGURATION (what AWS answers for, e.g., a malformed policy)."""


@dataclass(frozen=True)
class Proposal:
    """One resource's configuration as proposed, merged with what exists today."""

    type: str
    arn: str
    owner: str
    resources: tuple[tuple[Resource, tuple[dict[str, Any], ...]], ...]  # + finding sources
    acl_grants: tuple[Mapping[str, Any], ...] = ()
    ignore_public_acls: bool = False


@dataclass(frozen=True)
class PreviewFinding:
    id: str
    resource: str
    resource_type: str
    owner: str
    access: Access
    change_type: str
    status: str
    created: datetime
    existing_id: str | None = None
    existing_status: str | None = None
    sources: tuple[dict[str, Any], ...] = field(default=())

    def fields(self) -> dict[str, Any]:
        """The filter fields (those of a finding, plus the preview-only keys)."""
        shown = Finding(self.existing_id or self.id, "", self.resource, self.resource_type,
                        self.owner, self.access, self.status, self.created, self.created,
                        self.created).fields()
        shown["id"] = self.id
        shown["changeType"] = self.change_type
        if self.existing_id is not None:
            shown["existingFindingId"] = self.existing_id
        if self.existing_status is not None:
            shown["existingFindingStatus"] = self.existing_status
        return shown


def single_configuration(configurations: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    """(resource ARN, union member, member value) of the one configuration, or ConfigError."""
    if len(configurations) != 1:
        raise ConfigError("configurations", "The configuration must contain exactly one "
                                            "element.")
    (arn, config), = configurations.items()
    if not isinstance(config, Mapping):
        raise ConfigError(f"configurations.{arn}", "The configuration must be a structure.")
    members = [k for k, v in config.items() if v is not None]
    if len(members) != 1:
        raise ConfigError(f"configurations.{arn}", "Exactly one member of the Configuration "
                                                   "union must be set.")
    member = members[0]
    if member not in COVERED:
        covered = ", ".join(sorted(COVERED))
        raise ConfigError(f"configurations.{arn}.{member}",
                          f"Access previews for {member} are not supported by this server; "
                          f"supported configurations: {covered}.")
    value = config[member]
    if not isinstance(value, Mapping):
        raise ConfigError(f"configurations.{arn}.{member}", "Must be a structure.")
    return arn, member, value


def role_account(arn: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3] != "" \
            or not (parts[4].isdigit() and len(parts[4]) == 12) \
            or not parts[5].startswith("role/") or len(parts[5]) <= len("role/"):
        raise ConfigError("configurations", f"Invalid IAM role ARN: {arn}.")
    return parts[4]


def bucket_name(arn: str) -> str:
    prefix = "arn:aws:s3:::"
    name = arn[len(prefix):] if arn.startswith(prefix) else ""
    if not (3 <= len(name) <= 63) or "/" in name:
        raise ConfigError("configurations", f"Invalid S3 bucket ARN: {arn}.")
    return name


def propose(arn: str, member: str, config: Mapping[str, Any], owner: str,
            current: Resource | None) -> Proposal:
    """The resources to analyze for the proposal; ``current`` is the resource as it is now
    (None: a new resource)."""
    if member == "iamRole":
        policy = config.get("trustPolicy")
        if policy is None:
            if current is None:
                raise InvalidConfiguration("A new role needs a trust policy.")
            policy = current.policy
        if policy is not None and not policy.strip():
            raise InvalidConfiguration("The trust policy cannot be empty.")
        role = Resource(ROLE, arn, owner, policy)
        return Proposal(ROLE, arn, owner, ((role, ()),))
    policy = config.get("bucketPolicy")
    if policy is None:
        policy = current.policy if current is not None else None
    elif not policy.strip():
        policy = None  # an empty string proposes deleting the policy
    block = config.get("bucketPublicAccessBlock")
    restrict = bool(block["restrictPublicBuckets"]) if block else \
        bool(current and current.restrict_public)
    ignore_acls = bool(block["ignorePublicAcls"]) if block else False
    points = dict(config.get("accessPoints") or {})
    if policy is not None and points:
        policy = _without_delegation(policy, owner)
    resources: list[tuple[Resource, tuple[dict[str, Any], ...]]] = [
        (Resource(BUCKET, arn, owner, policy, restrict), ({"type": "POLICY"},))]
    for point_arn, point in sorted(points.items()):
        point = point or {}
        point_block = point.get("publicAccessBlock")
        point_restrict = restrict or bool(point_block and point_block["restrictPublicBuckets"])
        resources.append((Resource(BUCKET, point_arn, owner, point.get("accessPointPolicy"),
                                   point_restrict),
                          ({"type": "S3_ACCESS_POINT",
                            "detail": {"accessPointArn": point_arn}},)))
    grants = config.get("bucketAclGrants")
    return Proposal(BUCKET, arn, owner, tuple(resources), tuple(grants or ()), ignore_acls)


def _without_delegation(policy: str, owner: str) -> str | None:
    """The bucket policy without the Allow statements that admit only requests made through
    an access point of ``owner`` (analyzed through those access points' policies); None
    when nothing else is left (a policy without statements would not parse)."""
    try:
        doc = json.loads(policy)
    except ValueError:
        return policy  # the engine reports what it cannot parse
    if not isinstance(doc, dict):
        return policy
    statements = doc.get("Statement")
    listed = statements if isinstance(statements, list) else [statements]
    kept = [s for s in listed if not _delegates(s, owner)]
    if len(kept) == len(listed):
        return policy
    if not any(isinstance(s, dict) and s.get("Effect") == "Allow" for s in kept):
        return None  # Denies alone grant nothing
    return json.dumps({**doc, "Statement": kept})


def _delegates(statement: Any, owner: str) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    block = condition.get("StringEquals")
    if not isinstance(block, dict):
        return False
    for key, value in block.items():
        if key.lower() == "s3:dataaccesspointaccount":
            values = value if isinstance(value, list) else [value]
            if values and all(v == owner for v in values):
                return True
    return False


def accesses(proposal: Proposal, zone: Zone, zone_canonical_ids: Iterable[str]
             ) -> list[tuple[Access, tuple[dict[str, Any], ...]]]:
    """Every external access of the proposal with its finding sources; InvalidConfiguration
    when a proposed policy does not parse."""
    out: list[tuple[Access, tuple[dict[str, Any], ...]]] = []
    for resource, sources in proposal.resources:
        for access in external.analyze(resource, zone):
            if access.error == external.UNPARSEABLE:
                raise InvalidConfiguration(f"The policy of {resource.arn} does not parse.")
            out.append((access, sources))
    trusted = frozenset(zone_canonical_ids)
    for grant in proposal.acl_grants:
        granted = _acl_access(grant, trusted, proposal.ignore_public_acls)
        if granted is not None:
            out.append((granted, ({"type": "BUCKET_ACL"},)))
    return _merged(out)


def _acl_access(grant: Mapping[str, Any], trusted: frozenset[str], ignore_public: bool
                ) -> Access | None:
    grantee = grant.get("grantee") or {}
    actions = ACL_ACTIONS.get(str(grant.get("permission")), ACL_ACTIONS["FULL_CONTROL"])
    uri, canonical = grantee.get("uri"), grantee.get("id")
    if canonical is not None:
        if canonical in trusted:
            return None
        return Access((("CanonicalUser", canonical),), actions)
    if uri == LOG_DELIVERY:
        return None  # S3's log delivery: a service, which findings do not report
    if ignore_public:
        return None  # IgnorePublicAcls: S3 ignores the grants to the public groups
    return Access((("AWS", "*"),), actions, (), True)


def _merged(found: Sequence[tuple[Access, tuple[dict[str, Any], ...]]]
            ) -> list[tuple[Access, tuple[dict[str, Any], ...]]]:
    """One access per (principal, condition, public) and source set: actions joined (the
    engine does the same within one policy)."""
    by_key: dict[tuple[Any, ...], tuple[Access, tuple[dict[str, Any], ...]]] = {}
    for access, sources in found:
        key = (access.principal, access.condition, access.is_public, access.error,
               json.dumps(sources, sort_keys=True))
        seen = by_key.get(key)
        if seen is None:
            by_key[key] = (access, sources)
        else:
            actions = tuple(sorted(set(seen[0].actions) | set(access.actions)))
            by_key[key] = (replace(seen[0], actions=actions), sources)
    return list(by_key.values())


def compare(preview_id: str, analyzer_arn: str, proposal: Proposal,
            found: Sequence[tuple[Access, tuple[dict[str, Any], ...]]],
            existing: Iterable[Finding], rules: Sequence[Mapping[str, Mapping[str, Any]]],
            now: datetime) -> list[PreviewFinding]:
    """The preview's findings against the analyzer's current findings of the resource."""
    from opensts.analyzer.findings import matches

    namespace = uuid.UUID(preview_id)
    before = {f.id: f for f in existing}
    out: list[PreviewFinding] = []
    seen: set[str] = set()
    for access, sources in found:
        fid = finding_id(analyzer_arn, proposal.arn, access)
        if fid in seen:
            continue
        seen.add(fid)
        old = before.get(fid)
        pid = str(uuid.uuid5(namespace, fid))
        if old is not None and old.status != "RESOLVED":
            out.append(PreviewFinding(pid, proposal.arn, proposal.type, proposal.owner, access,
                                      "UNCHANGED", old.status, now, old.id, old.status,
                                      sources))
            continue
        probe = Finding(fid, analyzer_arn, proposal.arn, proposal.type, proposal.owner,
                        access, "ACTIVE", now, now, now)
        status = "ARCHIVED" if any(matches(rule, probe) for rule in rules) else "ACTIVE"
        if old is not None:  # resolved today, back with the proposal
            out.append(PreviewFinding(pid, proposal.arn, proposal.type, proposal.owner, access,
                                      "CHANGED", status, now, old.id, old.status, sources))
        else:
            out.append(PreviewFinding(pid, proposal.arn, proposal.type, proposal.owner, access,
                                      "NEW", status, now, None, None, sources))
    for fid, old in sorted(before.items()):
        if fid in seen or old.status == "RESOLVED":
            continue
        pid = str(uuid.uuid5(namespace, fid))
        old_sources: tuple[dict[str, Any], ...] = \
            ({"type": "POLICY"},) if old.resource_type == BUCKET else ()
        out.append(PreviewFinding(pid, proposal.arn, old.resource_type, old.resource_owner,
                                  old.access, "CHANGED", "RESOLVED", now, old.id, old.status,
                                  old_sources))
    return out


def check_filter_keys(criteria: Mapping[str, Any], finding_keys: Iterable[str]) -> str | None:
    """The first filter key a preview filter may not use, or None."""
    allowed = set(finding_keys) | PREVIEW_FILTER_KEYS
    for key in criteria:
        if key not in allowed and not key.startswith("condition."):
            return key
    return None


def filtered(findings: Sequence[PreviewFinding],
             criteria: Mapping[str, Mapping[str, Any]]) -> list[PreviewFinding]:
    return [f for f in findings if matches_fields(criteria, f.fields())]


def to_wire(f: PreviewFinding) -> dict[str, Any]:
    """AccessPreviewFinding (service model)."""
    a = f.access
    return {"id": f.id, "existingFindingId": f.existing_id,
            "existingFindingStatus": f.existing_status, "principal": a.principal_map(),
            "action": list(a.actions), "condition": a.condition_map(), "resource": f.resource,
            "isPublic": a.is_public, "resourceType": f.resource_type, "createdAt": f.created,
            "changeType": f.change_type, "status": f.status,
            "resourceOwnerAccount": f.owner, "error": a.error,
            "sources": [dict(s) for s in f.sources] or None}


def to_json(f: PreviewFinding) -> dict[str, Any]:
    """What the store keeps of a preview finding (JSON values)."""
    a = f.access
    return {"id": f.id, "resource": f.resource, "type": f.resource_type, "owner": f.owner,
            "access": {"principal": [list(p) for p in a.principal],
                       "actions": list(a.actions),
                       "condition": [list(c) for c in a.condition],
                       "isPublic": a.is_public, "error": a.error},
            "changeType": f.change_type, "status": f.status,
            "created": f.created.isoformat(), "existingId": f.existing_id,
            "existingStatus": f.existing_status, "sources": [dict(s) for s in f.sources]}


def from_json(v: Mapping[str, Any]) -> PreviewFinding:
    a = v["access"]
    access = Access(tuple((k, x) for k, x in a["principal"]), tuple(a["actions"]),
                    tuple((k, x) for k, x in a["condition"]), bool(a["isPublic"]),
                    a.get("error"))
    return PreviewFinding(v["id"], v["resource"], v["type"], v["owner"], access,
                          v["changeType"], v["status"], datetime.fromisoformat(v["created"]),
                          v.get("existingId"), v.get("existingStatus"),
                          tuple(v.get("sources") or ()))
