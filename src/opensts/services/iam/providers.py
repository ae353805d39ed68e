"""IAM identity providers: SAML providers and OpenID Connect providers (IAM API reference:
CreateSAMLProvider, UpdateSAMLProvider, GetSAMLProvider, ListSAMLProviders,
DeleteSAMLProvider, CreateOpenIDConnectProvider, GetOpenIDConnectProvider,
ListOpenIDConnectProviders, DeleteOpenIDConnectProvider, AddClientIDToOpenIDConnectProvider,
RemoveClientIDFromOpenIDConnectProvider, UpdateOpenIDConnectProviderThumbprint, and the
Tag/Untag/List…Tags operations of both kinds).

Provider ARNs are formed as AWS forms them (IAM User Guide, reference_identifiers):
``arn:aws:iam::ACCT:saml-provider/NAME`` and ``arn:aws:iam::ACCT:oidc-provider/<URL without
https://>`` keeping the path and any trailing slash (Microsoft Entra ID v1 issuers end in
``/``). SAML private keys (AddPrivateKey) are sealed at rest with the context
``b"saml-key:" + provider_arn + b"#" + key_id`` that AssumeRoleWithSAML opens them with.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import secrets
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import OidcProvider, SamlPrivateKey, SamlProvider
from opensts.errors import EntityAlreadyExists, InvalidInput, LimitExceeded, NoSuchEntity
from opensts.federation.oidc import provider_arn as oidc_arn
from opensts.federation.saml import SamlMetadata, parse_metadata
from opensts.services.context import CallContext
from opensts.services.iam.common import (
    ARN_MAX,
    ARN_MIN,
    account,
    render_tags,
    tag_context,
    tags_param,
    with_resource_tags,
)
from opensts.services.iam.resource import Resource
from opensts.services.iam.tagging import register_tag_operations
from opensts.services.registry import operation
from opensts.wire.params import Params, validation_error

P = TypeVar("P", SamlProvider, OidcProvider)

SAML_NAME_TEXT = r"[\w._-]+"
SAML_NAME = re.compile(SAML_NAME_TEXT, re.ASCII)
KEY_ID_TEXT = r"[A-Z0-9]+"
KEY_ID = re.compile(KEY_ID_TEXT)
PRIVATE_KEY = re.compile(r"[\u0009\u000A\u000D\u0020-\u00FF]+")
HEX40 = re.compile(r"[0-9A-Fa-f]{40}")
_SAML_ARN = re.compile(r"arn:aws:iam::(\d{12}):saml-provider/([\w._-]{1,128})", re.ASCII)
_OIDC_ARN = re.compile(r"arn:aws:iam::(\d{12}):oidc-provider/(\S+)")

# IAM quotas (reference_iam-quotas) and the model's list bounds.
SAML_PROVIDERS_PER_ACCOUNT = 100
OIDC_PROVIDERS_PER_ACCOUNT = 100
CLIENT_IDS_PER_PROVIDER = 100
THUMBPRINTS_PER_PROVIDER = 5
PRIVATE_KEYS_PER_PROVIDER = 2  # botocore privateKeyList: max 2 (add new, then remove old)
# Without a metadata validUntil, AWS dates a provider 100 years after its creation.
DEFAULT_VALIDITY_YEARS = 100
# CloudTrail's placeholder for sensitive request parameters.
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

EncryptionMode = Literal["Allowed", "Required"]


def _new_id() -> str:
    """26 characters of [A-Z2-7]: inside the model's privateKeyIdType (22–64, [A-Z0-9]+)."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")


def _seal_context(provider_arn: str, key_id: str) -> bytes:
    return b"saml-key:" + provider_arn.encode() + b"#" + key_id.encode()


def _arn_param(params: Params, field: str) -> str:
    return params.required(field, min_len=ARN_MIN, max_len=ARN_MAX)


# -- SAML ----------------------------------------------------------------------------------


