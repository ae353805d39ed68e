"""The HTTP authorizer (issue 11): IAM decisions for any HTTP API behind nginx, Traefik or
Envoy, served under the reserved prefix ``/_opensts/authorize/`` (no S3 bucket name can
start with ``_``, so the prefix never shadows a path-style bucket)."""

from opensts.web.authorizer.hooks import PREFIX

__all__ = ["PREFIX"]
