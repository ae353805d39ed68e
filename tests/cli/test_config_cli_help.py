"""Every command of ``opensts`` has help text, and so does every option: walks the whole
click tree (whatever module a command comes from) and lists every offender at once."""

from __future__ import annotations

import subprocess

import click

from opensts.cli.main import cli
from tests.conftest import BIN


def walk(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found += walk(command.commands[name], f"{path} {name}")
    return found


def offenders() -> list[str]:
    problems = []
    for path, command in walk(cli, "opensts"):
        if not (command.help or "").strip() and not (command.short_help or "").strip():
            problems.append(f"{path}: the command has no docstring or help=")
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                problems.append(f"{path} {'/'.join(param.opts)}: the option has no help=")
    return problems


def test_every_command_and_option_has_help_text() -> None:
    problems = offenders()
    assert not problems, ("commands and options without help text (add a docstring or "
                          "help=...):\n  " + "\n  ".join(problems))


def test_the_walk_reaches_every_command() -> None:
    # A walk that missed groups would pass vacuously.
    paths = {path for path, _ in walk(cli, "opensts")}
    assert {"opensts keys list", "opensts s3 adopt", "opensts api apply", "opensts status",
            "opensts root create-access-key", "opensts backup", "opensts restore",
            "opensts serve", "opensts audit tail", "opensts policy explain"} <= paths


def test_the_installed_help_shows_the_texts() -> None:
    shown = subprocess.run([str(BIN / "opensts"), "keys", "list", "--help"],
                           capture_output=True, text=True, timeout=60).stdout
    shown = " ".join(shown.split())  # click wraps the help to the terminal's width
    assert "--data-dir DIRECTORY" in shown and "must already hold OpenSTS data" in shown
