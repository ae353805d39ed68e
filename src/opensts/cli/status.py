"""``opensts status``: what the OpenSTS in a data directory is, read without changing it.

The database is only read (``opensts.store.probe``: no migration, no table created), so
``status`` is safe against a running server and against a database of a newer version.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import click

from opensts.cli.common import admin_settings, data_dir_option, require_store


def opensts_version() -> str:
    try:
        return version("opensts")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@click.command()
@data_dir_option()
@click.option("--endpoint-url", metavar="URL", envvar="OPENSTS_PUBLIC_URL",
              help="also check that a server answers GET URL/health (else OPENSTS_PUBLIC_URL; "
                   "default: not checked)")
@click.option("--json", "as_json", is_flag=True, help="print the status as one JSON object")
def status(data_dir: Path, endpoint_url: str | None, as_json: bool) -> None:
    """Show the management account, data dir, database (URL without its password, schema
    migration), signing keys, version and whether a server answers.

    Exits 1 when the directory or its database holds no OpenSTS, or the server given with
    --endpoint-url does not answer.
    """
    from opensts.store.probe import LATEST_MIGRATION

    settings = admin_settings(data_dir)
    info = require_store(settings)
    now = datetime.now(UTC)
    primary = next((k for k in info.signing_keys if k.primary), None)
    report: dict[str, Any] = {
        "version": opensts_version(),
        "data_dir": str(data_dir.resolve()),
        "management_account": info.management_account,
        "accounts": [account for account, _ in info.accounts],
        "database": {"url": info.url, "dialect": info.dialect, "migration": info.migration,
                     "latest_migration": LATEST_MIGRATION},
        "master_key": "OPENSTS_MASTER_KEY" if os.environ.get("OPENSTS_MASTER_KEY")
        else str((data_dir / "master.key").resolve()),
        "signing_keys": {
            "count": len(info.signing_keys),
            "primary": primary.key_id if primary else None,
            "primary_created": _iso(primary.created) if primary else None,
            "primary_age_days": round((now - primary.created).total_seconds() / 86400, 1)
            if primary else None,
        },
        "server": _probe_server(endpoint_url) if endpoint_url else None,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print(report)
    server = report["server"]
    if server is not None and not server["answering"]:
        raise SystemExit(1)


def _print(report: dict[str, Any]) -> None:
    database = report["database"]
    keys = report["signing_keys"]
    newer = (" (newer than this version: upgrade OpenSTS)"
             if database["migration"] > database["latest_migration"] else "")
    others = len(report["accounts"]) - 1
    rows = [
        ("version", report["version"]),
        ("data dir", report["data_dir"]),
        ("management account", f"{report['management_account']}"
                               f"{f' (+{others} member accounts)' if others else ''}"),
        ("database", f"{database['url']} ({database['dialect']}, migration "
                     f"{database['migration']} of {database['latest_migration']}){newer}"),
        ("master key", report["master_key"]),
        ("signing keys", f"{keys['count']}, primary {keys['primary']} created "
                         f"{keys['primary_created']} ({keys['primary_age_days']} days ago)"
         if keys["primary"] else f"{keys['count']}, no primary yet (made on the next start)"),
    ]
    server = report["server"]
    if server is None:
        rows.append(("server", "not checked (give --endpoint-url)"))
    elif server["answering"]:
        rows.append(("server", f"{server['endpoint']} answering"))
    else:
        rows.append(("server", f"{server['endpoint']} NOT answering: {server['error']}"))
    width = max(len(name) for name, _ in rows) + 2
    for name, value in rows:
        click.echo(f"{name + ':':<{width}}{value}")


def _probe_server(endpoint: str) -> dict[str, Any]:
    import httpx

    url = endpoint.rstrip("/") + "/health"
    verify: str | bool = os.environ.get("OPENSTS_CA_BUNDLE") or True
    try:
        response = httpx.get(url, timeout=5, verify=verify, follow_redirects=False)
    except httpx.HTTPError as exc:
        return {"endpoint": endpoint, "answering": False, "error": str(exc) or type(exc).__name__}
    if response.status_code != 200:
        return {"endpoint": endpoint, "answering": False,
                "error": f"GET /health answered {response.status_code}"}
    return {"endpoint": endpoint, "answering": True, "error": None}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
