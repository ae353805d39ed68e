"""Identity federation verifiers for AssumeRoleWithSAML and AssumeRoleWithWebIdentity.

``opensts.federation.saml`` checks SAML 2.0 Web SSO responses (OASIS saml-core-2.0-os,
saml-profiles-2.0-os §4.1.4) the way AWS sign-in does; ``opensts.federation.oidc`` checks
OpenID Connect ID tokens and JWT access tokens (RFC 7519, OpenID Connect Core 1.0 §3.1.3.7)
against IAM OIDC providers. Both are pure libraries: the caller passes ``now`` and owns
storage (provider records, replay cache).
"""
