"""The sign-in service behind ``aws login``: OAuth 2.0 authorization code grant with PKCE.

Specs, one module each: RFC 6749 (authorization code and refresh grants), RFC 7636 (PKCE,
``rfc7636``), RFC 8252 §7.3 (loopback redirects for native apps, ``clients``), RFC 9449
(DPoP proofs that bind refresh tokens to the client's key, ``rfc9449``), RFC 7638 (JWK
thumbprints). AWS's wire shapes follow botocore's ``signin`` model (``CreateOAuth2Token``)
and the AWS CLI's ``aws login`` command; see docs/reference aws-clients.md §2.

The modules here are pure (``now`` is passed in) except ``service``, which joins them to
the store, the key ring, the authorizer and the audit log.
"""
