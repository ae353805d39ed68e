"""The basic (classic) flow's second half: AssumeRoleWithWebIdentity with an OpenID token
this server issued for an identity pool (GetOpenIdToken, GetOpenIdTokenForDeveloperIdentity).

Such a token's ``iss`` is ``{public_url}/cognito-identity``; it is verified with the
server's own identity-token keys (``services.issuer.verify_own_token``: algorithm,
``kid``, signature, ``exp``/``iat``), not through an IAM OIDC provider, and its principal
is ``cognito-identity.amazonaws.com`` with the condition keys
``cognito-identity.amazonaws.com:aud`` (the pool id), ``:sub`` (the identity id) and
``:amr`` (Cognito Developer Guide, "Role trust and permissions").
"""

from __future__ import annotations

from datetime import UTC, datetime

from opensts.federation.oidc import WebIdentity
from opensts.federation.oidc.tokens import TAGS_CLAIM, _tags
from opensts.services import issuer
from opensts.services.cognito.common import COGNITO_PRINCIPAL
from opensts.services.cognito.developer import ISSUER_PATH
from opensts.services.runtime import Runtime


def is_cognito_issuer(runtime: Runtime, iss: object) -> bool:
    if not runtime.settings.public_url:
        return False
    return iss == issuer.issuer_url(runtime, ISSUER_PATH)


def cognito_web_identity(runtime: Runtime, token: str, now: datetime) -> WebIdentity:
    """The verified identity of a Cognito OpenID token, or InvalidIdentityToken /
    ExpiredTokenException as for any web identity token."""
    claims = issuer.verify_own_token(runtime, token, issuer_path=ISSUER_PATH, audience=None,
                                     now=now)
    aud = claims.get("aud")
    audience = aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud
                                                 else "")
    amr = claims.get("amr")
    tags, transitive = _tags(claims.get(TAGS_CLAIM))
    return WebIdentity(
        issuer=str(claims["iss"]),
        provider_arn=COGNITO_PRINCIPAL,
        provider_prefix=COGNITO_PRINCIPAL,
        subject=str(claims.get("sub", "")),
        audience=audience,
        azp=None,
        amr=tuple(str(v) for v in amr) if isinstance(amr, list) else (),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        claims=claims,
        principal_tags=tags,
        transitive_tag_keys=transitive,
    )
