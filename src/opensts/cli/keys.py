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
    """List signing keys (ids and dates only; key material is never printed)."""
    store, _ = open_admin_store(data_dir)
    for key in store.list_signing_keys():
        mark = "primary" if key.primary else "verify-only"
        click.echo(f"{key.key_id}  {key.created:%Y-%m-%dT%H:%M:%SZ}  {mark}")
    store.close()


@keys.command("rotate")
@data_dir_option()
def keys_rotate(data_dir: Path) -> None:
    """Make a new primary key; sessions sealed with older keys stay valid until retired."""
    from opensts.services.bootstrap import add_signing_key, utcnow

    store, box = open_admin_store(data_dir)
    click.echo(add_signing_key(store, box, utcnow()))
    store.close()


@keys.command("retire")
@click.argument("key_id")
@data_dir_option()
def keys_retire(key_id: str, data_dir: Path) -> None:
    """Delete a non-primary key: every session sealed with it stops working."""
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
