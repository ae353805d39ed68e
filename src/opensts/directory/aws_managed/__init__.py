"""AWS managed policies bundled with OpenSTS (``arn:aws:iam::aws:policy/...``).

One JSON file per policy, holding the fields IAM's GetPolicy returns plus the default
version's document. ``ReadOnlyAccess`` is a representative subset of AWS's (very long)
document; the others follow AWS's published documents.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources

from opensts.directory.records import AWS_MANAGED_ACCOUNT, ManagedPolicy


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@cache
def aws_managed_policies() -> tuple[ManagedPolicy, ...]:
    out = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        data = json.loads(entry.read_text(encoding="utf-8"))
        out.append(ManagedPolicy(
            account_id=AWS_MANAGED_ACCOUNT, policy_id=data["PolicyId"],
            name=data["PolicyName"], path=data["Path"], arn=data["Arn"],
            created=_when(data["CreateDate"]), updated=_when(data["UpdateDate"]),
            default_version_id=data["DefaultVersionId"],
            document=json.dumps(data["Document"], separators=(",", ":")),
            description=data["Description"],
        ))
    return tuple(out)
