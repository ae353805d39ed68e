"""IAM API operations (query protocol, version 2010-05-08,
xmlns https://iam.amazonaws.com/doc/2010-05-08/).

Importing this package registers every operation with ``services.registry``.
"""

from opensts.services.iam import (
    account,
    attached,
    authorization_details,
    context_keys,
    credentials,
    groups,
    passwords,
    policies,
    providers,
    reports,
    roles,
    service_linked,
    simulate,
    users,
)

__all__ = [
    "account",
    "attached",
    "authorization_details",
    "context_keys",
    "credentials",
    "groups",
    "passwords",
    "policies",
    "providers",
    "reports",
    "roles",
    "service_linked",
    "simulate",
    "users",
]
