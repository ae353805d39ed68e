"""``opensts``: the command group; each command lives in the module named after it."""

from __future__ import annotations

from pathlib import Path

import click

from opensts.cli.analyze import analyze
from opensts.cli.apis import api
from opensts.cli.audit import audit
from opensts.cli.backup import backup, restore
from opensts.cli.doctor import doctor
from opensts.cli.keys import keys
from opensts.cli.login import COMMANDS as LOGIN_COMMANDS
from opensts.cli.policy import policy
from opensts.cli.root import root
from opensts.cli.s3 import s3
from opensts.cli.serve import serve
from opensts.cli.status import status
from opensts.config_file import CONFIG_ENV, ConfigFileError, load_into_environment


def _load_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    # Runs before the subcommand parses its options, so their OPENSTS_* defaults see the file.
    if value is None or ctx.resilient_parsing:
        return
    try:
        load_into_environment(value)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.version_option(package_name="opensts", prog_name="opensts",
                      help="Print the installed version of OpenSTS and exit.")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False), envvar=CONFIG_ENV,
              callback=_load_config, expose_value=False, is_eager=True, metavar="FILE",
              help="TOML file of OPENSTS_* settings: keys are the names in lower case without "
                   "the prefix (data_dir, database_url, trusted_proxies = [...]); "
                   "else OPENSTS_CONFIG")
def cli() -> None:
    """OpenSTS: a self-hosted, AWS-compatible Security Token Service.

    Every setting is an OPENSTS_* environment variable (docs/configuration.md lists them),
    and may be kept in a config file (--config FILE or OPENSTS_CONFIG). Precedence, highest
    first: a command-line option, then the environment variable, then the config file, then
    the built-in default. A config file holding a secret (master_key,
    root_secret_access_key, s3_backend_secret_access_key) must be chmod 600.
    """


for command in (serve, audit, keys, policy, s3, api, status, root, backup, restore, doctor,
                analyze, *LOGIN_COMMANDS):
    cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
