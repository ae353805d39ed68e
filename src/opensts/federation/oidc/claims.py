"""Web-identity condition keys (IAM User Guide "Available keys for AWS web identity
federation" and the Service Authorization Reference for AWS STS).

Generic IAM OIDC providers give ``<prefix>:aud``, ``:sub``, ``:azp`` and ``:amr``; a few
providers AWS knows by name add claim-based keys. Custom claims are otherwise not exposed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GITHUB_HOST = "token.actions.githubusercontent.com"
GITHUB_CLAIMS = (
    "actor",
    "actor_id",
    "enterprise_id",
    "environment",
    "job_workflow_ref",
    "ref",
    "repository",
    "repository_id",
    "repository_owner_id",
    "workflow",
)
GITLAB_PREFIX = "gitlab.com"
GITLAB_CLAIMS = (
    "namespace_id",
    "pipeline_source",
    "project_id",
    "ref_protected",
    "runner_environment",
    "user_access_level",
    "user_email",
    "user_id",
    "user_login",
)
GOOGLE_PREFIX = "accounts.google.com"


def _string(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    return None


def provider_specific_keys(prefix: str, claims: Mapping[str, Any]) -> dict[str, str]:
    """Claim-based keys AWS recognises for GitHub Actions and GitLab."""
    if prefix == GITHUB_HOST or prefix.startswith(GITHUB_HOST + "/"):
        names: tuple[str, ...] = GITHUB_CLAIMS
    elif prefix == GITLAB_PREFIX:
        names = GITLAB_CLAIMS
    else:
        return {}
    keys: dict[str, str] = {}
    for name in names:
        value = _string(claims.get(name))
        if value is not None:
            keys[f"{prefix}:{name}"] = value
    return keys
