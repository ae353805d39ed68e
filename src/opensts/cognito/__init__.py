"""Amazon Cognito identity pools (the ``cognito-identity`` API, 2014-06-30), pure parts.

Identity pool and identity ids, role choice by role mappings (``Token`` and ``Rules``,
Developer Guide "Using role-based access control"), and the scope-down session policy
applied to unauthenticated identities in the enhanced flow (Developer Guide "IAM roles").
No I/O: the service layer (``opensts.services.cognito``) reads the store and mints.
"""

from opensts.cognito.ids import (
    IDENTITY_ID,
    POOL_ID,
    new_identity_id,
    new_pool_id,
    pool_arn,
)
from opensts.cognito.roles import RoleChoice, choose_role
from opensts.cognito.scope_down import UNAUTHENTICATED_SESSION_POLICY

__all__ = [
    "IDENTITY_ID",
    "POOL_ID",
    "UNAUTHENTICATED_SESSION_POLICY",
    "RoleChoice",
    "choose_role",
    "new_identity_id",
    "new_pool_id",
    "pool_arn",
]
