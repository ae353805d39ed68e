"""``opensts s3``: the gateway's buckets as the operator sees them.

``adopt`` makes an existing bucket of the storage backend a gateway bucket owned by an
account: only the ownership record is written (the objects stay where they are, with their
keys), so data already in the storage is usable through the gateway at once. The record gets
what S3 gives every new bucket: all four Block Public Access settings on, no policy, no tags.

The store is opened exactly as ``opensts serve`` opens it (``--data-dir``, or
``OPENSTS_DATABASE_URL``), and the write moves the store's generation, so running servers
see the bucket on their next request. With a backend configured (``--s3-backend`` or
``OPENSTS_S3_BACKEND_URL``, keys from ``OPENSTS_S3_BACKEND_ACCESS_KEY_ID`` /
``OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY``, never from the command line) the bucket must exist
there: one HeadBucket, signed with SigV4 by ``opensts.sigv4``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import click

from opensts.cli.common import data_dir_option, open_admin_store

_ACCOUNT_ID_DIGITS = 12


@click.group()
def s3() -> None:
    """Buckets of the S3 gateway: adopt existing backend buckets, list them."""


def _backend_settings(url: str | None) -> tuple[str, str, str, str] | None:
    """(url, access key id, secret, region) of the backend, or None when none is set."""
    url = url or os.environ.get("OPENSTS_S3_BACKEND_URL") or None
    if url is None:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise click.ClickException(f"--s3-backend must be http(s)://host[:port], not {url!r}")
    key = os.environ.get("OPENSTS_S3_BACKEND_ACCESS_KEY_ID") or ""
    secret = os.environ.get("OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY") or ""
    if not (key and secret):
        raise click.ClickException(
            "the S3 backend needs OPENSTS_S3_BACKEND_ACCESS_KEY_ID and "
            "OPENSTS_S3_BACKEND_SECRET_ACCESS_KEY")
    region = os.environ.get("OPENSTS_S3_BACKEND_REGION") or "us-east-1"
    return f"{parts.scheme}://{parts.netloc}", key, secret, region


def signed_head_bucket(
    endpoint: str, bucket: str, access_key_id: str, secret_access_key: str, region: str,
    now: datetime,
) -> tuple[str, dict[str, str]]:
    """URL and headers of a SigV4-signed path-style HeadBucket (AWS SigV4: "Create a
    canonical request", header form; S3 signs the hex SHA-256 of the empty body)."""
    from opensts.sigv4.canonical import (
        EMPTY_SHA256,
        canonical_headers,
        canonical_request,
        uri_encode,
    )
    from opensts.sigv4.signing import (
        ALGORITHM,
        credential_scope,
        derive_signing_key,
        signature,
        string_to_sign,
    )

    host = urlsplit(endpoint).netloc
    path = "/" + uri_encode(bucket)
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = [("host", host), ("x-amz-content-sha256", EMPTY_SHA256),
               ("x-amz-date", amz_date)]
    signed = [name for name, _ in headers]
    request = canonical_request(
        method="HEAD", canonical_uri=path, canonical_query="",
        canonical_headers=canonical_headers(headers, signed), signed_headers=signed,
        hashed_payload=EMPTY_SHA256,
    )
    scope = credential_scope(amz_date[:8], region, "s3")
    key = derive_signing_key(secret_access_key, amz_date[:8], region, "s3")
    sig = signature(key, string_to_sign(request, amz_date=amz_date, scope=scope))
    out = {name: value for name, value in headers if name != "host"}
    out["Authorization"] = (f"{ALGORITHM} Credential={access_key_id}/{scope}, "
                            f"SignedHeaders={';'.join(signed)}, Signature={sig}")
    return endpoint + path, out


def _check_backend(backend: tuple[str, str, str, str], bucket: str) -> None:
    import httpx

    endpoint, key, secret, region = backend
    url, headers = signed_head_bucket(endpoint, bucket, key, secret, region,
                                      datetime.now(UTC))
    verify: str | bool = os.environ.get("OPENSTS_CA_BUNDLE") or True
    try:
        response = httpx.head(url, headers=headers, timeout=30, verify=verify,
                              follow_redirects=False)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"the S3 backend {endpoint} did not answer: {exc}") from exc
    if response.status_code == 404:
        raise click.ClickException(f"the S3 backend {endpoint} has no bucket {bucket}")
    if response.status_code in (301, 307, 400) and response.headers.get("x-amz-bucket-region"):
        raise click.ClickException(
            f"the bucket {bucket} is in region {response.headers['x-amz-bucket-region']}, "
            f"not the backend's region {region} (OPENSTS_S3_BACKEND_REGION)")
    if response.status_code == 403:
        raise click.ClickException(
            f"the S3 backend {endpoint} refused the backend keys for bucket {bucket} (403)")
    if response.status_code != 200:
        raise click.ClickException(
            f"the S3 backend {endpoint} answered HeadBucket {bucket} with "
            f"{response.status_code}")