def _metadata(params: Params, *, required: bool) -> tuple[str, SamlMetadata] | None:
    text = params.str("SAMLMetadataDocument", required=required, min_len=1000,
                      max_len=10_000_000)
    if text is None:
        return None
    # parse_metadata raises InvalidInput "Could not parse metadata: ..." for bad documents.
    return text, parse_metadata(text)


def _encryption_mode(params: Params) -> EncryptionMode | None:
    mode = params.str("AssertionEncryptionMode", choices=("Required", "Allowed"))
    return mode  # type: ignore[return-value]


def _private_key(params: Params, field: str = "AddPrivateKey") -> bytes | None:
    """The PEM private key, checked without ever echoing it (the member is sensitive)."""
    pem = params.raw().get(field)
    if pem is None:
        return None
    if not 1 <= len(pem) <= 16384:
        raise validation_error(field, HIDDEN, "Member must have length less than or equal to "
                               "16384" if pem else "Member must have length greater than or "
                               "equal to 1")
    if PRIVATE_KEY.fullmatch(pem) is None:
        raise validation_error(field, HIDDEN, "Member must satisfy regular expression pattern: "
                               r"[\u0009\u000A\u000D\u0020-\u00FF]+")
    data = pem.encode("latin-1")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InvalidInput("The private key is not a valid unencrypted PEM private key.") from None
    # XML-Enc key transport (RSA-OAEP) needs an RSA key: AWS accepts RSA keys only.
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise InvalidInput("The private key must be an RSA key of at least 2048 bits.")
    return data


def _provider_arn(params: Params, field: str, pattern: re.Pattern[str]) -> str:
    value = _arn_param(params, field)
    if pattern.fullmatch(value) is None:
        raise InvalidInput(f"ARN {value} is not valid.")
    return value


@contextmanager
def _missing_as(not_found: Callable[[str], NoSuchEntity], provider_arn: str) -> Iterator[None]:
    """A provider the store cannot find (deleted since it was loaded) is AWS's not-found."""
    try:
        yield
    except NotFound:
        raise not_found(provider_arn) from None


def _saml_arn(params: Params, field: str = "SAMLProviderArn") -> str:
    return _provider_arn(params, field, _SAML_ARN)


def _saml_not_found(provider_arn: str) -> NoSuchEntity:
    return NoSuchEntity(f"Manifest not found for arn {provider_arn}")


def _load_saml(ctx: CallContext, action: str, provider_arn: str,
               context: dict[str, str | list[str]] | None = None) -> SamlProvider:
    return _load(ctx, action, provider_arn, ctx.runtime.store.get_saml_provider,
                 _saml_not_found, context)


def _load(ctx: CallContext, action: str, provider_arn: str, get: Callable[[str], P],
          not_found: Callable[[str], NoSuchEntity],
          context: dict[str, str | list[str]] | None) -> P:
    """Authorize ``action`` on the provider, then find it (authorization reveals nothing)."""
    try:
        provider: P | None = get(provider_arn)
    except NotFound:
        provider = None
    if provider is None or provider.account_id != account(ctx):
        ctx.authorize(action, provider_arn, context=context)
        raise not_found(provider_arn)
    ctx.authorize(action, provider.arn, context=with_resource_tags(provider.tags, context))
    return provider


def _update_saml(ctx: CallContext, provider_arn: str,
                 fn: Callable[[SamlProvider], SamlProvider]) -> SamlProvider:
    with _missing_as(_saml_not_found, provider_arn):
        return ctx.runtime.store.update_saml_provider(provider_arn, fn)


def _valid_until(metadata: SamlMetadata, created: datetime) -> datetime:
    if metadata.valid_until is not None:
        return metadata.valid_until
    try:
        return created.replace(year=created.year + DEFAULT_VALIDITY_YEARS)
    except ValueError:  # 29 February
        return created.replace(year=created.year + DEFAULT_VALIDITY_YEARS, day=28)


def _check_encryption(mode: EncryptionMode | None, keys: tuple[SamlPrivateKey, ...]) -> None:
    if mode == "Required" and not keys:
        raise InvalidInput("AssertionEncryptionMode Required needs a private key: add one with "
                           "AddPrivateKey.")


