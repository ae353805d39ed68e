"""IAM OpenID Connect provider records as the verifier sees them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OidcProvider:
    """An IAM OIDC provider: its issuer URL, ARN, client IDs (audiences) and thumbprints.

    ``url`` is the exact ``iss`` value tokens carry, ``https://`` included; a trailing slash
    is significant (Microsoft Entra ID v1: ``https://sts.windows.net/<tenant>/``). A port is
    allowed here as a deliberate extension for self-hosted IdPs (AWS refuses one).
    """

    url: str
    arn: str
    client_ids: tuple[str, ...]
    thumbprints: tuple[str, ...] = ()

    @property
    def key_prefix(self) -> str:
        """The condition-key prefix: the URL without ``https://`` (path and slash kept)."""
        return provider_key_prefix(self.url)


def provider_key_prefix(url: str) -> str:
    """``https://host/path`` → ``host/path`` (trailing slash kept)."""
    return url.removeprefix("https://")


def provider_arn(account_id: str, url: str, partition: str = "aws") -> str:
    """``arn:aws:iam::<account>:oidc-provider/<url without https://>``."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{provider_key_prefix(url)}"
