"""A user's other credentials: X.509 signing certificates, SSH public keys (CodeCommit) and
service-specific credentials (IAM API reference: API_UploadSigningCertificate.html,
API_UploadSSHPublicKey.html, API_CreateServiceSpecificCredential.html and siblings).

Authorization is ``iam:<Action>`` on the user's ARN (every one of these actions has the
``user`` resource type, service authorization reference); without ``UserName`` an IAM user
means themself and the root user its own signing certificates. Quotas (reference_iam-
quotas): 2 signing certificates and 5 SSH public keys per user, 2 service-specific
credentials per user and service. Service passwords are sealed at rest and returned only by
Create/ResetServiceSpecificCredential; never audited.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import (
    ServiceSpecificCredential,
    SigningCertificate,
    SshPublicKey,
)
from opensts.errors import InvalidInput, ValidationError
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    account,
    every,
    load_user,
    name_param,
    opt_name_param,
    page_of,
    page_result,
    paging,
    store_errors,
)
from opensts.services.iam.credentials import _key_owner
from opensts.services.iam.errors import (
    DuplicateCertificate,
    DuplicateSSHPublicKey,
    InvalidPublicKey,
    MalformedCertificate,
    NotSupportedService,
    UnrecognizedPublicKeyEncoding,
    not_found,
)
from opensts.services.registry import operation
from opensts.wire.params import Params

SIGNING_CERTIFICATES_PER_USER = 2
SSH_PUBLIC_KEYS_PER_USER = 5
SERVICE_CREDENTIALS_PER_SERVICE = 2
BODY_TEXT = r"[\u0009\u000A\u000D\u0020-\u00FF]+"
BODY = re.compile(BODY_TEXT)
ID_TEXT = r"[\w]+"
ID = re.compile(ID_TEXT, re.ASCII)
STATUSES = ["Active", "Inactive", "Expired"]
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Services that take service-specific credentials (id_credentials_service-specific_creds):
# CodeCommit (Git over HTTPS), Amazon Keyspaces (Cassandra) and Amazon Bedrock API keys.
SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com")


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(length - len(prefix)))


def _status(params: Params, kind: str) -> str:
    status = params.required("Status", choices=STATUSES)
    if status == "Expired":
        raise InvalidInput(f"{kind} status Expired cannot be set.")
    return status


def _user_owner(ctx: CallContext, params: Params, action: str, *,
                context: dict[str, str | list[str]] | None = None,
                max_len: int = 64) -> str:
    """The IAM user whose credentials are meant (``UserName`` or the calling user)."""
    name = opt_name_param(params, "UserName", max_len=max_len)
    if name is None:
        caller = ctx.require_caller()
        if caller.type != "IAMUser" or caller.user_name is None:
            raise ValidationError("Must specify userName when calling with non-User credentials")
        name = caller.user_name
    return load_user(ctx, action, name, context).name


# -- signing certificates -------------------------------------------------------------------

def parse_certificate(body: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(body.strip().encode("latin-1"))
    except ValueError:
        raise MalformedCertificate("Unable to parse certificate. Please ensure the "
                                   "certificate is in PEM format.") from None


def _cert_dict(c: SigningCertificate, acct: str) -> dict[str, Any]:
    return {"UserName": c.user_name or acct, "CertificateId": c.certificate_id,
            "CertificateBody": c.body, "Status": c.status, "UploadDate": c.uploaded}


@operation("iam", "UploadSigningCertificate")
def upload_signing_certificate(ctx: CallContext, params: Params) -> dict[str, Any]:
    body = params.required("CertificateBody", min_len=1, max_len=16384, pattern=BODY,
                           pattern_text=BODY_TEXT)
    user_name, _ = _key_owner(ctx, params, "iam:UploadSigningCertificate")
    ctx.audit.request_parameters = {"userName": user_name, "certificateBody": body}
    parse_certificate(body)
    acct = account(ctx)
    cert = SigningCertificate(_random_id("", 32), acct, user_name, body, "Active",
                              ctx.meta.now)
    with store_errors(user=user_name or ""):
        try:
            ctx.runtime.store.upload_signing_certificate(
                cert, max_per_user=SIGNING_CERTIFICATES_PER_USER)
        except AlreadyExists:
            raise DuplicateCertificate(
                "The request was rejected because the same certificate is associated with an "
                "IAM user in the account.") from None
    return {"Certificate": _cert_dict(cert, acct)}


@operation("iam", "ListSigningCertificates", read_only=True)
def list_signing_certificates(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name, _ = _key_owner(ctx, params, "iam:ListSigningCertificates")
    marker, max_items = paging(params)
    ctx.audit.request_parameters = {"userName": user_name}
    acct = account(ctx)
    with store_errors(user=user_name or ""):
        certs = ctx.runtime.store.list_signing_certificates(acct, user_name)
    page = page_of(certs, marker, max_items, _created_key)
    return page_result(page, "Certificates", [_cert_dict(c, acct) for c in page.items])


def _created_key(item: Any) -> str:
    ident = getattr(item, "certificate_id", None) or getattr(item, "ssh_public_key_id", None) \
        or getattr(item, "credential_id", "")
    when = getattr(item, "uploaded", None) or item.created
    return f"{when.isoformat(timespec='microseconds')} {ident}"


def _certificate_id(params: Params) -> str:
    return params.required("CertificateId", min_len=24, max_len=128, pattern=ID,
                           pattern_text=ID_TEXT)


@operation("iam", "UpdateSigningCertificate")
def update_signing_certificate(ctx: CallContext, params: Params) -> None:
    cert_id = _certificate_id(params)
    status = params.required("Status", choices=STATUSES)
    user_name, _ = _key_owner(ctx, params, "iam:UpdateSigningCertificate")
    ctx.audit.request_parameters = {"userName": user_name, "certificateId": cert_id,
                                    "status": status}
    if status == "Expired":
        raise InvalidInput("Certificate status Expired cannot be set.")
    with store_errors(user=user_name or "", signing_certificate=cert_id):
        ctx.runtime.store.set_signing_certificate_status(account(ctx), user_name, cert_id,
                                                         status)


@operation("iam", "DeleteSigningCertificate")
def delete_signing_certificate(ctx: CallContext, params: Params) -> None:
    cert_id = _certificate_id(params)
    user_name, _ = _key_owner(ctx, params, "iam:DeleteSigningCertificate")
    ctx.audit.request_parameters = {"userName": user_name, "certificateId": cert_id}
    with store_errors(user=user_name or "", signing_certificate=cert_id):
        ctx.runtime.store.delete_signing_certificate(account(ctx), user_name, cert_id)


# -- SSH public keys ------------------------------------------------------------------------

def parse_ssh_key(body: str) -> tuple[rsa.RSAPublicKey, str]:
    """The RSA key of an OpenSSH (``ssh-rsa AAAA...``) or PEM body, and its MD5 fingerprint
    (of the SSH wire encoding, as ``ssh-keygen -E md5`` shows it). CodeCommit takes RSA
    keys of at least 2048 bits (codecommit setting-up-ssh)."""
    text = body.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("latin-1"))
        elif text.startswith("ssh-"):
            key = serialization.load_ssh_public_key(text.encode("latin-1"))
        else:
            raise UnrecognizedPublicKeyEncoding(
                "The request was rejected because the public key encoding format is "
                "unsupported or unrecognized.")
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidPublicKey("The request was rejected because the public key is malformed "
                               "or otherwise invalid.") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise InvalidPublicKey("The request was rejected because the public key is malformed "
                               "or otherwise invalid.")
    blob = base64.b64decode(key.public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).split()[1])
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return key, ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _ssh_body(key: SshPublicKey, encoding: str) -> str:
    public, _ = parse_ssh_key(key.body)
    if encoding == "PEM":
        return public.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return public.public_bytes(serialization.Encoding.OpenSSH,
                               serialization.PublicFormat.OpenSSH).decode()


def _ssh_dict(k: SshPublicKey, encoding: str = "SSH") -> dict[str, Any]:
    return {"UserName": k.user_name, "SSHPublicKeyId": k.ssh_public_key_id,
            "Fingerprint": k.fingerprint, "SSHPublicKeyBody": _ssh_body(k, encoding),
            "Status": k.status, "UploadDate": k.uploaded}


def _ssh_id(params: Params) -> str:
    return params.required("SSHPublicKeyId", min_len=20, max_len=128, pattern=ID,
                           pattern_text=ID_TEXT)


@operation("iam", "UploadSSHPublicKey")
def upload_ssh_public_key(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name = name_param(params, "UserName")
    body = params.required("SSHPublicKeyBody", min_len=1, max_len=16384, pattern=BODY,
                           pattern_text=BODY_TEXT)
    ctx.audit.request_parameters = {"userName": user_name, "sSHPublicKeyBody": body}
    user = load_user(ctx, "iam:UploadSSHPublicKey", user_name)
    _, fingerprint = parse_ssh_key(body)
    key = SshPublicKey(_random_id("APKA", 20), account(ctx), user.name, body.strip(),
                       fingerprint, "Active", ctx.meta.now)
    with store_errors(user=user_name):
        try:
            ctx.runtime.store.upload_ssh_public_key(key, max_per_user=SSH_PUBLIC_KEYS_PER_USER)
        except AlreadyExists:
            raise DuplicateSSHPublicKey(
                "The request was rejected because the SSH public key is already associated "
                "with the specified IAM user.") from None
    return {"SSHPublicKey": _ssh_dict(key)}


def _find_ssh_key(ctx: CallContext, user_name: str, key_id: str) -> SshPublicKey:
    for key in ctx.runtime.store.list_ssh_public_keys(account(ctx), user_name):
        if key.ssh_public_key_id == key_id:
            return key  # type: ignore[no-any-return]
    raise not_found("ssh_public_key", key_id)


@operation("iam", "GetSSHPublicKey", read_only=True)
def get_ssh_public_key(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name = name_param(params, "UserName")
    key_id = _ssh_id(params)
    encoding = params.required("Encoding", choices=["SSH", "PEM"])
    ctx.audit.request_parameters = {"userName": user_name, "sSHPublicKeyId": key_id,
                                    "encoding": encoding}
    user = load_user(ctx, "iam:GetSSHPublicKey", user_name)
    return {"SSHPublicKey": _ssh_dict(_find_ssh_key(ctx, user.name, key_id), encoding)}


@operation("iam", "ListSSHPublicKeys", read_only=True)
def list_ssh_public_keys(ctx: CallContext, params: Params) -> dict[str, Any]:
    marker, max_items = paging(params)
    user_name, _ = _key_owner(ctx, params, "iam:ListSSHPublicKeys")
    ctx.audit.request_parameters = {"userName": user_name}
    keys: list[SshPublicKey] = []
    if user_name is not None:  # the root user has none
        with store_errors(user=user_name):
            keys = ctx.runtime.store.list_ssh_public_keys(account(ctx), user_name)
    page = page_of(keys, marker, max_items, _created_key)
    return page_result(page, "SSHPublicKeys", [
        {"UserName": k.user_name, "SSHPublicKeyId": k.ssh_public_key_id, "Status": k.status,
         "UploadDate": k.uploaded} for k in page.items])


@operation("iam", "UpdateSSHPublicKey")
def update_ssh_public_key(ctx: CallContext, params: Params) -> None:
    user_name = name_param(params, "UserName")
    key_id = _ssh_id(params)
    status = params.required("Status", choices=STATUSES)
    ctx.audit.request_parameters = {"userName": user_name, "sSHPublicKeyId": key_id,
                                    "status": status}
    user = load_user(ctx, "iam:UpdateSSHPublicKey", user_name)
    if status == "Expired":
        raise InvalidInput("SSH public key status Expired cannot be set.")
    with store_errors(user=user_name, ssh_public_key=key_id):
        ctx.runtime.store.set_ssh_public_key_status(account(ctx), user.name, key_id, status)


@operation("iam", "DeleteSSHPublicKey")
def delete_ssh_public_key(ctx: CallContext, params: Params) -> None:
    user_name = name_param(params, "UserName")
    key_id = _ssh_id(params)
    ctx.audit.request_parameters = {"userName": user_name, "sSHPublicKeyId": key_id}
    user = load_user(ctx, "iam:DeleteSSHPublicKey", user_name)
    with store_errors(user=user_name, ssh_public_key=key_id):
        ctx.runtime.store.delete_ssh_public_key(account(ctx), user.name, key_id)


# -- service-specific credentials -----------------------------------------------------------

def credential_context(cred_id: str) -> bytes:
    """Sealing context of a service password."""
    return b"service-credential:" + cred_id.encode()


def _new_password(service: str) -> str:
    if service == "bedrock.amazonaws.com":
        return base64.b64encode(secrets.token_bytes(45)).decode()
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _cred_dict(c: ServiceSpecificCredential, password: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"CreateDate": c.created, "ExpirationDate": c.expires,
                           "ServiceName": c.service_name,
                           "ServiceSpecificCredentialId": c.credential_id,
                           "UserName": c.user_name, "Status": c.status}
    if c.service_name == "bedrock.amazonaws.com":
        # Bedrock API keys are an alias and a secret, not a user name and password.
        out["ServiceCredentialAlias"] = c.service_user_name
        if password is not None:
            out["ServiceCredentialSecret"] = password
    else:
        out["ServiceUserName"] = c.service_user_name
        if password is not None:
            out["ServicePassword"] = password
    return out


def _service(params: Params, *, required: bool) -> str | None:
    name = params.str("ServiceName", required=required)
    if name is not None and name not in SERVICES:
        raise NotSupportedService("The specified service does not support service-specific "
                                  "credentials.")
    return name


def _cred_id(params: Params) -> str:
    return params.required("ServiceSpecificCredentialId", min_len=20, max_len=128,
                           pattern=ID, pattern_text=ID_TEXT)


@operation("iam", "CreateServiceSpecificCredential")
def create_service_specific_credential(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name = name_param(params, "UserName")
    service = _service(params, required=True)
    assert service is not None
    age = params.int("CredentialAgeDays", minimum=1, maximum=36600)
    ctx.audit.request_parameters = {"userName": user_name, "serviceName": service,
                                    **({"credentialAgeDays": age} if age else {})}
    context: dict[str, str | list[str]] = {"iam:ServiceSpecificCredentialServiceName": service}
    if age is not None:
        context["iam:ServiceSpecificCredentialAgeDays"] = str(age)
    user = load_user(ctx, "iam:CreateServiceSpecificCredential", user_name, context)
    acct = account(ctx)
    cred_id = _random_id("ACCA", 21)
    password = _new_password(service)
    service_user = f"{user.name}-at-{acct}"
    if service == "bedrock.amazonaws.com":
        service_user = f"BedrockAPIKey-{_random_id('', 4).lower()}-at-{acct}"
    cred = ServiceSpecificCredential(
        cred_id, acct, user.name, service, service_user,
        ctx.runtime.secret_box.seal(password.encode(), context=credential_context(cred_id)),
        "Active", ctx.meta.now,
        None if age is None else ctx.meta.now + timedelta(days=age))
    with store_errors(user=user_name):
        ctx.runtime.store.create_service_specific_credential(
            cred, max_per_service=SERVICE_CREDENTIALS_PER_SERVICE)
    ctx.audit.response_elements = {"serviceSpecificCredential": {
        "serviceSpecificCredentialId": cred_id, "serviceName": service, "userName": user.name,
        "status": "Active"}}
    return {"ServiceSpecificCredential": _cred_dict(cred, password)}


def _find_cred(ctx: CallContext, user_name: str, cred_id: str) -> ServiceSpecificCredential:
    for cred in ctx.runtime.store.list_service_specific_credentials(account(ctx), user_name):
        if cred.credential_id == cred_id:
            return cred  # type: ignore[no-any-return]
    raise not_found("service_specific_credential", cred_id)


def _owned_cred(ctx: CallContext, params: Params, action: str
                ) -> tuple[str, ServiceSpecificCredential]:
    """Authorize ``action`` on the user with the credential's service as
    iam:ServiceSpecificCredentialServiceName, then return (user name, credential)."""
    cred_id = _cred_id(params)
    name = opt_name_param(params, "UserName")
    if name is None:
        caller = ctx.require_caller()
        if caller.type != "IAMUser" or caller.user_name is None:
            raise ValidationError("Must specify userName when calling with non-User credentials")
        name = caller.user_name
    ctx.audit.request_parameters = {"userName": name, "serviceSpecificCredentialId": cred_id}
    try:
        cred = next((c for c in ctx.runtime.store.list_service_specific_credentials(
            account(ctx), name) if c.credential_id == cred_id), None)
    except NotFound:  # no such user: load_user below reports it after authorizing
        cred = None
    context: dict[str, str | list[str]] = {}
    if cred is not None:
        context["iam:ServiceSpecificCredentialServiceName"] = cred.service_name
    user = load_user(ctx, action, name, context)
    if cred is None:
        cred = _find_cred(ctx, user.name, cred_id)
    return user.name, cred


@operation("iam", "ResetServiceSpecificCredential")
def reset_service_specific_credential(ctx: CallContext, params: Params) -> dict[str, Any]:
    user_name, cred = _owned_cred(ctx, params, "iam:ResetServiceSpecificCredential")
    password = _new_password(cred.service_name)
    sealed = ctx.runtime.secret_box.seal(password.encode(),
                                         context=credential_context(cred.credential_id))
    with store_errors(user=user_name, service_specific_credential=cred.credential_id):
        ctx.runtime.store.update_service_specific_credential(
            account(ctx), user_name, cred.credential_id, sealed_password=sealed)
    return {"ServiceSpecificCredential": _cred_dict(cred, password)}


@operation("iam", "UpdateServiceSpecificCredential")
def update_service_specific_credential(ctx: CallContext, params: Params) -> None:
    status = params.required("Status", choices=STATUSES)
    user_name, cred = _owned_cred(ctx, params, "iam:UpdateServiceSpecificCredential")
    ctx.audit.request_parameters = {**(ctx.audit.request_parameters or {}), "status": status}
    if status == "Expired":
        raise InvalidInput("Service-specific credential status Expired cannot be set.")
    with store_errors(user=user_name, service_specific_credential=cred.credential_id):
        ctx.runtime.store.update_service_specific_credential(
            account(ctx), user_name, cred.credential_id, status=status)


@operation("iam", "DeleteServiceSpecificCredential")
def delete_service_specific_credential(ctx: CallContext, params: Params) -> None:
    user_name, cred = _owned_cred(ctx, params, "iam:DeleteServiceSpecificCredential")
    with store_errors(user=user_name, service_specific_credential=cred.credential_id):
        ctx.runtime.store.delete_service_specific_credential(account(ctx), user_name,
                                                             cred.credential_id)


@operation("iam", "ListServiceSpecificCredentials", read_only=True)
def list_service_specific_credentials(ctx: CallContext, params: Params) -> dict[str, Any]:
    service = _service(params, required=False)
    all_users = params.bool("AllUsers") or False
    marker, max_items = paging(params)
    acct = account(ctx)
    store = ctx.runtime.store
    creds: list[ServiceSpecificCredential] = []
    if all_users and "UserName" in params:
        # "This parameter cannot be specified together with UserName" (AllUsers).
        raise ValidationError("AllUsers cannot be specified together with UserName.")
    if all_users:
        # Every user's credentials: authorized on each user, as listing them one by one.
        ctx.audit.request_parameters = {"allUsers": True, "serviceName": service}
        for user in every(lambda **kw: store.list_users(acct, **kw)):
            load_user(ctx, "iam:ListServiceSpecificCredentials", user.name)
            creds.extend(store.list_service_specific_credentials(acct, user.name, service))
    else:
        user_name = _user_owner(ctx, params, "iam:ListServiceSpecificCredentials")
        ctx.audit.request_parameters = {"userName": user_name, "serviceName": service}
        with store_errors(user=user_name):
            creds = store.list_service_specific_credentials(acct, user_name, service)
    page = page_of(creds, marker, max_items, _created_key)
    items = []
    for c in page.items:
        item = _cred_dict(c)
        if c.expires is None:
            del item["ExpirationDate"]
        items.append(item)
    return page_result(page, "ServiceSpecificCredentials", items)

