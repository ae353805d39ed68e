"""``opensts api``: the APIs the HTTP authorizer hooks decide calls for (issue 11).

``apply FILE`` creates the API a declaration file describes, or replaces it in full
(opensts.apis.spec: JSON, or TOML for a ``.toml`` file); every problem is reported with the
file, line and column of the offending value, and nothing is written unless the whole file
is valid. ``show ID`` prints the stored API in the declaration format (JSON), so it can be
checked in and applied again. The store is opened as ``opensts serve`` opens it
(``--data-dir`` or ``OPENSTS_DATABASE_URL``), and every write moves the store's generation,
so running servers decide with the new declaration on their next request.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from opensts.cli.common import data_dir_option, open_admin_store

EXIT_INVALID = 2


@click.group("api")
def api() -> None:
    """APIs authorized by the hooks: declare (apply), list, show and delete them."""


@api.command("apply")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@data_dir_option()
def apply(file: Path, data_dir: Path) -> None:
    """Create or replace the API declared in FILE (JSON, or TOML if it ends in .toml).

    Exit status: 0 when applied, 2 when the file is invalid (each problem printed as
    FILE:LINE:COLUMN: FIELD: MESSAGE), 1 for other failures.
    """
    from opensts.apis.spec import SpecError, parse_spec
    from opensts.directory.errors import ApiAlreadyExists, NotFound

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {file}: {exc}") from None
    try:
        spec = parse_spec(text, str(file))
    except SpecError as exc:
        for problem in exc.problems:
            click.echo(problem.render(str(file)), err=True)
        sys.exit(EXIT_INVALID)
    for finding in spec.findings:
        click.echo(f"{file}: policy: {finding.severity} {finding.code}: {finding.message}",
                   err=True)
    store, _ = open_admin_store(data_dir)
    try:
        existed = store.find_api(spec.api_id) is not None
        store.put_api(spec.record(datetime.now(UTC)))
    except ApiAlreadyExists as exc:
        raise click.ClickException(
            f"API id {spec.api_id} is taken by account {exc.owner}'s API") from exc
    except NotFound as exc:
        raise click.ClickException(f"no account {spec.account_id} in this OpenSTS") from exc
    finally:
        store.close()
    verb = "replaced" if existed else "created"
    click.echo(f"{verb} API {spec.api_id} of account {spec.account_id} (region {spec.region}, "
               f"stages {', '.join(spec.stages)}, {len(spec.routes)} routes"
               f"{', resource policy' if spec.policy else ''})")


@api.command("list")
@click.option("--account", "account_id", default=None, metavar="ID",
              help="only this account's APIs")
@data_dir_option()
def list_apis(account_id: str | None, data_dir: Path) -> None:
    """List the APIs: id, owner, region, stages, number of routes, policy or -."""
    store, _ = open_admin_store(data_dir)
    try:
        apis = store.list_apis(account_id)
    finally:
        store.close()
    for a in apis:
        click.echo(f"{a.api_id}  {a.account_id}  {a.region}  {','.join(a.stages)}  "
                   f"routes={len(a.routes)}  {'policy' if a.policy else '-'}")


def declaration(a: Any) -> dict[str, Any]:
    """A stored API in the declaration format (what ``apply`` reads)."""
    out: dict[str, Any] = {"api_id": a.api_id, "account": a.account_id, "name": a.name,
                           "region": a.region, "stages": list(a.stages),
                           "require_body_hash": a.require_body_hash}
    if a.policy is not None:
        out["policy"] = json.loads(a.policy)
    routes = []
    for r in a.routes:
        route: dict[str, Any] = {"route": f"{r.method} {r.path}"}
        if r.action is not None:
            route["action"] = r.action
        if r.resource is not None:
            route["resource"] = r.resource
        if r.conditions:
            route["conditions"] = dict(r.conditions)
        routes.append(route)
    if routes:
        out["routes"] = routes
    return out


@api.command("show")
@click.argument("api_id")
@data_dir_option()
def show(api_id: str, data_dir: Path) -> None:
    """Print API_ID as a declaration file (JSON) that ``apply`` accepts."""
    store, _ = open_admin_store(data_dir)
    try:
        found = store.find_api(api_id)
    finally:
        store.close()
    if found is None:
        raise click.ClickException(f"no API {api_id}")
    click.echo(json.dumps(declaration(found), indent=2))


@api.command("delete")
@click.argument("api_id")
@data_dir_option()
def delete(api_id: str, data_dir: Path) -> None:
    """Delete API_ID: the hooks then answer its calls Missing Authentication Token."""
    from opensts.directory.errors import NotFound

    store, _ = open_admin_store(data_dir)
    try:
        store.delete_api(api_id)
    except NotFound as exc:
        raise click.ClickException(f"no API {api_id}") from exc
    finally:
        store.close()
    click.echo(f"deleted API {api_id}")
