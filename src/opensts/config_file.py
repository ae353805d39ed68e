"""The config file (``opensts --config FILE``, else ``OPENSTS_CONFIG``): TOML, one top-level
key per ``OPENSTS_*`` setting, named in lower case without the prefix.

The file is loaded into the environment, for the settings the environment does not already
hold, before any command reads its options: so the precedence is command-line option >
environment variable > config file > built-in default, for every command and for the
``serve --workers`` processes, which read their settings from the environment they inherit.

Fail closed: an unknown key, a value of the wrong type or a table is refused with
``FILE:LINE: message``; a file holding a secret must be readable by its owner alone.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["str", "path", "int", "float", "list"]


@dataclass(frozen=True)
class Setting:
    kind: Kind
    help: str
    secret: bool = False


# Every OPENSTS_* setting the code reads, by config-file key (tests/cli/test_config_file.py
# checks that no OPENSTS_* name in src/ is missing here or from docs/configuration.md).
SETTINGS: dict[str, Setting] = {
    "data_dir": Setting("path", "the data directory: SQLite store, master.key, audit log "
                                "(default ./data)"),
    "database_url": Setting("str", "SQLAlchemy URL of the directory store (default SQLite "
                                   "in the data dir; postgresql+psycopg://... for PostgreSQL)"),
    "master_key": Setting("str", "base64 of the 32-byte key that encrypts secrets at rest "
                                 "(default: DATA_DIR/master.key)", secret=True),
    "account_id": Setting("str", "12-digit id of the management account, on first start "
                                 "(default generated)"),
    "root_access_key_id": Setting("str", "the management account's root access key id, on "
                                         "first start (default generated)"),
    "root_secret_access_key": Setting("str", "its secret, on first start (default generated "
                                             "and shown once)", secret=True),
    "credentials_file": Setting("path", "serve: write the first-start root credentials to "
                                        "this 0600 file instead of stdout"),
    "ca_bundle": Setting("path", "extra PEM CA certificates trusted for outbound HTTPS (OIDC "
                                 "discovery, the S3 backend)"),
    "key_refresh_seconds": Setting("float", "how often a server re-reads the signing keys "
                                            "(default 60)"),
    "cache_staleness_seconds": Setting("float", "how long a cached directory read may be "
                                                "stale across processes (default 1)"),
    "login_credential_seconds": Setting("int", "lifetime of `aws login` credentials "
                                               "(default 900)"),
    "login_session_max_seconds": Setting("int", "longest `aws login` session (default "
                                                "43200)"),
    "signin_account_id": Setting("str", "account id prefilled on the sign-in page (default "
                                        "none: the user types it)"),
    "trusted_proxies": Setting("list", "reverse proxies (CIDRs) whose X-Forwarded-For/-Proto "
                                       "are believed (default none)"),
    "public_url": Setting("str", "http(s)://host[:port] clients reach the server at "
                                 "(default the listener)"),
    "metrics_allow": Setting("list", "direct peers (CIDRs) allowed to scrape GET /metrics "
                                     "(default 127.0.0.0/8,::1; never through a proxy)"),
    "audit_max_bytes": Setting("int", "size at which an audit log file is rotated and "
                                      "compressed (default 268435456)"),
    "s3_backend_url": Setting("str", "S3-compatible storage behind the S3 gateway (default "
                                     "none: no gateway)"),
    "s3_backend_access_key_id": Setting("str", "the S3 backend's access key id"),
    "s3_backend_secret_access_key": Setting("str", "the S3 backend's secret access key",
                                            secret=True),
    "s3_backend_region": Setting("str", "the S3 backend's region (default us-east-1)"),
    "s3_domain": Setting("str", "virtual-hosted-style S3: BUCKET.DOMAIN names a bucket"),
    "s3_region": Setting("str", "the region the S3 gateway answers for (default us-east-1)"),
    "s3_data_events": Setting("str", "S3 data events audited: none, write-only or all "
                                     "(default all)"),
}

# Read by the code but not settings of an operator's: ``OPENSTS_CONFIG`` names the file
# itself, and ``serve --workers`` sets OPENSTS_AUDIT_PER_PROCESS for its worker processes.
NOT_IN_FILE = {"OPENSTS_CONFIG": "the config file itself",
               "OPENSTS_AUDIT_PER_PROCESS": "set by `opensts serve --workers` for its workers"}

CONFIG_ENV = "OPENSTS_CONFIG"
PREFIX = "OPENSTS_"


class ConfigFileError(Exception):
    """The config file is unreadable, malformed or unsafe; nothing was loaded from it."""


def env_name(key: str) -> str:
    return PREFIX + key.upper()


def read_config(path: Path) -> dict[str, str]:
    """The settings ``path`` holds, as environment variables (name → text)."""
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read the config file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigFileError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(_decode_error(path, exc)) from None
    problems: list[str] = []
    found: dict[str, str] = {}
    for key, value in data.items():
        where = f"{path}:{_line_of(text, key)}"
        setting = SETTINGS.get(key)
        if setting is None:
            problems.append(f"{where}: unknown setting {key!r}{_did_you_mean(key)}")
            continue
        converted = _convert(key, value, setting, path.parent)
        if isinstance(converted, _Problem):
            problems.append(f"{where}: {converted.message}")
            continue
        found[env_name(key)] = converted
    if problems:
        raise ConfigFileError("\n".join(problems))
    secrets = sorted(k for k in data if SETTINGS[k].secret)
    if secrets and stat.S_IMODE(mode) & 0o077:
        raise ConfigFileError(
            f"{path}: holds {', '.join(secrets)} but is readable by group or others "
            f"(mode {stat.S_IMODE(mode):04o}): chmod 600 {path}")
    return found


def load_into_environment(path: Path, environ: MutableMapping[str, str] | None = None
                          ) -> list[str]:
    """Set each setting of ``path`` that the environment does not hold; the names set."""
    env = os.environ if environ is None else environ
    loaded = []
    for name, value in read_config(path).items():
        # Present in the environment (even empty) wins: the environment is above the file.
        if name not in env:
            env[name] = value
            loaded.append(name)
    return loaded


@dataclass(frozen=True)
class _Problem:
    message: str


def _convert(key: str, value: Any, setting: Setting, base: Path) -> str | _Problem:
    kind = setting.kind
    if isinstance(value, dict):
        return _Problem(f"{key} must be a {_KIND_TEXT[kind]}, not a table (settings are "
                        "top-level keys)")
    if kind in ("str", "path"):
        if not isinstance(value, str):
            hint = " (quote it)" if isinstance(value, int | float) else ""
            return _Problem(f"{key} must be a string{hint}, not {_type_name(value)}")
        if kind == "path" and value and not Path(value).expanduser().is_absolute():
            # Relative to the file, not to wherever the command happens to run.
            return str(base.resolve() / value)
        return str(Path(value).expanduser()) if kind == "path" and value else value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return _Problem(f"{key} must be an integer, not {_type_name(value)}")
        return str(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _Problem(f"{key} must be a number, not {_type_name(value)}")
        return str(value)
    # list: a TOML array of strings, or one comma-separated string (as in the environment)
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return _Problem(f"{key} must be a list of strings, not {_type_name(value)}")
    if any("," in item for item in value):
        return _Problem(f"{key}: one item per list entry (an entry holds a comma)")
    return ",".join(value)


_KIND_TEXT = {"str": "string", "path": "string (a path)", "int": "integer", "float": "number",
              "list": "list of strings"}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list" if all(isinstance(v, str) for v in value) else "a list of non-strings"
    return f"a {type(value).__name__}"


def _line_of(text: str, key: str) -> int:
    """The line defining top-level ``key`` (tomllib keeps no positions); 1 if not found."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')"
                         rf"\s*[=.]|^\s*\[\s*{re.escape(key)}\s*[\].]")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return 1


_AT = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def _decode_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    match = _AT.match(str(exc))
    if match is None:
        return f"{path}: invalid TOML: {exc}"
    return f"{path}:{match['line']}:{match['column']}: invalid TOML: {match['message']}"


def _did_you_mean(key: str) -> str:
    import difflib

    normalised = key.lower().removeprefix("opensts_").replace("-", "_")
    if normalised in SETTINGS:
        return f" (did you mean {normalised!r}?)"
    close = difflib.get_close_matches(normalised, list(SETTINGS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

