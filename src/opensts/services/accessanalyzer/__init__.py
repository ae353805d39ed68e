"""IAM Access Analyzer (rest-json, SigV4 service ``access-analyzer``): one module per concept.

Importing this package registers its operations (services.registry). ``policy_checks``
(ValidatePolicy and the Check* APIs) and ``unused`` (unused-access findings) are built by
other work and imported when present.
"""

import importlib

from opensts.services.accessanalyzer import (  # noqa: F401
    analyzers,
    archive_rules,
    findings,
    tags,
)

for _optional in ("policy_checks", "unused", "previews"):
    try:
        importlib.import_module(f"opensts.services.accessanalyzer.{_optional}")
    except ModuleNotFoundError as exc:
        if exc.name != f"opensts.services.accessanalyzer.{_optional}":
            raise
