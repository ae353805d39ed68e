"""``opensts keys``: the session-token signing keys and the identity-token (JWT) keys."""

from __future__ import annotations

from pathlib import Path

import click

from opensts.cli.common import data_dir_option, open_admin_store

KINDS = ("session-token", "identity-token")


@click.group()
def keys() -> None:
    """Session-token and identity-token signing keys (rotation without invalidating live
    sessions or issued tokens)."""


@keys.command("list")
@click.option("--kind", type=click.Choice(KINDS), default="session-token", metavar="KIND",
              help="session-token (default) or identity-token (the OIDC issuer's JWT keys).")
@data_dir_option()
def keys_list(kind: str, data_dir: Path) -> None:
    """List the signing keys: id, creation time, and whether each is the primary (signs new
    sessions or tokens) or verify-only (still accepted); identity-token keys also show their
    algorithm (RS256, ES384). Key material is never printed."""
    store, _ = open_admin_store(data_dir)
    rows: list[tuple[str, ...]] = []
    try:
        if kind == "session-token":
            rows = [("KEY ID", "CREATED", "USE"), *[
                (key.key_id, f"{key.created:%Y-%m-%dT%H:%M:%SZ}",
                 "primary" if key.primary else "verify-only")
                for key in store.list_signing_keys()]]
        else:
            rows = [("KEY ID", "ALGORITHM", "CREATED", "USE"), *[
                (key.key_id, key.algorithm, f"{key.created:%Y-%m-%dT%H:%M:%SZ}",
                 "primary" if key.primary else "verify-only")
                for key in store.list_identity_token_keys()]]
    finally:
        store.close()
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        click.echo("  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=False))
                   + f"  {row[-1]}")


@keys.command("rotate")
@click.option("--kind", type=click.Choice(KINDS), default="session-token", metavar="KIND",
              help="session-token (default) or identity-token (the OIDC issuer's JWT keys).")
@click.option("--algorithm", type=click.Choice(["RS256", "ES384"]), default=None, metavar="ALG",
              help="identity-token only: RS256 or ES384 (default: both).")
@data_dir_option()
def keys_rotate(kind: str, algorithm: str | None, data_dir: Path) -> None:
    """Make a new primary key and print its id; sessions (or identity tokens) signed with
    older keys stay valid until those keys are retired. Running servers switch within
    OPENSTS_KEY_REFRESH_SECONDS."""
    from opensts.services.bootstrap import add_signing_key, utcnow

    if algorithm is not None and kind != "identity-token":
        raise click.UsageError("--algorithm goes with --kind identity-token")
    store, box = open_admin_store(data_dir)
    try:
        if kind == "session-token":
            click.echo(add_signing_key(store, box, utcnow()))
            return
        from opensts.services.issuer import add_identity_key

        for alg in [algorithm] if algorithm else ["RS256", "ES384"]:
            click.echo(f"{alg} {add_identity_key(store, box, alg, utcnow())}")
    finally:
        store.close()


@keys.command("retire")
@click.argument("key_id")
@data_dir_option()
def keys_retire(key_id: str, data_dir: Path) -> None:
    """Delete the non-primary key KEY_ID (see 'keys list'): every session sealed with it,
    or every identity token signed with it, stops working (its public key leaves the
    issuer's JWKS)."""
    store, _ = open_admin_store(data_dir)
    try:
        current = {k.key_id: k.primary for k in store.list_signing_keys()}
        identity = {k.key_id: k.primary for k in store.list_identity_token_keys()}
        if key_id not in current and key_id not in identity:
            raise click.ClickException(f"no signing key {key_id}")
        if current.get(key_id) or identity.get(key_id):
            raise click.ClickException("rotate first: the primary key cannot be retired")
        if key_id in current:
            store.delete_signing_key(key_id)
        else:
            store.delete_identity_token_key(key_id)
    finally:
        store.close()