@operation("iam", "CreateSAMLProvider")
def create_saml_provider(ctx: CallContext, params: Params) -> dict[str, Any]:
    name = params.required("Name", min_len=1, max_len=128, pattern=SAML_NAME,
                           pattern_text=SAML_NAME_TEXT)
    tags = tags_param(params)
    mode = _encryption_mode(params)
    pem = _private_key(params)
    acct = account(ctx)
    provider_arn = f"arn:aws:iam::{acct}:saml-provider/{name}"
    ctx.audit.request_parameters = {
        "name": name,
        **({"assertionEncryptionMode": mode} if mode else {}),
        **({"addPrivateKey": HIDDEN} if pem is not None else {}),
        **({"tags": render_tags(tags)} if tags else {}),
    }
    ctx.authorize("iam:CreateSAMLProvider", provider_arn, context=tag_context(tags))
    if tags:
        ctx.authorize("iam:TagSAMLProvider", provider_arn, context=tag_context(tags))
    parsed = _metadata(params, required=True)
    assert parsed is not None
    text, metadata = parsed
    now = ctx.meta.now
    keys: tuple[SamlPrivateKey, ...] = ()
    if pem is not None:
        key_id = _new_id()
        sealed = ctx.runtime.secret_box.seal(pem, context=_seal_context(provider_arn, key_id))
        keys = (SamlPrivateKey(key_id, sealed, now),)
    _check_encryption(mode, keys)
    store = ctx.runtime.store
    if len(store.list_saml_providers(acct)) >= SAML_PROVIDERS_PER_ACCOUNT:
        raise LimitExceeded(
            f"Cannot exceed quota for SAMLProvidersPerAccount: {SAML_PROVIDERS_PER_ACCOUNT}")
    provider = SamlProvider(
        account_id=acct, name=name, arn=provider_arn, metadata=text, uuid=_new_id(),
        created=now, valid_until=_valid_until(metadata, now), assertion_encryption_mode=mode,
        private_keys=keys, tags=tags,
    )
    try:
        store.create_saml_provider(provider)
    except AlreadyExists:
        raise EntityAlreadyExists(f"SAMLProvider {name} already exists.") from None
    ctx.audit.response_elements = {"sAMLProviderArn": provider_arn}
    return {"SAMLProviderArn": provider_arn, "Tags": render_tags(tags) or None}


@operation("iam", "UpdateSAMLProvider")
def update_saml_provider(ctx: CallContext, params: Params) -> dict[str, Any]:
    provider_arn = _saml_arn(params)
    mode = _encryption_mode(params)
    pem = _private_key(params)
    remove = params.str("RemovePrivateKey", min_len=22, max_len=64, pattern=KEY_ID,
                        pattern_text=KEY_ID_TEXT)
    ctx.audit.request_parameters = {
        "sAMLProviderArn": provider_arn,
        **({"assertionEncryptionMode": mode} if mode else {}),
        **({"addPrivateKey": HIDDEN} if pem is not None else {}),
        **({"removePrivateKey": remove} if remove else {}),
    }
    _load_saml(ctx, "iam:UpdateSAMLProvider", provider_arn)
    parsed = _metadata(params, required=False)
    if parsed is None and mode is None and pem is None and remove is None:
        raise InvalidInput("At least one of SAMLMetadataDocument, AssertionEncryptionMode, "
                           "AddPrivateKey or RemovePrivateKey must be specified.")
    now = ctx.meta.now
    new_key: SamlPrivateKey | None = None
    if pem is not None:
        key_id = _new_id()
        new_key = SamlPrivateKey(
            key_id, ctx.runtime.secret_box.seal(pem, context=_seal_context(provider_arn, key_id)),
            now)

    def change(p: SamlProvider) -> SamlProvider:
        keys = p.private_keys
        if remove is not None:
            if not any(k.key_id == remove for k in keys):
                raise InvalidInput(f"The private key {remove} does not exist on this provider.")
            keys = tuple(k for k in keys if k.key_id != remove)
        if new_key is not None:
            if len(keys) >= PRIVATE_KEYS_PER_PROVIDER:
                raise LimitExceeded("Cannot exceed quota for PrivateKeysPerSAMLProvider: "
                                    f"{PRIVATE_KEYS_PER_PROVIDER}")
            keys = (*keys, new_key)
        new_mode = mode or p.assertion_encryption_mode
        _check_encryption(new_mode, keys)
        updated = dataclasses.replace(p, private_keys=keys, assertion_encryption_mode=new_mode)
        if parsed is not None:
            text, metadata = parsed
            updated = dataclasses.replace(updated, metadata=text,
                                          valid_until=_valid_until(metadata, now))
        return updated

    _update_saml(ctx, provider_arn, change)
    return {"SAMLProviderArn": provider_arn}


