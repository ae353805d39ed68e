"""``opensts keys``: the session-token signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from opensts.cli.common import data_dir_option, open_admin_store


@click.group()
def keys() -> None:
    """Session-token signing keys (rotation without invalidating live sessions)."""


@keys.command("list")
@data_dir_option()
def keys_list(data_dir: Path) -> None:
    """List the signing keys: id, creation time, and whether each is the primary (signs new
    sessions) or verify-only (still accepted). Key material is never printed."""
    store, _ = open_admin_store(data_dir)
    try:
        found = store.list_signing_keys()
    finally:
        store.close()
    rows = [("KEY ID", "CREATED", "USE")] + [
        (key.key_id, f"{key.created:%Y-%m-%dT%H:%M:%SZ}",
         "primary" if key.primary else "verify-only") for key in found]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for key_id, created, use in rows:
        click.echo(f"{key_id:<{widths[0]}}  {created:<{widths[1]}}  {use}")


@keys.command("rotate")
@data_dir_option()
def keys_rotate(data_dir: Path) -> None:
    """Make a new primary key and print its id; sessions sealed with older keys stay valid
    until those keys are retired. Running servers switch within OPENSTS_KEY_REFRESH_SECONDS."""
    from opensts.services.bootstrap import add_signing_key, utcnow

    store, box = open_admin_store(data_dir)
    click.echo(add_signing_key(store, box, utcnow()))
    store.close()


@keys.command("retire")
@click.argument("key_id")
@data_dir_option()
def keys_retire(key_id: str, data_dir: Path) -> None:
    """Delete the non-primary key KEY_ID (see 'keys list'): every session sealed with it
    stops working."""
    store, _ = open_admin_store(data_dir)
    try:
        current = {k.key_id: k for k in store.list_signing_keys()}
        if key_id not in current:
            raise click.ClickException(f"no signing key {key_id}")
        if current[key_id].primary:
            raise click.ClickException("rotate first: the primary key cannot be retired")
        store.delete_signing_key(key_id)
    finally:
        store.close()
