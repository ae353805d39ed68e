"""The one SQL schema, shared by SQLite and PostgreSQL (SQLAlchemy Core).

Names are unique per account case-insensitively, enforced by ``name_lower`` columns with
unique constraints so that concurrent inserts race on the database, not in Python.
Timestamps are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is UTC and aware on the Python side on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass UTC-aware values")
        value = value.astimezone(UTC)
        # SQLite has no time-zone type: keep naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()


def _str(length: int) -> sa.types.TypeEngine[str]:
    """Strings compare and sort bytewise on every backend (PostgreSQL's "C" collation is
    SQLite's default), so listings and paging markers agree across backends."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _name_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("account_id", _str(32), nullable=False),
        sa.Column("name", _str(128), nullable=False),
        sa.Column("name_lower", _str(128), nullable=False),
        sa.Column("path", _str(512), nullable=False),
        sa.Column("arn", _str(2048), nullable=False, unique=True),
        sa.Column("created", UtcDateTime, nullable=False),
    ]


meta = sa.Table(
    "meta", metadata,
    sa.Column("key", _str(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

schema_migrations = sa.Table(
    "schema_migrations", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", _str(200), nullable=False),
)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("account_id", _str(32), primary_key=True),
    sa.Column("name", _str(256), nullable=False),
    sa.Column("email", _str(256), nullable=False),
    sa.Column("created", UtcDateTime),
)

users = sa.Table(
    "users", metadata,
    sa.Column("user_id", _str(32), primary_key=True),
    *_name_columns(),
    sa.Column("boundary", _str(2048)),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("password_last_used", UtcDateTime),
    sa.UniqueConstraint("account_id", "name_lower", name="uq_users_name"),
    sa.Index("ix_users_boundary", "boundary"),  # migration 3
)

groups = sa.Table(
    "groups", metadata,
    sa.Column("group_id", _str(32), primary_key=True),
    *_name_columns(),
    sa.UniqueConstraint("account_id", "name_lower", name="uq_groups_name"),
)

group_members = sa.Table(
    "group_members", metadata,
    sa.Column("group_id", _str(32), sa.ForeignKey("groups.group_id"), primary_key=True),
    sa.Column("user_id", _str(32), sa.ForeignKey("users.user_id"), primary_key=True),
    sa.Index("ix_group_members_user", "user_id"),
)

roles = sa.Table(
    "roles", metadata,
    sa.Column("role_id", _str(32), primary_key=True),
    *_name_columns(),
    sa.Column("trust_policy", sa.Text, nullable=False),
    sa.Column("description", _str(1000), nullable=False),
    sa.Column("max_session_duration", sa.Integer, nullable=False),
    sa.Column("boundary", _str(2048)),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("last_used", UtcDateTime),
    sa.Column("last_used_region", _str(64)),
    sa.UniqueConstraint("account_id", "name_lower", name="uq_roles_name"),
    sa.Index("ix_roles_boundary", "boundary"),  # migration 3
)

policies = sa.Table(
    "policies", metadata,
    sa.Column("policy_id", _str(32), primary_key=True),
    *_name_columns(),
    sa.Column("updated", UtcDateTime, nullable=False),
    sa.Column("default_version_id", _str(16), nullable=False),
    sa.Column("next_version", sa.Integer, nullable=False),
    sa.Column("description", _str(1000), nullable=False),
    sa.Column("is_attachable", sa.Boolean, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.UniqueConstraint("account_id", "name_lower", name="uq_policies_name"),
)

policy_versions = sa.Table(
    "policy_versions", metadata,
    sa.Column(
        "policy_id", _str(32), sa.ForeignKey("policies.policy_id"), primary_key=True
    ),
    sa.Column("version_id", _str(16), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
)

attachments = sa.Table(
    "attachments", metadata,
    sa.Column("entity_kind", _str(8), primary_key=True),
    sa.Column("entity_id", _str(32), primary_key=True),
    sa.Column(
        "policy_id", _str(32), sa.ForeignKey("policies.policy_id"), primary_key=True
    ),
    sa.Index("ix_attachments_policy", "policy_id"),
)

inline_policies = sa.Table(
    "inline_policies", metadata,
    sa.Column("entity_kind", _str(8), primary_key=True),
    sa.Column("entity_id", _str(32), primary_key=True),
    sa.Column("name", _str(128), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
)

access_keys = sa.Table(
    "access_keys", metadata,
    sa.Column("access_key_id", _str(128), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("user_id", _str(32), sa.ForeignKey("users.user_id")),
    sa.Column("sealed_secret", sa.LargeBinary, nullable=False),
    sa.Column("status", _str(16), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("last_used", UtcDateTime),
    sa.Column("last_used_service", _str(64)),
    sa.Column("last_used_region", _str(64)),
    sa.Index("ix_access_keys_user", "account_id", "user_id"),
)

mfa_devices = sa.Table(
    "mfa_devices", metadata,
    sa.Column("serial", _str(256), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("name", _str(256), nullable=False),
    sa.Column("name_lower", _str(256), nullable=False),
    sa.Column("path", _str(512), nullable=False),
    sa.Column("sealed_seed", sa.LargeBinary, nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("user_id", _str(32), sa.ForeignKey("users.user_id")),
    sa.Column("enabled", UtcDateTime),
    sa.Column("last_time_step", sa.BigInteger),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.UniqueConstraint("account_id", "name_lower", name="uq_mfa_name"),
    sa.Index("ix_mfa_user", "user_id"),
)

login_profiles = sa.Table(
    "login_profiles", metadata,
    sa.Column("user_id", _str(32), sa.ForeignKey("users.user_id"), primary_key=True),
    sa.Column("password_hash", _str(512), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("reset_required", sa.Boolean, nullable=False),
)

saml_providers = sa.Table(
    "saml_providers", metadata,
    sa.Column("arn", _str(2048), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("name", _str(128), nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("uuid", _str(64), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("valid_until", UtcDateTime),
    sa.Column("encryption_mode", _str(16)),
    sa.Column("private_keys", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Index("ix_saml_account", "account_id"),
)

oidc_providers = sa.Table(
    "oidc_providers", metadata,
    sa.Column("arn", _str(2048), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("url", _str(512), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("client_ids", sa.JSON, nullable=False),
    sa.Column("thumbprints", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Index("ix_oidc_account", "account_id"),
)

used_tokens = sa.Table(
    "used_tokens", metadata,
    sa.Column("token_id", _str(512), primary_key=True),
    sa.Column("expires", UtcDateTime, nullable=False),
    sa.Index("ix_used_tokens_expires", "expires"),
)

signing_keys = sa.Table(
    "signing_keys", metadata,
    sa.Column("key_id", _str(64), primary_key=True),
    sa.Column("sealed_key", sa.LargeBinary, nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("is_primary", sa.Boolean, nullable=False),
)

organizations = sa.Table(
    "organizations", metadata,
    sa.Column("org_id", _str(64), primary_key=True),
    sa.Column("arn", _str(2048), nullable=False),
    sa.Column("management_account_id", _str(32), nullable=False, unique=True),
    sa.Column("management_email", _str(256), nullable=False),
    sa.Column("feature_set", _str(32), nullable=False),
    sa.Column("root_id", _str(64), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
)

org_units = sa.Table(
    "org_units", metadata,
    sa.Column("unit_id", _str(128), primary_key=True),
    sa.Column("org_id", _str(64), sa.ForeignKey("organizations.org_id"), nullable=False),
    sa.Column("arn", _str(2048), nullable=False),
    sa.Column("name", _str(128), nullable=False),
    sa.Column("kind", _str(32), nullable=False),
    sa.Column("parent_id", _str(128)),
    sa.Column("policy_types", sa.JSON, nullable=False),
    sa.Index("ix_org_units_parent", "org_id", "parent_id"),
)

org_accounts = sa.Table(
    "org_accounts", metadata,
    sa.Column("account_id", _str(32), primary_key=True),
    sa.Column("org_id", _str(64), sa.ForeignKey("organizations.org_id"), nullable=False),
    sa.Column("parent_id", _str(128), nullable=False),
    sa.Column("arn", _str(2048), nullable=False),
    sa.Column("name", _str(256), nullable=False),
    sa.Column("email", _str(256), nullable=False),
    sa.Column("joined_method", _str(16), nullable=False),
    sa.Column("joined", UtcDateTime, nullable=False),
    sa.Column("status", _str(32), nullable=False),
    sa.Index("ix_org_accounts_org", "org_id", "parent_id"),
)

org_policies = sa.Table(
    "org_policies", metadata,
    sa.Column("policy_id", _str(128), primary_key=True),
    sa.Column("org_id", _str(64), nullable=False),
    sa.Column("arn", _str(2048), nullable=False),
    sa.Column("name", _str(128), nullable=False),
    sa.Column("description", _str(512), nullable=False),
    sa.Column("type", _str(64), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("aws_managed", sa.Boolean, nullable=False),
)

org_policy_attachments = sa.Table(
    "org_policy_attachments", metadata,
    sa.Column(
        "policy_id", _str(128), sa.ForeignKey("org_policies.policy_id"), primary_key=True
    ),
    sa.Column("target_id", _str(128), primary_key=True),
    sa.Index("ix_org_attach_target", "target_id"),
)

create_account_status = sa.Table(
    "create_account_status", metadata,
    sa.Column("request_id", _str(64), primary_key=True),
    sa.Column("org_id", _str(64), nullable=False),
    sa.Column("account_name", _str(256), nullable=False),
    sa.Column("state", _str(16), nullable=False),
    sa.Column("requested", UtcDateTime, nullable=False),
    sa.Column("completed", UtcDateTime),
    sa.Column("account_id", _str(32)),
    sa.Column("failure_reason", _str(128)),
)

# Migration 7. S3 bucket names are lower case by rule (bucketnamingrules), so the name is
# the key as given. Legacy us-east-1 names could reach 255 characters; adopted buckets may
# carry one. The four Block Public Access settings are NULL when the bucket has none
# (after DeletePublicAccessBlock).
buckets = sa.Table(
    "buckets", metadata,
    sa.Column("name", _str(255), primary_key=True),
    sa.Column("account_id", _str(32), sa.ForeignKey("accounts.account_id"), nullable=False),
    sa.Column("region", _str(64), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("policy", sa.Text),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("block_public_acls", sa.Boolean),
    sa.Column("ignore_public_acls", sa.Boolean),
    sa.Column("block_public_policy", sa.Boolean),
    sa.Column("restrict_public_buckets", sa.Boolean),
    sa.Index("ix_buckets_account", "account_id", "name"),
)

# Migration 8. APIs of the HTTP authorizer (issue 11). The id is global and exact, as an
# ``{api-id}.execute-api`` host name is; stages and routes are read with the API on every
# request and never queried on their own, so they are JSON in the API's row (one row: a
# replacement is one UPDATE and can never leave half an API behind).
apis = sa.Table(
    "apis", metadata,
    sa.Column("api_id", _str(64), primary_key=True),
    sa.Column("account_id", _str(32), sa.ForeignKey("accounts.account_id"), nullable=False),
    sa.Column("name", _str(256), nullable=False),
    sa.Column("region", _str(64), nullable=False),
    sa.Column("stages", sa.JSON, nullable=False),
    sa.Column("policy", sa.Text),
    sa.Column("routes", sa.JSON, nullable=False),
    sa.Column("require_body_hash", sa.Boolean, nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("updated", UtcDateTime, nullable=False),
    sa.Index("ix_apis_account", "account_id", "api_id"),
)
# Migration 9 (issue 13): instance profiles, signing certificates, SSH public keys,
# service-specific credentials, server certificates, account aliases and password policies.
instance_profiles = sa.Table(
    "instance_profiles", metadata,
    sa.Column("instance_profile_id", _str(32), primary_key=True),
    *_name_columns(),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.UniqueConstraint("account_id", "name_lower", name="uq_instance_profiles_name"),
)

instance_profile_roles = sa.Table(
    "instance_profile_roles", metadata,
    sa.Column("instance_profile_id", _str(32),
              sa.ForeignKey("instance_profiles.instance_profile_id"), primary_key=True),
    sa.Column("role_id", _str(32), sa.ForeignKey("roles.role_id"), primary_key=True),
    sa.Index("ix_instance_profile_roles_role", "role_id"),
)

signing_certificates = sa.Table(
    "signing_certificates", metadata,
    sa.Column("certificate_id", _str(128), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("user_id", _str(32), sa.ForeignKey("users.user_id")),  # NULL: the root's
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", _str(16), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Index("ix_signing_certificates_user", "account_id", "user_id"),
)

ssh_public_keys = sa.Table(
    "ssh_public_keys", metadata,
    sa.Column("ssh_public_key_id", _str(128), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("user_id", _str(32), sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("fingerprint", _str(128), nullable=False),
    sa.Column("status", _str(16), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Index("ix_ssh_public_keys_user", "user_id"),
)

service_specific_credentials = sa.Table(
    "service_specific_credentials", metadata,
    sa.Column("credential_id", _str(128), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("user_id", _str(32), sa.ForeignKey("users.user_id"), nullable=False),
    sa.Column("service_name", _str(128), nullable=False),
    sa.Column("service_user_name", _str(256), nullable=False),
    sa.Column("sealed_password", sa.LargeBinary, nullable=False),
    sa.Column("status", _str(16), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("expires", UtcDateTime),
    sa.Index("ix_service_specific_credentials_user", "user_id"),
)

server_certificates = sa.Table(
    "server_certificates", metadata,
    sa.Column("server_certificate_id", _str(32), primary_key=True),
    *_name_columns(),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("chain", sa.Text),
    sa.Column("expiration", UtcDateTime, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.UniqueConstraint("account_id", "name_lower", name="uq_server_certificates_name"),
)

# Aliases are unique in the partition ("must be unique across all Amazon Web Services
# products", console_account-alias); an account has at most one.
account_aliases = sa.Table(
    "account_aliases", metadata,
    sa.Column("account_id", _str(32), sa.ForeignKey("accounts.account_id"), primary_key=True),
    sa.Column("alias", _str(63), nullable=False, unique=True),
)

password_policies = sa.Table(
    "password_policies", metadata,
    sa.Column("account_id", _str(32), sa.ForeignKey("accounts.account_id"), primary_key=True),
    sa.Column("policy", sa.JSON, nullable=False),
)

# Migration 9 adds these to login_profiles (migration 1 created the table without them).
login_profile_password_changed = sa.Column("password_changed", UtcDateTime)
login_profile_previous_hashes = sa.Column("previous_hashes", sa.JSON)
login_profiles.append_column(login_profile_password_changed)
login_profiles.append_column(login_profile_previous_hashes)

IAM_EXTRA_TABLES = [
    instance_profiles, instance_profile_roles, signing_certificates, ssh_public_keys,
    service_specific_credentials, server_certificates, account_aliases, password_policies,
]
# Migration 10. Organizations: tags of roots, OUs, accounts and policies; delegated
# administrators; when a member account was closed (CloseAccount's rolling 30-day quota).
# IAM: the account's credential report, and service-linked role deletion tasks.
org_tags = sa.Table(
    "org_tags", metadata,
    sa.Column("resource_id", _str(130), primary_key=True),
    sa.Column("key", _str(128), primary_key=True),
    sa.Column("org_id", _str(64), nullable=False),
    sa.Column("value", _str(256), nullable=False),
)

org_delegated_admins = sa.Table(
    "org_delegated_admins", metadata,
    sa.Column("account_id", _str(32), primary_key=True),
    sa.Column("service_principal", _str(128), primary_key=True),
    sa.Column("org_id", _str(64), nullable=False),
    sa.Column("enabled", UtcDateTime, nullable=False),
    sa.Index("ix_org_delegated_org", "org_id", "service_principal"),
)

org_accounts.append_column(sa.Column("closed", UtcDateTime))

org_service_access = sa.Table(
    "org_service_access", metadata,
    sa.Column("org_id", _str(64), primary_key=True),
    sa.Column("service_principal", _str(128), primary_key=True),
    sa.Column("enabled", UtcDateTime, nullable=False),
)

credential_reports = sa.Table(
    "credential_reports", metadata,
    sa.Column("account_id", _str(32), primary_key=True),
    sa.Column("generated", UtcDateTime, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
)

role_deletion_tasks = sa.Table(
    "role_deletion_tasks", metadata,
    sa.Column("task_id", _str(256), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False),
    sa.Column("role_name", _str(64), nullable=False),
    sa.Column("status", _str(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("created", UtcDateTime, nullable=False),
)

# Issue 13, migration 11: small settings of an account or organization, one text value
# per (scope, name): the STS global endpoint token version of an account, the IAM
# centralized root access features and the resource policy of an organization.
settings = sa.Table(
    "settings", metadata,
    sa.Column("scope", _str(64), primary_key=True),
    sa.Column("name", _str(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# Issue 16, migration 12: IAM Access Analyzer. Analyzers (by ARN), their archive rules,
# the resources each analyzed (with a digest of what it saw, for incremental re-analysis)
# and their external-access findings (the access as JSON; status kept across re-analyses).
analyzers = sa.Table(
    "analyzers", metadata,
    sa.Column("arn", _str(512), primary_key=True),
    sa.Column("account_id", _str(32), nullable=False, index=True),
    sa.Column("region", _str(32), nullable=False),
    sa.Column("name", _str(255), nullable=False),
    sa.Column("type", _str(40), nullable=False),
    sa.Column("status", _str(16), nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("configuration", sa.JSON, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("last_resource", _str(2048)),
    sa.Column("last_resource_at", UtcDateTime),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("zone", sa.Text, nullable=False),
)
analyzer_archive_rules = sa.Table(
    "analyzer_archive_rules", metadata,
    sa.Column("analyzer_arn", _str(512), primary_key=True),
    sa.Column("name", _str(255), primary_key=True),
    sa.Column("filter", sa.JSON, nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("updated", UtcDateTime, nullable=False),
)
analyzer_resources = sa.Table(
    "analyzer_resources", metadata,
    sa.Column("analyzer_arn", _str(512), primary_key=True),
    sa.Column("arn", _str(2048), primary_key=True),
    sa.Column("type", _str(64), nullable=False),
    sa.Column("owner", _str(32), nullable=False),
    sa.Column("digest", _str(64), nullable=False),
    sa.Column("analyzed", UtcDateTime, nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
)
analyzer_findings = sa.Table(
    "analyzer_findings", metadata,
    sa.Column("analyzer_arn", _str(512), primary_key=True),
    sa.Column("id", _str(64), primary_key=True),
    sa.Column("resource", _str(2048), nullable=False),
    sa.Column("resource_type", _str(64), nullable=False),
    sa.Column("owner", _str(32), nullable=False),
    sa.Column("status", _str(16), nullable=False),
    sa.Column("access", sa.JSON, nullable=False),
    sa.Column("created", UtcDateTime, nullable=False),
    sa.Column("analyzed", UtcDateTime, nullable=False),
    sa.Column("updated", UtcDateTime, nullable=False),
    sa.Index("ix_analyzer_findings_resource", "analyzer_arn", "resource"),
)
ANALYZER_TABLES = [analyzers, analyzer_archive_rules, analyzer_resources, analyzer_findings]
