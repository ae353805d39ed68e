"""Numbered, append-only schema migrations (after Dex's ``storage/sql/migrate.go``).

Each migration runs once, in order, inside one transaction together with the row that
records it in ``schema_migrations``. Never edit or reorder a released migration: add a new
one (and update ``schema.py`` so it describes the result). A migration may be limited to
one dialect by checking ``conn.dialect.name``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from opensts.store import schema


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sa.Connection], None]


_V1_TABLES = [
    schema.meta, schema.accounts, schema.users, schema.groups, schema.group_members,
    schema.roles, schema.policies, schema.policy_versions, schema.attachments,
    schema.inline_policies, schema.access_keys, schema.mfa_devices, schema.login_profiles,
    schema.saml_providers, schema.oidc_providers, schema.used_tokens, schema.signing_keys,
    schema.organizations, schema.org_units, schema.org_accounts, schema.org_policies,
    schema.org_policy_attachments, schema.create_account_status,
]


def _v1_initial(conn: sa.Connection) -> None:
    schema.metadata.create_all(conn, tables=_V1_TABLES)
    conn.execute(sa.insert(schema.meta).values(key="generation", value=0))


def _v2_signin(conn: sa.Connection) -> None:
    from opensts.store import _signin

    schema.metadata.create_all(conn, tables=_signin.TABLES)


def _v3_boundary_indexes(conn: sa.Connection) -> None:
    # PermissionsBoundaryUsageCount (GetPolicy, and every managed-policy read) counts
    # users and roles by boundary ARN. Migration 1 already creates these on new databases.
    for table in (schema.users, schema.roles):
        for index in table.indexes:
            if index.name in ("ix_users_boundary", "ix_roles_boundary"):
                index.create(conn, checkfirst=True)


def _v4_signin_credentials_stamp(conn: sa.Connection) -> None:
    # Sign-in sessions remember which password they were granted under (services/signin
    # ends them when it changes). Migration 2 already creates the column on new databases.
    from opensts.store import _signin

    _add_column(conn, _signin.signin_sessions.c.credentials_stamp)


def _v5_signin_role_id(conn: sa.Connection) -> None:
    # Sign-in sessions of a role remember its unique id (services/signin ends them when the
    # role is replaced by another of the same name). Migration 2 creates it on new databases.
    from opensts.store import _signin

    _add_column(conn, _signin.signin_sessions.c.role_id)


def _add_column(conn: sa.Connection, column: sa.Column[Any]) -> None:
    """ALTER TABLE ... ADD COLUMN, unless the table already has it."""
    table = column.table
    schema_name = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name, schema=schema_name)}
    if column.name in present:
        return
    quote = conn.dialect.identifier_preparer
    name = quote.quote(table.name)
    if schema_name is not None:
        name = f"{quote.quote_schema(schema_name)}.{name}"
    conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {quote.quote(column.name)} "
                         f"{column.type.compile(conn.dialect)}")


def _v6_fail_unfinished_create_account_requests(conn: sa.Connection) -> None:
    # CreateAccount now stores the account and its finished request in one transaction,
    # so nothing is written IN_PROGRESS any more: a request still IN_PROGRESS was cut off
    # by a crash of an older version and will never finish. AWS's answer for it: FAILED.
    t = schema.create_account_status
    conn.execute(sa.update(t).where(t.c.state == "IN_PROGRESS").values(
        state="FAILED", completed=t.c.requested, failure_reason="INTERNAL_FAILURE"))


def _v7_buckets(conn: sa.Connection) -> None:
    # S3 gateway (issue 9): buckets belong to accounts; their policy, tags and Block Public
    # Access settings live here and are never forwarded to the storage backend.
    schema.metadata.create_all(conn, tables=[schema.buckets])


def _v8_apis(conn: sa.Connection) -> None:
    # HTTP authorizer (issue 11): APIs owned by accounts, with stages, routes and policy.
    schema.metadata.create_all(conn, tables=[schema.apis])


def _v9_iam_extras(conn: sa.Connection) -> None:
    # Issue 13: instance profiles, signing certificates, SSH public keys, service-specific
    # credentials, server certificates, account aliases, password policies; login profiles
    # remember when the password was set and the previous ones (expiry, reuse prevention).
    # Migration 1 already creates the two login-profile columns on new databases.
    schema.metadata.create_all(conn, tables=schema.IAM_EXTRA_TABLES)
    _add_column(conn, schema.login_profile_password_changed)
    _add_column(conn, schema.login_profile_previous_hashes)


def _v10_orgs_and_reports(conn: sa.Connection) -> None:
    # Issue 13: Organizations tags, trusted service access, delegated administrators and
    # closed accounts; IAM
    # credential reports and service-linked role deletion tasks.
    schema.metadata.create_all(conn, tables=[
        schema.org_tags, schema.org_delegated_admins, schema.org_service_access,
        schema.credential_reports, schema.role_deletion_tasks])
    _add_column(conn, schema.org_accounts.c.closed)


def _v11_settings(conn: sa.Connection) -> None:
    # Issue 13: account and organization settings (STS token version, IAM root access
    # features, the organization's resource policy).
    schema.metadata.create_all(conn, tables=[schema.settings])


def _v12_access_analyzer(conn: sa.Connection) -> None:
    # Issue 16: IAM Access Analyzer's analyzers, archive rules, analyzed resources, findings.
    schema.metadata.create_all(conn, tables=schema.ANALYZER_TABLES)


def _v13_access_previews(conn: sa.Connection) -> None:
    # Issue 16: IAM Access Analyzer's access previews (one row each, findings as JSON).
    from opensts.store import _previews

    schema.metadata.create_all(conn, tables=_previews.TABLES)


def _v15_cognito_identity_pools(conn: sa.Connection) -> None:
    # Issue 15: Cognito identity pools, their identities and the logins linked to them.
    from opensts.store import _cognito

    schema.metadata.create_all(conn, tables=_cognito.TABLES)


def _v14_identity_token_keys(conn: sa.Connection) -> None:
    # Issue 15: the OIDC issuer's JWT signing keys (services/issuer.py).
    from opensts.store import _identity_keys

    schema.metadata.create_all(conn, tables=_identity_keys.TABLES)


MIGRATIONS: list[Migration] = [
    Migration(1, "initial directory schema", _v1_initial),
    Migration(2, "sign-in sessions and failed-attempt counters", _v2_signin),
    Migration(3, "indexes on permissions-boundary ARNs", _v3_boundary_indexes),
    Migration(4, "credentials stamp of sign-in sessions", _v4_signin_credentials_stamp),
    Migration(5, "role unique id of sign-in sessions", _v5_signin_role_id),
    Migration(6, "fail create-account requests a crash left IN_PROGRESS",
              _v6_fail_unfinished_create_account_requests),
    Migration(7, "S3 buckets with their policies, tags and Block Public Access",
              _v7_buckets),
    Migration(8, "APIs of the HTTP authorizer with their stages, routes and policy",
              _v8_apis),
    Migration(9, "instance profiles, user credentials, server certificates, account "
              "aliases and password policies", _v9_iam_extras),
    Migration(10, "organization tags, delegated administrators, credential reports",
              _v10_orgs_and_reports),
    Migration(11, "account and organization settings", _v11_settings),
    Migration(12, "IAM Access Analyzer analyzers, archive rules and findings",
              _v12_access_analyzer),
    Migration(13, "IAM Access Analyzer access previews", _v13_access_previews),
    Migration(14, "identity-token signing keys of the OIDC issuer", _v14_identity_token_keys),
    Migration(15, "Cognito identity pools, identities and their logins",
              _v15_cognito_identity_pools),
]


def migrate(conn: sa.Connection) -> list[int]:
    """Apply the pending migrations on ``conn`` (inside the caller's transaction)."""
    schema.metadata.create_all(conn, tables=[schema.schema_migrations])
    done = set(conn.execute(sa.select(schema.schema_migrations.c.version)).scalars())
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        migration.apply(conn)
        conn.execute(
            sa.insert(schema.schema_migrations).values(
                version=migration.version, name=migration.name
            )
        )
        applied.append(migration.version)
    return applied
