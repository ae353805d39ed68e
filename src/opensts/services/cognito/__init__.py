"""The ``cognito-identity`` JSON 1.1 API (X-Amz-Target ``AWSCognitoIdentityService.*``):
identity pools, identities and their credentials. Pure parts in ``opensts.cognito``."""

from opensts.services.cognito import developer, identities, pools, tags

__all__ = ["developer", "identities", "pools", "tags"]
