"""AWS managed policies bundled with OpenSTS (``arn:aws:iam::aws:policy/...``).

``managed-policies.json.gz`` holds all of AWS's managed policies (ARN, name, path, default
version id, dates, default version's document), built from the public iam-dataset (MIT
licence, see DATASET.md and LICENSE-iam-dataset.txt) by ``scripts/refresh-aws-managed-policies``.
The hand-kept ``<PolicyName>.json`` files carry AWS's policy ID and description for a few
policies the dataset has no ID or description for; every other policy gets a stable ID
derived from its ARN. New policies arrive by refreshing the data file: no code change.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import datetime
from functools import cache
from importlib import resources

from opensts.directory.records import AWS_MANAGED_ACCOUNT, ManagedPolicy

BUNDLE = "managed-policies.json.gz"


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def stable_policy_id(arn: str) -> str:
    """``ANPA`` + 17 characters of [A-Z2-7], the same for an ARN on every server."""
    digest = hashlib.sha256(arn.encode()).digest()
    return "ANPA" + base64.b32encode(digest).decode()[:17]


@cache
def bundle_digest() -> str:
    """The data file's digest: a store that synced this digest has nothing to do."""
    raw = resources.files(__name__).joinpath(BUNDLE).read_bytes()
    return hashlib.sha256(raw).hexdigest()[:32]


@cache
def aws_managed_policies() -> tuple[ManagedPolicy, ...]:
    raw = resources.files(__name__).joinpath(BUNDLE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    return tuple(
        ManagedPolicy(
            account_id=AWS_MANAGED_ACCOUNT,
            policy_id=p.get("PolicyId") or stable_policy_id(p["Arn"]),
            name=p["PolicyName"], path=p["Path"], arn=p["Arn"],
            created=_when(p["CreateDate"]), updated=_when(p["UpdateDate"]),
            default_version_id=p["DefaultVersionId"],
            document=p["Document"],
            description=p.get("Description", ""),
        )
        for p in data["policies"]
    )
