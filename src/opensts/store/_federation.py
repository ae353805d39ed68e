"""SAML and OIDC identity-provider registrations."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from opensts.directory.errors import AlreadyExists, NotFound
from opensts.directory.records import OidcProvider, SamlPrivateKey, SamlProvider
from opensts.store import schema as s
from opensts.store._base import SqlBase, tags_from_json, tags_to_json

_saml = s.saml_providers
_oidc = s.oidc_providers


def _keys_to_json(keys: tuple[SamlPrivateKey, ...]) -> list[dict[str, str]]:
    return [{"id": k.key_id, "pem": base64.b64encode(k.sealed_pem).decode(),
             "created": k.created.isoformat()} for k in keys]


def _keys_from_json(value: Any) -> tuple[SamlPrivateKey, ...]:
    return tuple(SamlPrivateKey(k["id"], base64.b64decode(k["pem"]),
                                datetime.fromisoformat(k["created"])) for k in value or [])


def _saml_from_row(r: Any) -> SamlProvider:
    return SamlProvider(
        account_id=r.account_id, name=r.name, arn=r.arn, metadata=r.metadata, uuid=r.uuid,
        created=r.created, valid_until=r.valid_until,
        assertion_encryption_mode=r.encryption_mode,
        private_keys=_keys_from_json(r.private_keys), tags=tags_from_json(r.tags),
    )


def _saml_values(p: SamlProvider) -> dict[str, Any]:
    return {
        "arn": p.arn, "account_id": p.account_id, "name": p.name, "metadata": p.metadata,
        "uuid": p.uuid, "created": p.created, "valid_until": p.valid_until,
        "encryption_mode": p.assertion_encryption_mode,
        "private_keys": _keys_to_json(p.private_keys), "tags": tags_to_json(p.tags),
    }


def _oidc_from_row(r: Any) -> OidcProvider:
    return OidcProvider(
        account_id=r.account_id, url=r.url, arn=r.arn, created=r.created,
        client_ids=tuple(r.client_ids), thumbprints=tuple(r.thumbprints),
        tags=tags_from_json(r.tags),
    )


def _oidc_values(p: OidcProvider) -> dict[str, Any]:
    return {
        "arn": p.arn, "account_id": p.account_id, "url": p.url, "created": p.created,
        "client_ids": list(p.client_ids), "thumbprints": list(p.thumbprints),
        "tags": tags_to_json(p.tags),
    }


class FederationMixin(SqlBase):
    def _create(self, table: sa.Table, values: dict[str, Any], kind: str) -> None:
        with self._write() as conn:
            if conn.execute(sa.select(table.c.arn).where(table.c.arn == values["arn"])).first():
                raise AlreadyExists(kind, values["arn"])
            self._insert(conn, table, values, kind, values["arn"])

    def _update(self, table: sa.Table, arn: str, kind: str, fn: Callable[[Any], Any],
                convert: Callable[[Any], Any], values: Callable[[Any], dict[str, Any]]) -> Any:
        with self._write() as conn:
            row = self._one(conn, sa.select(table).where(table.c.arn == arn).with_for_update(),
                            kind, arn)
            new = fn(convert(row))
            new_values = values(new)
            if new_values["arn"] != arn:
                raise ValueError(f"{kind} ARN cannot change")
            conn.execute(sa.update(table).where(table.c.arn == arn).values(**new_values))
            return new

    def _delete(self, table: sa.Table, arn: str, kind: str) -> None:
        with self._write() as conn:
            if conn.execute(sa.delete(table).where(table.c.arn == arn)).rowcount == 0:
                raise NotFound(kind, arn)

    def create_saml_provider(self, provider: SamlProvider) -> None:
        self._create(_saml, _saml_values(provider), "saml_provider")

    def get_saml_provider(self, arn: str) -> SamlProvider:
        with self._read() as conn:
            return _saml_from_row(self._one(
                conn, sa.select(_saml).where(_saml.c.arn == arn), "saml_provider", arn))

    def list_saml_providers(self, account_id: str) -> list[SamlProvider]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_saml).where(_saml.c.account_id == account_id)
                                .order_by(_saml.c.arn))
            return [_saml_from_row(r) for r in rows]

    def update_saml_provider(
        self, arn: str, fn: Callable[[SamlProvider], SamlProvider]
    ) -> SamlProvider:
        return self._update(_saml, arn, "saml_provider", fn, _saml_from_row, _saml_values)

    def delete_saml_provider(self, arn: str) -> None:
        self._delete(_saml, arn, "saml_provider")

    def create_oidc_provider(self, provider: OidcProvider) -> None:
        self._create(_oidc, _oidc_values(provider), "oidc_provider")

    def get_oidc_provider(self, arn: str) -> OidcProvider:
        with self._read() as conn:
            return _oidc_from_row(self._one(
                conn, sa.select(_oidc).where(_oidc.c.arn == arn), "oidc_provider", arn))

    def list_oidc_providers(self, account_id: str) -> list[OidcProvider]:
        with self._read() as conn:
            rows = conn.execute(sa.select(_oidc).where(_oidc.c.account_id == account_id)
                                .order_by(_oidc.c.arn))
            return [_oidc_from_row(r) for r in rows]

    def update_oidc_provider(
        self, arn: str, fn: Callable[[OidcProvider], OidcProvider]
    ) -> OidcProvider:
        return self._update(_oidc, arn, "oidc_provider", fn, _oidc_from_row, _oidc_values)

    def delete_oidc_provider(self, arn: str) -> None:
        self._delete(_oidc, arn, "oidc_provider")