@operation("iam", "GetSAMLProvider", read_only=True)
def get_saml_provider(ctx: CallContext, params: Params) -> dict[str, Any]:
    provider_arn = _saml_arn(params)
    ctx.audit.request_parameters = {"sAMLProviderArn": provider_arn}
    p = _load_saml(ctx, "iam:GetSAMLProvider", provider_arn)
    return {
        "SAMLProviderUUID": p.uuid,
        "SAMLMetadataDocument": p.metadata,
        "CreateDate": p.created,
        "ValidUntil": p.valid_until,
        "Tags": render_tags(p.tags) or None,
        "AssertionEncryptionMode": p.assertion_encryption_mode,
        "PrivateKeyList": [{"KeyId": k.key_id, "Timestamp": k.created}
                           for k in p.private_keys] or None,
    }


@operation("iam", "ListSAMLProviders", read_only=True)
def list_saml_providers(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    ctx.authorize("iam:ListSAMLProviders", f"arn:aws:iam::{acct}:saml-provider/*")
    return {"SAMLProviderList": [
        {"Arn": p.arn, "ValidUntil": p.valid_until, "CreateDate": p.created}
        for p in ctx.runtime.store.list_saml_providers(acct)
    ]}


@operation("iam", "DeleteSAMLProvider")
def delete_saml_provider(ctx: CallContext, params: Params) -> None:
    provider_arn = _saml_arn(params)
    ctx.audit.request_parameters = {"sAMLProviderArn": provider_arn}
    _load_saml(ctx, "iam:DeleteSAMLProvider", provider_arn)
    with _missing_as(_saml_not_found, provider_arn):
        ctx.runtime.store.delete_saml_provider(provider_arn)


register_tag_operations(Resource(
    "SAMLProvider", _saml_arn, "sAMLProviderArn", _load_saml,
    lambda ctx, provider_arn, _, change: _update_saml(ctx, provider_arn, change)),
    audit_tags=render_tags)


# -- OpenID Connect ------------------------------------------------------------------------


def _oidc_url(params: Params) -> str:
    """``https://host[:port][/path]``: no query, fragment or user info.

    AWS refuses a port; OpenSTS accepts one as a deliberate extension so self-hosted IdPs on
    non-default ports can be registered. The URL must equal the tokens' ``iss`` exactly.
    """
    url = params.required("Url", min_len=1, max_len=255)
    if not url.startswith("https://"):
        raise InvalidInput("Invalid Url: the URL must begin with https://.")
    parts = urllib.parse.urlsplit(url)
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise InvalidInput("Invalid Url: the URL cannot contain a query or a fragment.")
    if parts.username is not None or parts.password is not None or not parts.hostname:
        raise InvalidInput("Invalid Url: the URL must name a host.")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise InvalidInput("Invalid Url: the port is not valid.") from None
    if any(c.isspace() for c in url):
        raise InvalidInput("Invalid Url: the URL cannot contain white space.")
    return url


def _client_id(params: Params) -> str:
    return params.required("ClientID", min_len=1, max_len=255)


def _client_ids(params: Params) -> tuple[str, ...]:
    ids: list[str] = []
    for i, value in enumerate(params.strings("ClientIDList"), start=1):
        if not 1 <= len(value) <= 255:
            raise validation_error(f"clientIDList.{i}.member", value,
                                   "Member must have length less than or equal to 255"
                                   if value else
                                   "Member must have length greater than or equal to 1")
        if value not in ids:
            ids.append(value)
    if len(ids) > CLIENT_IDS_PER_PROVIDER:
        raise LimitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: "
                            f"{CLIENT_IDS_PER_PROVIDER}")
    return tuple(ids)


