"""``opensts root``: break-glass access for an operator who holds the data directory.

When the management account's root keys are lost, whoever can read the data dir (the store
and its master key) can already do anything; ``create-access-key`` makes that explicit and
audited instead of leaving it to hand-edited SQL. AWS allows two access keys per principal
(IAM quotas: "Access keys assigned to an IAM user" / root), and so does this: with two keys
the operator is told which exist and how to delete one. The key is recorded in the audit
log as a CloudTrail CreateAccessKey event made by the operator (the OS user), never with
its secret.
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import click

from opensts.cli.common import data_dir_option, open_admin_store

ACCESS_KEYS_PER_PRINCIPAL = 2


@click.group()
def root() -> None:
    """Break-glass access to the management account's root, for the data dir's operator."""


@root.command("create-access-key")
@data_dir_option()
@click.option("--credentials-file", type=click.Path(path_type=Path, dir_okay=False),
              metavar="FILE",
              help="write the key to FILE (AWS credentials-file format, mode 0600; FILE must "
                   "not exist) instead of printing it")
def create_access_key(data_dir: Path, credentials_file: Path | None) -> None:
    """Create a new root access key for the management account and print it once.

    Refused when the root already has two access keys (AWS's limit): delete one first
    ('opensts root delete-access-key KEY_ID' or 'aws iam delete-access-key'). Audited
    as a CreateAccessKey event whose source is this operator.
    """
    from opensts.credentials.ids import new_access_key_id, new_secret_access_key
    from opensts.directory.errors import QuotaExceeded
    from opensts.directory.records import AccessKey
    from opensts.services.bootstrap import management_account, utcnow

    store, box = open_admin_store(data_dir)
    handle = None
    try:
        now = utcnow()
        account = management_account(store, now)
        if account is None:
            raise click.ClickException("the store holds no management account")
        existing = store.list_access_keys(account, None)
        if len(existing) >= ACCESS_KEYS_PER_PRINCIPAL:
            raise click.ClickException(_too_many(account, existing))
        # The file first: a key whose secret could not be written would be a key nobody has.
        handle = _create_private(credentials_file) if credentials_file is not None else None
        key_id = new_access_key_id("AKIA", account)
        secret = new_secret_access_key()
        key = AccessKey(key_id, account, None, None,
                        box.seal(secret.encode(), context=b"access-key:" + key_id.encode()),
                        "Active", now)
        try:
            store.create_access_key(key, max_per_user=ACCESS_KEYS_PER_PRINCIPAL)
        except QuotaExceeded:  # a key was made meanwhile (by a server or another operator)
            raise click.ClickException(
                _too_many(account, store.list_access_keys(account, None))) from None
    except BaseException:
        if handle is not None and credentials_file is not None:
            handle.close()
            credentials_file.unlink(missing_ok=True)
        raise
    finally:
        store.close()
    _audit(data_dir, account, "CreateAccessKey", now, {
        "accessKey": {"accessKeyId": key_id, "status": "Active",
                      "createDate": now.strftime("%Y-%m-%dT%H:%M:%SZ")}})
    if handle is None:
        click.echo(f"Management account: {account}")
        click.echo(f"Root access key id: {key_id}")
        click.echo(f"Root secret access key (shown once): {secret}")
        return
    with handle:
        handle.write(f"# OpenSTS management account {account}: root access key made "
                     f"{now:%Y-%m-%dT%H:%M:%SZ} by `opensts root create-access-key`\n"
                     f"[default]\naws_access_key_id = {key_id}\n"
                     f"aws_secret_access_key = {secret}\n")
        handle.flush()
        os.fsync(handle.fileno())
    click.echo(f"Root access key {key_id} of account {account} written to {credentials_file}")


@root.command("delete-access-key")
@click.argument("access_key_id")
@data_dir_option()
def delete_access_key(access_key_id: str, data_dir: Path) -> None:
    """Delete the management account's root access key ACCESS_KEY_ID (every request signed
    with it fails from then on). Audited as a DeleteAccessKey event by this operator."""
    from opensts.directory.errors import NotFound
    from opensts.services.bootstrap import management_account, utcnow

    store, _ = open_admin_store(data_dir)
    try:
        now = utcnow()
        account = management_account(store, now)
        if account is None or access_key_id not in {
                k.access_key_id for k in store.list_access_keys(account, None)}:
            raise click.ClickException(
                f"the root of the management account has no access key {access_key_id}")
        try:
            store.delete_access_key(account, None, access_key_id)
        except NotFound:
            raise click.ClickException(
                f"the root of the management account has no access key {access_key_id}"
            ) from None
    finally:
        store.close()
    _audit(data_dir, account, "DeleteAccessKey", now, None,
           {"accessKeyId": access_key_id})
    click.echo(f"deleted root access key {access_key_id} of account {account}")


def _too_many(account: str, keys: list[Any]) -> str:
    listed = ", ".join(f"{k.access_key_id} ({k.status}, created {k.created:%Y-%m-%d})"
                       for k in keys)
    return (f"the root of account {account} already has {len(keys)} access keys, AWS's "
            f"limit: {listed}. Delete one first: opensts root delete-access-key KEY_ID "
            "(or aws iam delete-access-key --access-key-id KEY_ID)")


def _audit(data_dir: Path, account: str, action: str, now: datetime,
           response: dict[str, Any] | None, request: dict[str, Any] | None = None) -> None:
    """A CloudTrail event for what the operator did, in this process's own audit file
    (``YYYY-MM-DD.w<pid>.jsonl``) so that it never shares a file with a running server."""
    from opensts.audit.events import build_event
    from opensts.audit.log import AuditLog
    from opensts.cli.status import opensts_version
    from opensts.services.context import AuditRecord, RequestMeta

    operator = _operator()
    host = socket.gethostname()
    meta = RequestMeta(request_id=str(uuid.uuid4()), now=now, source_ip=host,
                       user_agent=f"opensts-cli/{opensts_version()}", region="us-east-1",
                       host=host)
    record = AuditRecord(
        request_parameters=request, response_elements=response,
        user_identity={"type": "Unknown", "principalId": operator, "userName": operator,
                       "invokedBy": "opensts-cli"},
        additional_event_data={"operator": operator, "host": host,
                               "dataDir": str(data_dir.resolve()),
                               "command": f"opensts root {_COMMANDS[action]}"})
    event = build_event(service="iam", action=action, meta=meta, caller=None, record=record,
                        read_only=False, recipient_account=account)
    log = AuditLog(data_dir / "audit", stream=f".w{os.getpid()}")
    try:
        log.write_sync(event)
    finally:
        log.close()


_COMMANDS = {"CreateAccessKey": "create-access-key", "DeleteAccessKey": "delete-access-key"}


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers with an arbitrary uid)
        return f"uid:{os.getuid()}"


def _create_private(path: Path) -> TextIO:
    """``path`` created 0600 for writing; an existing file (or link) is never replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists: refusing to overwrite it") from None
    except OSError as exc:
        raise click.ClickException(f"cannot create {path}: {exc.strerror}") from None
    return os.fdopen(fd, "w", encoding="utf-8")
