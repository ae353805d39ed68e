"""The IAM-enforcing S3 gateway (issue 9): the edge in front of S3-compatible storage."""

from opensts.web.s3.gateway import S3Gateway

__all__ = ["S3Gateway"]
