"""OpenSTS: a self-hosted, AWS-compatible Security Token Service with a faithful IAM policy engine.

Layers (dependencies point inward only):

* pure core: ``policy`` (IAM language + evaluator), ``sigv4`` (request signing),
  ``credentials`` (key ids, sealed session tokens), ``arns``, ``errors``
* ``directory`` (IAM entities and the store interface) and ``store`` (SQLite, PostgreSQL)
* ``federation`` (SAML and OIDC verifiers)
* ``services`` (STS, IAM, Organizations operations), ``audit``
* ``wire`` (AWS query/XML and JSON protocols), ``web`` (ASGI app), ``cli``
"""

__version__ = "0.1.0"
