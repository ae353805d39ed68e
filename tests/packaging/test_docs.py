"""The documentation's commands exist: every ``opensts ...`` line in a code block of
``docs/*.md`` names a real command, and every option it passes is one that command accepts
(checked against the click command tree, ``opensts.cli.main.cli``). Links between the pages
resolve, and ``docs/README.md`` lists every page.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import click
import pytest

from opensts.cli.main import cli
from tests.conftest import REPO

DOCS = REPO / "docs"
FENCE = re.compile(r"^ *```[^\n]*\n(.*?)^ *```", re.S | re.M)
# What may come before ``opensts`` on a line: a prompt, variable assignments, a path.
LEAD = re.compile(r"^(?:\$\s+)?(?:sudo\s+(?:-u\s+\S+\s+)?)?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*"
                  r"(?:\S*/)?opensts(?:\s|$)")
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>", "2>&1"}

@dataclass(frozen=True)
class DocLine:
    page: str
    line: int
    text: str


def doc_command_lines() -> list[DocLine]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for block in FENCE.finditer(text):
            start = text.count("\n", 0, block.start(1)) + 1
            lines = block.group(1).splitlines()
            index = 0
            while index < len(lines):
                first = index
                joined = lines[index]
                while joined.endswith("\\") and index + 1 < len(lines):
                    index += 1
                    joined = joined[:-1] + " " + lines[index].strip()
                index += 1
                if LEAD.match(joined.strip()):
                    found.append(DocLine(page.name, start + first, joined.strip()))
    return found


def problems(line: DocLine) -> list[str]:
    """What is wrong with one command line: commands or options the CLI does not have."""
    tokens = shlex.split(line.text, comments=True)
    while tokens and not re.fullmatch(r"(?:\S*/)?opensts", tokens[0]):
        tokens.pop(0)
    tokens = tokens[1:]
    for index, token in enumerate(tokens):
        if token in SHELL_OPERATORS or token.startswith(("2>", ">")):
            tokens = tokens[:index]
            break
    errors: list[str] = []
    command: click.Command = cli
    path: tuple[str, ...] = ()

    for token in tokens:
        if token.startswith("-") and len(token) > 1:
            option = token.split("=", 1)[0]
            accepted = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            if option != "--help" and option not in accepted:
                errors.append(f"{' '.join(('opensts', *path))}: no option {option}")
            continue
        if isinstance(command, click.Group):
            sub = command.commands.get(token)
            if sub is None:
                errors.append(f"opensts: no command {' '.join((*path, token))}")
                return errors
            command, path = sub, (*path, token)
    if isinstance(command, click.Group) and path and tokens[-1:] != ["--help"]:
        errors.append(f"opensts {' '.join(path)} needs a subcommand")
    return errors


LINES = doc_command_lines()


def test_docs_have_commands() -> None:
    # The extraction itself works: the how-tos are full of opensts commands.
    assert len(LINES) >= 20, LINES
    pages = {line.page for line in LINES}
    assert {"key-rotation.md", "serve-credentials.md", "backup-restore.md"} <= pages


@pytest.mark.parametrize("line", LINES, ids=[f"{d.page}:{d.line}" for d in LINES])
def test_doc_commands_exist(line: DocLine) -> None:
    errors = problems(line)
    assert not errors, f"{line.page}:{line.line}: {line.text}\n" + "\n".join(errors)


def test_checker_catches_a_wrong_option_and_command() -> None:
    bad_option = DocLine("x.md", 1, "opensts keys rotate --data-dir d --no-such-option")
    bad_command = DocLine("x.md", 1, "OPENSTS_DATA_DIR=d opensts keys spin")
    good = DocLine("x.md", 1, "opensts serve --port 8777 --data-dir ./data | tee log")
    assert problems(bad_option) == ["opensts keys rotate: no option --no-such-option"]
    assert problems(bad_command) == ["opensts: no command keys spin"]
    assert problems(good) == []


# Pages other branches add to docs/ (docs/configuration.md: helper ops-config), already
# linked from the index.
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_links_between_pages_resolve() -> None:
    broken = []
    for page in sorted(DOCS.glob("*.md")):
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert not broken


def test_index_lists_every_page() -> None:
    index = (DOCS / "README.md").read_text()
    missing = [p.name for p in DOCS.glob("*.md")
               if p.name != "README.md" and f"({p.name})" not in index]
    assert not missing


HEREDOC = re.compile(r"cat > (\S+\.json) <<(\w+)\n(.*?)\n\2\n", re.S)
SHELL_VARIABLE = re.compile(r"\$\{(\w+)\}")


def test_policy_documents_in_the_pages_are_json() -> None:
    """The trust and permission policies the pages write with ``cat > X.json <<JSON`` are
    valid JSON once the shell has filled in their variables, and valid policies."""
    import json

    from opensts.policy.model import PolicyKind
    from opensts.policy.parser import parse_policy

    values = {"ACCOUNT": "111122223333", "PREFIX": "k8s.example.internal:6443"}
    found = 0
    for page in sorted(DOCS.glob("*.md")):
        for name, _, body in HEREDOC.findall(page.read_text()):
            text = SHELL_VARIABLE.sub(lambda m: values[m.group(1)], body)
            try:
                document = json.loads(text)
                # A document with a Principal is a trust policy; the others are attached.
                trust = any("Principal" in st for st in document["Statement"])
                parse_policy(text, PolicyKind.TRUST if trust else PolicyKind.IDENTITY)
            except Exception as exc:
                raise AssertionError(f"{page.name}: {name}: {exc}") from exc
            found += 1
    assert found >= 5
