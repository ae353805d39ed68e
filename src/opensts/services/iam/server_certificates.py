"""Server certificates: UploadServerCertificate, GetServerCertificate,
ListServerCertificates, UpdateServerCertificate, DeleteServerCertificate and their tags
(IAM API reference, API_UploadServerCertificate.html and siblings;
id_credentials_server-certs.html).

The certificate, its private key and the chain must be PEM; the key must match the
certificate (KeyPairMismatch) and the certificate must not have expired
(MalformedCertificate: "malformed or expired"). The private key is checked and never
stored or audited. Quota: 20 server certificates per account. Authorization: ``iam:<Action>``
on ``arn:aws:iam::ACCOUNT:server-certificate/PATH/NAME``; ListServerCertificates has no
resource type (``*``); a rename needs the action on the old and the new ARN.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from opensts.credentials.ids import new_unique_id
from opensts.directory.errors import NotFound
from opensts.directory.records import ServerCertificate
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    account,
    arn,
    name_param,
    opt_name_param,
    page_result,
    paging,
    path_param,
    path_prefix_param,
    render_tags,
    store_errors,
    tag_context,
    tags_param,
)
from opensts.services.iam.errors import KeyPairMismatch, MalformedCertificate, not_found
from opensts.services.iam.instance_profiles import resource_tags
from opensts.services.iam.resource import Resource
from opensts.services.iam.tagging import register_tag_operations
from opensts.services.registry import operation
from opensts.wire.params import Params

SERVER_CERTIFICATES_PER_ACCOUNT = 20
PEM_TEXT = r"[\u0009\u000A\u000D\u0020-\u00FF]+"
PEM = re.compile(PEM_TEXT)
_MALFORMED = "The request was rejected because the certificate was malformed or expired."


def _name(params: Params, field: str = "ServerCertificateName") -> str:
    return name_param(params, field, max_len=128)


def metadata(c: ServerCertificate) -> dict[str, Any]:
    return {"Path": c.path, "ServerCertificateName": c.name,
            "ServerCertificateId": c.server_certificate_id, "Arn": c.arn,
            "UploadDate": c.uploaded, "Expiration": c.expiration}


def load_certificate(ctx: CallContext, action: str, name: str,
                     context: dict[str, str | list[str]] | None = None) -> ServerCertificate:
    acct = account(ctx)
    try:
        cert = ctx.runtime.store.get_server_certificate(acct, name)
    except NotFound:
        ctx.authorize(action, arn(acct, "server-certificate", "/", name), context=context)
        raise not_found("server_certificate", name) from None
    ctx.authorize(action, cert.arn, context=resource_tags(cert.tags, context))
    return cert  # type: ignore[no-any-return]


def _check(body: str, private_key: str, chain: str | None, now: Any) -> x509.Certificate:
    try:
        cert = x509.load_pem_x509_certificate(body.strip().encode("latin-1"))
        if chain is not None:
            x509.load_pem_x509_certificates(chain.strip().encode("latin-1"))
    except ValueError:
        raise MalformedCertificate(_MALFORMED) from None
    if cert.not_valid_after_utc <= now:
        raise MalformedCertificate(_MALFORMED)
    try:
        key = serialization.load_pem_private_key(private_key.strip().encode("latin-1"),
                                                 password=None)
    except (ValueError, TypeError):
        raise MalformedCertificate("The request was rejected because the private key was "
                                   "malformed.") from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != (
            cert.public_key().public_bytes(serialization.Encoding.DER, spki)):
        raise KeyPairMismatch("The request was rejected because the public key certificate "
                              "and the private key do not match.")
    return cert


@operation("iam", "UploadServerCertificate")
def upload_server_certificate(ctx: CallContext, params: Params) -> dict[str, Any]:
    path = path_param(params)
    name = _name(params)
    body = params.required("CertificateBody", min_len=1, max_len=16384, pattern=PEM,
                           pattern_text=PEM_TEXT)
    private_key = params.required("PrivateKey", min_len=1, max_len=16384, pattern=PEM,
                                  pattern_text=PEM_TEXT)
    chain = params.str("CertificateChain", min_len=1, max_len=2097152, pattern=PEM,
                       pattern_text=PEM_TEXT)
    tags = tags_param(params)
    acct = account(ctx)
    cert_arn = arn(acct, "server-certificate", path, name)
    # The private key is a secret: never in the audit record.
    ctx.audit.request_parameters = {"path": path, "serverCertificateName": name,
                                    "certificateBody": body, "certificateChain": chain}
    ctx.authorize("iam:UploadServerCertificate", cert_arn, context=tag_context(tags))
    if tags:
        ctx.authorize("iam:TagServerCertificate", cert_arn, context=tag_context(tags))
    parsed = _check(body, private_key, chain, ctx.meta.now)
    cert = ServerCertificate(acct, new_unique_id("ASCA"), name, path, cert_arn, body.strip(),
                             chain.strip() if chain else None, ctx.meta.now,
                             parsed.not_valid_after_utc, tags)
    with store_errors(server_certificate=name):
        ctx.runtime.store.upload_server_certificate(
            cert, max_per_account=SERVER_CERTIFICATES_PER_ACCOUNT)
    ctx.audit.response_elements = {"serverCertificateMetadata": {
        "serverCertificateName": name, "serverCertificateId": cert.server_certificate_id,
        "arn": cert_arn, "path": path}}
    return {"ServerCertificateMetadata": metadata(cert), "Tags": render_tags(tags) or None}


@operation("iam", "GetServerCertificate", read_only=True)
def get_server_certificate(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = _name(params)
    ctx.audit.request_parameters = {"serverCertificateName": name}
    cert = load_certificate(ctx, "iam:GetServerCertificate", name)
    return {"ServerCertificate": {
        "ServerCertificateMetadata": metadata(cert), "CertificateBody": cert.body,
        "CertificateChain": cert.chain, "Tags": render_tags(cert.tags) or None}}


@operation("iam", "ListServerCertificates", read_only=True)
def list_server_certificates(ctx: CallContext, params: Params) -> dict[str, Any]:
    prefix = path_prefix_param(params)
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"pathPrefix": prefix}
    ctx.authorize("iam:ListServerCertificates", "*")
    with store_errors():
        page = ctx.runtime.store.list_server_certificates(
            account(ctx), path_prefix=prefix, marker=marker, max_items=max_items)
    return page_result(page, "ServerCertificateMetadataList", [metadata(c) for c in page.items])


@operation("iam", "UpdateServerCertificate")
def update_server_certificate(ctx: CallContext, params: Params) -> None:
    name = _name(params)
    new_name = opt_name_param(params, "NewServerCertificateName", max_len=128)
    new_path = params.str("NewPath") and path_param(params, "NewPath")
    ctx.audit.request_parameters = {"serverCertificateName": name,
                                    "newServerCertificateName": new_name, "newPath": new_path}
    cert = load_certificate(ctx, "iam:UpdateServerCertificate", name)
    if not (new_name or new_path):
        return
    acct = account(ctx)

    def change(c: ServerCertificate) -> ServerCertificate:
        path = new_path or c.path
        final = new_name or c.name
        return dataclasses.replace(c, name=final, path=path,
                                   arn=arn(acct, "server-certificate", path, final))

    target = change(cert)
    if target.arn != cert.arn:
        ctx.authorize("iam:UpdateServerCertificate", target.arn)
    with store_errors(server_certificate=new_name or name):
        ctx.runtime.store.update_server_certificate(acct, cert.name, change)


@operation("iam", "DeleteServerCertificate")
def delete_server_certificate(ctx: CallContext, params: Params) -> None:
    name = _name(params)
    ctx.audit.request_parameters = {"serverCertificateName": name}
    cert = load_certificate(ctx, "iam:DeleteServerCertificate", name)
    with store_errors(server_certificate=name):
        ctx.runtime.store.delete_server_certificate(account(ctx), cert.name)


def _update(ctx: CallContext, name: str, cert: ServerCertificate,
            change: Callable[[ServerCertificate], ServerCertificate]) -> None:
    with store_errors(server_certificate=name):
        ctx.runtime.store.update_server_certificate(account(ctx), cert.name, change)


RESOURCE = Resource("ServerCertificate", _name, "serverCertificateName", load_certificate,
                    _update)
register_tag_operations(RESOURCE)
