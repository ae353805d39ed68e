from __future__ import annotations

import datetime as dt

from opensts.federation.oidc import WebIdentity, provider_arn, provider_key_prefix


def identity(url: str, claims: dict[str, object], **kw: object) -> WebIdentity:
    return WebIdentity(
        issuer=url,
        provider_arn=provider_arn("123456789012", url),
        provider_prefix=provider_key_prefix(url),
        subject=str(claims.get("sub", "s")),
        audience=str(kw.pop("audience", "sts.amazonaws.com")),
        azp=kw.pop("azp", None),  # type: ignore[arg-type]
        amr=(),
        expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        claims=claims,
    )


def test_arn_and_prefix_keep_path_and_trailing_slash() -> None:
    url = "https://sts.windows.net/7c2f5f5b-tenant/"
    assert provider_key_prefix(url) == "sts.windows.net/7c2f5f5b-tenant/"
    assert provider_arn("123456789012", url) == (
        "arn:aws:iam::123456789012:oidc-provider/sts.windows.net/7c2f5f5b-tenant/"
    )
    keys = identity(url, {"sub": "u"}).condition_keys()
    assert keys["sts.windows.net/7c2f5f5b-tenant/:sub"] == "u"


def test_github_actions_keys() -> None:
    claims = {
        "sub": "repo:octo/app:ref:refs/heads/main",
        "repository": "octo/app",
        "repository_id": 42,
        "ref": "refs/heads/main",
        "actor": "octocat",
        "job_workflow_ref": "octo/app/.github/workflows/ci.yml@refs/heads/main",
        "environment": "prod",
        "unrelated": "x",
    }
    keys = identity("https://token.actions.githubusercontent.com", claims).condition_keys()
    p = "token.actions.githubusercontent.com"
    assert keys[f"{p}:sub"] == claims["sub"]
    assert keys[f"{p}:repository"] == "octo/app"
    assert keys[f"{p}:repository_id"] == "42"
    assert keys[f"{p}:environment"] == "prod"
    assert f"{p}:unrelated" not in keys
    enterprise = identity("https://token.actions.githubusercontent.com/acme", claims)
    assert enterprise.condition_keys()[f"{p}/acme:actor"] == "octocat"


def test_gitlab_keys_and_no_custom_claims_elsewhere() -> None:
    claims = {"sub": "project_path:g/p", "project_id": "7", "ref_protected": "true"}
    keys = identity("https://gitlab.com", claims).condition_keys()
    assert keys["gitlab.com:project_id"] == "7"
    assert keys["gitlab.com:ref_protected"] == "true"
    generic = identity("https://idp.example.com", claims).condition_keys()
    assert set(generic) == {
        "idp.example.com:aud",
        "idp.example.com:sub",
        "aws:FederatedProvider",
    }


def test_google_aud_is_azp() -> None:
    ident = identity(
        "https://accounts.google.com",
        {"sub": "1"},
        audience="web.apps.googleusercontent.com",
        azp="android.apps.googleusercontent.com",
    )
    keys = ident.condition_keys()
    assert keys["accounts.google.com:aud"] == "android.apps.googleusercontent.com"
    assert keys["accounts.google.com:oaud"] == "web.apps.googleusercontent.com"
