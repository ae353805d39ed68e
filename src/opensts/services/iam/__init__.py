"""IAM API operations (query protocol, version 2010-05-08,
xmlns https://iam.amazonaws.com/doc/2010-05-08/).

Importing this package registers every operation with ``services.registry``.
"""

from opensts.services.iam import (
    account,
    account_settings,
    attached,
    authorization_details,
    context_keys,
    credentials,
    groups,
    instance_profiles,
    mfa,
    outbound_federation,
    passwords,
    policies,
    providers,
    reports,
    roles,
    root_access,
    server_certificates,
    service_linked,
    simulate,
    user_credentials,
    users,
)

__all__ = [
    "account",
    "account_settings",
    "attached",
    "authorization_details",
    "context_keys",
    "credentials",
    "groups",
    "instance_profiles",
    "mfa",
    "outbound_federation",
    "passwords",
    "policies",
    "providers",
    "reports",
    "roles",
    "root_access",
    "server_certificates",
    "service_linked",
    "simulate",
    "user_credentials",
    "users",
]