@s3.command("adopt")
@click.argument("bucket")
@click.option("--account", "account_id", required=True, metavar="ID",
              help="the owning account (12 digits)")
@click.option("--region", default=None,
              help="the bucket's region (default OPENSTS_S3_REGION, else us-east-1)")
@data_dir_option()
@click.option("--s3-backend", "backend_url", metavar="URL",
              help="the storage to check the bucket in (else OPENSTS_S3_BACKEND_URL)")
def adopt(bucket: str, account_id: str, region: str | None, data_dir: Path,
          backend_url: str | None) -> None:
    """Make the existing backend bucket BUCKET a gateway bucket owned by an account."""
    from opensts.directory.errors import BucketAlreadyExists, NotFound
    from opensts.directory.records import Bucket
    from opensts.s3.names import bucket_name_problem

    problem = bucket_name_problem(bucket)
    if problem is not None:
        raise click.ClickException(
            f"invalid bucket name {bucket!r} ({problem}): S3 bucket names are 3 to 63 "
            "lower-case letters, digits, dots and hyphens (bucketnamingrules)")
    if len(account_id) != _ACCOUNT_ID_DIGITS or not account_id.isdigit():
        raise click.ClickException(f"--account must be a 12-digit account id, not {account_id!r}")
    region = region or os.environ.get("OPENSTS_S3_REGION") or "us-east-1"
    backend = _backend_settings(backend_url)
    store, _ = open_admin_store(data_dir)
    try:
        if store.find_account(account_id) is None:
            raise click.ClickException(f"no account {account_id} in this OpenSTS")
        owned = store.find_bucket(bucket)
        if owned is not None:
            raise click.ClickException(
                f"bucket {bucket} is already owned by account {owned.account_id}")
        if backend is not None:
            _check_backend(backend, bucket)
        store.create_bucket(Bucket(bucket, account_id, region, datetime.now(UTC)))
    except BucketAlreadyExists as exc:  # adopted by someone else meanwhile
        raise click.ClickException(
            f"bucket {bucket} is already owned by account {exc.owner}") from exc
    except NotFound as exc:
        raise click.ClickException(f"no account {account_id} in this OpenSTS") from exc
    finally:
        store.close()
    click.echo(f"adopted {bucket} for account {account_id} (region {region})")
    if backend is None:
        click.echo("no S3 backend configured (--s3-backend or OPENSTS_S3_BACKEND_URL): "
                   "recorded without checking that the storage has this bucket")
    else:
        click.echo(f"the bucket exists in the S3 backend {backend[0]}")


@s3.command("list")
@click.option("--account", "account_id", default=None, metavar="ID",
              help="only this account's buckets")
@data_dir_option()
def list_buckets(account_id: str | None, data_dir: Path) -> None:
    """List the gateway's buckets: name, owner, region, created, policy and Block Public
    Access (the four settings as BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy,
    RestrictPublicBuckets: 1 on, 0 off, - none configured)."""
    store, _ = open_admin_store(data_dir)
    try:
        buckets = store.list_buckets(account_id)
    finally:
        store.close()
    for b in buckets:
        pab = b.public_access_block
        flags = "".join("1" if on else "0" for on in (
            pab.block_public_acls, pab.ignore_public_acls, pab.block_public_policy,
            pab.restrict_public_buckets)) if b.public_access_block_configured else "----"
        policy = "policy" if b.policy is not None else "-"
        click.echo(f"{b.name}  {b.account_id}  {b.region}  "
                   f"{b.created:%Y-%m-%dT%H:%M:%SZ}  {policy}  bpa={flags}")