def _thumbprints(params: Params) -> tuple[str, ...]:
    prints: list[str] = []
    for i, value in enumerate(params.strings("ThumbprintList"), start=1):
        if len(value) != 40:
            constraint = ("Member must have length greater than or equal to 40"
                          if len(value) < 40 else
                          "Member must have length less than or equal to 40")
            raise validation_error(f"thumbprintList.{i}.member", value, constraint)
        if HEX40.fullmatch(value) is None:
            raise InvalidInput(f"Thumbprint {value} must be 40 hexadecimal characters.")
        if value.lower() not in (p.lower() for p in prints):
            prints.append(value)
    if len(prints) > THUMBPRINTS_PER_PROVIDER:
        raise LimitExceeded("Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: "
                            f"{THUMBPRINTS_PER_PROVIDER}")
    return tuple(prints)


def _oidc_arn(params: Params, field: str = "OpenIDConnectProviderArn") -> str:
    return _provider_arn(params, field, _OIDC_ARN)


def _oidc_not_found(provider_arn: str) -> NoSuchEntity:
    return NoSuchEntity(f"OpenIDConnect Provider not found for arn {provider_arn}")


def _load_oidc(ctx: CallContext, action: str, provider_arn: str,
               context: dict[str, str | list[str]] | None = None) -> OidcProvider:
    return _load(ctx, action, provider_arn, ctx.runtime.store.get_oidc_provider,
                 _oidc_not_found, context)


def _update_oidc(ctx: CallContext, provider_arn: str,
                 fn: Callable[[OidcProvider], OidcProvider]) -> OidcProvider:
    with _missing_as(_oidc_not_found, provider_arn):
        return ctx.runtime.store.update_oidc_provider(provider_arn, fn)


@operation("iam", "CreateOpenIDConnectProvider")
def create_open_id_connect_provider(ctx: CallContext, params: Params) -> dict[str, Any]:
    url = _oidc_url(params)
    client_ids = _client_ids(params)
    thumbprints = _thumbprints(params)
    tags = tags_param(params)
    acct = account(ctx)
    provider_arn = oidc_arn(acct, url)
    ctx.audit.request_parameters = {
        "url": url, "clientIDList": list(client_ids), "thumbprintList": list(thumbprints),
        **({"tags": render_tags(tags)} if tags else {}),
    }
    ctx.authorize("iam:CreateOpenIDConnectProvider", provider_arn, context=tag_context(tags))
    if tags:
        ctx.authorize("iam:TagOpenIDConnectProvider", provider_arn, context=tag_context(tags))
    store = ctx.runtime.store
    if len(store.list_oidc_providers(acct)) >= OIDC_PROVIDERS_PER_ACCOUNT:
        raise LimitExceeded("Cannot exceed quota for OpenIdConnectProvidersPerAccount: "
                            f"{OIDC_PROVIDERS_PER_ACCOUNT}")
    provider = OidcProvider(acct, url, provider_arn, ctx.meta.now, client_ids=client_ids,
                            thumbprints=thumbprints, tags=tags)
    try:
        store.create_oidc_provider(provider)
    except AlreadyExists:
        raise EntityAlreadyExists(f"Provider with url {url} already exists.") from None
    ctx.audit.response_elements = {"openIDConnectProviderArn": provider_arn}
    return {"OpenIDConnectProviderArn": provider_arn, "Tags": render_tags(tags) or None}


