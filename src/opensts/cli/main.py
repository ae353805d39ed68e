"""``opensts``: the command group; each command lives in the module named after it."""

from __future__ import annotations

import click

from opensts.cli.apis import api
from opensts.cli.audit import audit
from opensts.cli.doctor import doctor
from opensts.cli.keys import keys
from opensts.cli.login import COMMANDS as LOGIN_COMMANDS
from opensts.cli.policy import policy
from opensts.cli.s3 import s3
from opensts.cli.serve import serve


@click.group()
def cli() -> None:
    """OpenSTS: a self-hosted, AWS-compatible Security Token Service."""


for command in (serve, audit, keys, policy, s3, api, doctor, *LOGIN_COMMANDS):
    cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
