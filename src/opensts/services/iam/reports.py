"""Credential reports: GenerateCredentialReport and GetCredentialReport (IAM API reference;
IAM User Guide, id_credentials_getting-report).

The report is the CSV AWS documents, one row for the account's root user
(``<root_account>``) and one per IAM user, with these columns in this order. Dates are
ISO 8601 with the offset (``2014-08-13T13:27:41+00:00``); ``N/A`` where a credential does
not exist, ``no_information`` for a password never used, ``not_supported`` for the root
user's password fields. AWS makes a new report at most every four hours and a report
older than that has expired; here the report is made in the GenerateCredentialReport call,
so GetCredentialReport never answers ReportInProgress.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime, timedelta
from typing import Any

from opensts.directory.errors import NotFound
from opensts.directory.records import AccessKey, CredentialReport, User
from opensts.errors import SenderError
from opensts.services.context import CallContext
from opensts.services.iam.common import account, every
from opensts.services.registry import operation
from opensts.wire.params import Params

COLUMNS = (
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "password_last_changed", "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
)
REPORT_LIFETIME = timedelta(hours=4)


class ReportNotPresent(SenderError):
    code = "ReportNotPresent"
    status = 410


class ReportExpired(SenderError):
    code = "ReportExpired"
    status = 410


def _when(moment: datetime | None, missing: str = "N/A") -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else missing


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _keys(keys: list[AccessKey]) -> list[str]:
    cells: list[str] = []
    slots: list[AccessKey | None] = [*sorted(keys, key=lambda k: k.created), None, None]
    for key in slots[:2]:
        if key is None:
            cells += ["false", "N/A", "N/A", "N/A", "N/A"]
            continue
        used = key.last_used
        cells += [_flag(key.status == "Active"), _when(key.created),
                  _when(used.when if used else None), used.region if used else "N/A",
                  used.service if used else "N/A"]
    return cells


def _user_row(ctx: CallContext, user: User) -> list[str]:
    store = ctx.runtime.store
    try:
        profile = store.get_login_profile(user.account_id, user.name)
    except NotFound:
        profile = None
    if profile is None:
        password = ["false", "N/A", "N/A", "N/A"]
    else:
        password = ["true", _when(user.password_last_used, "no_information"),
                    _when(profile.created), "N/A"]
    mfa = bool(store.list_mfa_devices_for_user(user.account_id, user.name))
    keys = store.list_access_keys(user.account_id, user.name)
    return [user.name, user.arn, _when(user.created), *password, _flag(mfa), *_keys(keys),
            "false", "N/A", "false", "N/A"]


def build_report(ctx: CallContext, acct: str) -> str:
    store = ctx.runtime.store
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    root = store.get_account(acct)
    writer.writerow(["<root_account>", f"arn:aws:iam::{acct}:root", _when(root.created),
                     "not_supported", "no_information", "not_supported", "not_supported",
                     "false", *_keys(store.list_access_keys(acct, None)),
                     "false", "N/A", "false", "N/A"])
    users = every(lambda **kw: store.list_users(acct, **kw))
    for user in sorted(users, key=lambda u: u.name.lower()):
        writer.writerow(_user_row(ctx, user))
    return out.getvalue().rstrip("\n")


@operation("iam", "GenerateCredentialReport")
def generate_credential_report(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    ctx.authorize("iam:GenerateCredentialReport", "*")
    store = ctx.runtime.store
    current = store.find_credential_report(acct)
    now = ctx.meta.now
    if current is not None and now - current.generated < REPORT_LIFETIME:
        return {"State": "COMPLETE"}
    store.save_credential_report(CredentialReport(acct, now, build_report(ctx, acct)))
    return {"State": "STARTED",
            "Description": "No report exists. Starting a new report generation task"}


@operation("iam", "GetCredentialReport", read_only=True)
def get_credential_report(ctx: CallContext, params: Params) -> dict[str, Any]:
    acct = account(ctx)
    ctx.authorize("iam:GetCredentialReport", "*")
    report = ctx.runtime.store.find_credential_report(acct)
    if report is None:
        raise ReportNotPresent("The credential report does not exist. To generate a "
                               "credential report, use GenerateCredentialReport.")
    if ctx.meta.now - report.generated >= REPORT_LIFETIME:
        raise ReportExpired("The most recent credential report has expired. To generate a "
                            "new credential report, use GenerateCredentialReport.")
    return {"Content": base64.b64encode(report.content.encode()).decode(),
            "ReportFormat": "text/csv", "GeneratedTime": report.generated}