@operation("iam", "GetOpenIDConnectProvider", read_only=True)
def get_open_id_connect_provider(ctx: CallContext, params: Params) -> dict[str, Any]:
    provider_arn = _oidc_arn(params)
    ctx.audit.request_parameters = {"openIDConnectProviderArn": provider_arn}
    p = _load_oidc(ctx, "iam:GetOpenIDConnectProvider", provider_arn)
    return {
        # AWS answers the URL without its scheme (GetOpenIDConnectProvider examples).
        "Url": p.url.removeprefix("https://"),
        "ClientIDList": list(p.client_ids),
        "ThumbprintList": list(p.thumbprints),
        "CreateDate": p.created,
        "Tags": render_tags(p.tags) or None,
    }


@operation("iam", "ListOpenIDConnectProviders", read_only=True)
def list_open_id_connect_providers(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    ctx.authorize("iam:ListOpenIDConnectProviders", f"arn:aws:iam::{acct}:oidc-provider/*")
    return {"OpenIDConnectProviderList": [
        {"Arn": p.arn} for p in ctx.runtime.store.list_oidc_providers(acct)
    ]}


@operation("iam", "DeleteOpenIDConnectProvider")
def delete_open_id_connect_provider(ctx: CallContext, params: Params) -> None:
    provider_arn = _oidc_arn(params)
    ctx.audit.request_parameters = {"openIDConnectProviderArn": provider_arn}
    # Idempotent on AWS: deleting a provider that does not exist succeeds (once authorized).
    try:
        _load_oidc(ctx, "iam:DeleteOpenIDConnectProvider", provider_arn)
    except NoSuchEntity:
        return
    try:
        ctx.runtime.store.delete_oidc_provider(provider_arn)
    except NotFound:
        return  # deleted meanwhile


@operation("iam", "AddClientIDToOpenIDConnectProvider")
def add_client_id(ctx: CallContext, params: Params) -> None:
    """Idempotent: adding a client ID that is already listed changes nothing."""
    provider_arn = _oidc_arn(params)
    client_id = _client_id(params)
    ctx.audit.request_parameters = {"openIDConnectProviderArn": provider_arn,
                                    "clientID": client_id}
    _load_oidc(ctx, "iam:AddClientIDToOpenIDConnectProvider", provider_arn)

    def change(p: OidcProvider) -> OidcProvider:
        if client_id in p.client_ids:
            return p
        if len(p.client_ids) >= CLIENT_IDS_PER_PROVIDER:
            raise LimitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: "
                                f"{CLIENT_IDS_PER_PROVIDER}")
        return dataclasses.replace(p, client_ids=(*p.client_ids, client_id))

    _update_oidc(ctx, provider_arn, change)


@operation("iam", "RemoveClientIDFromOpenIDConnectProvider")
def remove_client_id(ctx: CallContext, params: Params) -> None:
    """Removing a client ID that is not listed is not an error (API reference)."""
    provider_arn = _oidc_arn(params)
    client_id = _client_id(params)
    ctx.audit.request_parameters = {"openIDConnectProviderArn": provider_arn,
                                    "clientID": client_id}
    _load_oidc(ctx, "iam:RemoveClientIDFromOpenIDConnectProvider", provider_arn)
    _update_oidc(ctx, provider_arn, lambda p: dataclasses.replace(
        p, client_ids=tuple(c for c in p.client_ids if c != client_id)))


@operation("iam", "UpdateOpenIDConnectProviderThumbprint")
def update_thumbprint(ctx: CallContext, params: Params) -> None:
    """Replaces the whole list; an empty list is allowed (the IAM trust store is used)."""
    provider_arn = _oidc_arn(params)
    thumbprints = _thumbprints(params)
    ctx.audit.request_parameters = {"openIDConnectProviderArn": provider_arn,
                                    "thumbprintList": list(thumbprints)}
    _load_oidc(ctx, "iam:UpdateOpenIDConnectProviderThumbprint", provider_arn)
    _update_oidc(ctx, provider_arn,
                 lambda p: dataclasses.replace(p, thumbprints=thumbprints))


register_tag_operations(Resource(
    "OpenIDConnectProvider", _oidc_arn, "openIDConnectProviderArn", _load_oidc,
    lambda ctx, provider_arn, _, change: _update_oidc(ctx, provider_arn, change)),
    audit_tags=render_tags)
