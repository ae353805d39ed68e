"""Shared pieces of the federation end-to-end tests."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import boto3
import jwt
from botocore import UNSIGNED
from botocore.config import Config

from tests.conftest import ACCOUNT_ID, Server, unique
from tests.federation.saml_idp import SamlIdp, b64

ATTR = "https://aws.amazon.com/SAML/Attributes/"
AWS_ACS = "https://signin.aws.amazon.com/saml"


def unsigned_sts(server: Server) -> Any:
    """An STS client with no credentials at all: the two federated calls are unsigned."""
    return boto3.session.Session().client(
        "sts", endpoint_url=server.endpoint, region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def create_saml_provider(iam: Any, idp: SamlIdp, **kwargs: Any) -> tuple[str, str]:
    name = unique("idp")
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=idp.metadata_xml(),
                                   **kwargs)["SAMLProviderArn"]
    return name, arn


def make_role(iam: Any, trust: dict[str, Any] | str, policy: str | None = None,
              account_name: str | None = None, **kwargs: Any) -> str:
    name = account_name or unique("role")
    text = trust if isinstance(trust, str) else json.dumps(trust)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=text, **kwargs)["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
    return str(arn)


def federated_trust(provider_arn: str, action: str | list[str],
                    condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Federated": provider_arn},
                                 "Action": action}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def saml_identity(role_arn: str, provider_arn: str, session: str = "alice",
                  **extra: list[str]) -> dict[str, list[str]]:
    identity = {
        f"{ATTR}Role": [f"{role_arn},{provider_arn}"],
        f"{ATTR}RoleSessionName": [session],
    }
    identity.update(extra)
    return identity


def saml_assertion(idp: SamlIdp, role_arn: str, provider_arn: str, **kwargs: Any) -> str:
    identity = kwargs.pop("identity", None) or saml_identity(role_arn, provider_arn)
    return b64(idp.response(identity, **kwargs))


def forge_token(key: Any, claims: dict[str, Any], *, kid: str, alg: str = "RS256") -> str:
    """A JWT signed with ``key`` (an IdP's own key, or a stranger's)."""
    now = int(time.time())
    body = {"iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def account_root() -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:root"


def expected_name_qualifier(issuer: str, provider_name: str) -> str:
    """STS API reference, NameQualifier: BASE64(SHA1(Issuer + AccountId + "/" + Name))."""
    digest = hashlib.sha1(f"{issuer}{ACCOUNT_ID}/{provider_name}".encode(),
                          usedforsecurity=False).digest()
    return base64.b64encode(digest).decode()
