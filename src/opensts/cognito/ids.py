"""Identity pool and identity ids: ``REGION:GUID`` (model pattern ``[\\w-]+:[0-9a-f-]+``)."""

from __future__ import annotations

import re
import uuid

POOL_ID = re.compile(r"[\w-]+:[0-9a-f-]+")
IDENTITY_ID = POOL_ID


def new_pool_id(region: str) -> str:
    return f"{region}:{uuid.uuid4()}"


def new_identity_id(region: str) -> str:
    return f"{region}:{uuid.uuid4()}"


def region_of(pool_or_identity_id: str) -> str:
    return pool_or_identity_id.split(":", 1)[0]


def pool_arn(account_id: str, pool_id: str) -> str:
    return f"arn:aws:cognito-identity:{region_of(pool_id)}:{account_id}:identitypool/{pool_id}"
