"""AWS STS (API version 2011-06-15): one module per operation family."""

from opensts.services.sts import (  # noqa: F401  (imported to register the operations)
    assume_role,
    federated,
    identity,
    session_token,
    web_identity_token,
)
