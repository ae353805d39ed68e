"""The server's IAM parameter constraints agree with botocore's IAM model."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore

from opensts.services.iam import common, credentials, policies, roles
from opensts.services.registry import load_operations

MODEL = Path(botocore.__file__).parent / "data/iam/2010-05-08/service-2.json.gz"


def _model() -> dict[str, Any]:
    with gzip.open(MODEL) as fh:
        return json.load(fh)  # type: ignore[no-any-return]


def test_every_registered_iam_operation_is_modelled() -> None:
    model = _model()
    ours = {name for service, name in load_operations() if service == "iam"}
    assert len(ours) >= 75
    assert ours <= set(model["operations"]), ours - set(model["operations"])


def test_patterns_match_the_model() -> None:
    shapes = _model()["shapes"]
    expected = {
        "userNameType": common.NAME_TEXT,
        "pathType": common.PATH_TEXT,
        "pathPrefixType": common.PATH_PREFIX_TEXT,
        "policyPathType": common.POLICY_PATH_TEXT,
        "policyDocumentType": common.DOCUMENT_TEXT,
        "markerType": common.MARKER_TEXT,
        "tagKeyType": common.TAG_KEY_TEXT,
        "tagValueType": common.TAG_VALUE_TEXT,
        "policyVersionIdType": policies.VERSION_TEXT,
        "roleDescriptionType": roles.DESCRIPTION_TEXT,
        "accessKeyIdType": credentials.KEY_ID_TEXT,
        "serialNumberType": credentials.SERIAL_TEXT,
        "authenticationCodeType": credentials.CODE_TEXT,
        "passwordType": credentials.PASSWORD_TEXT,
    }
    for shape, pattern in expected.items():
        assert shapes[shape]["pattern"] == pattern, shape
    # issue 13
    from opensts.services.iam import account_settings, server_certificates, user_credentials

    for shape, pattern in {
        "accountAliasType": account_settings.ALIAS_TEXT,
        "certificateBodyType": user_credentials.BODY_TEXT,
        "publicKeyMaterialType": user_credentials.BODY_TEXT,
        "certificateIdType": user_credentials.ID_TEXT,
        "publicKeyIdType": user_credentials.ID_TEXT,
        "serviceSpecificCredentialId": user_credentials.ID_TEXT,
        "privateKeyType": server_certificates.PEM_TEXT,
        "certificateChainType": server_certificates.PEM_TEXT,
        "instanceProfileNameType": common.NAME_TEXT,
        "serverCertificateNameType": common.NAME_TEXT,
    }.items():
        assert shapes[shape]["pattern"] == pattern, shape
    assert shapes["statusType"]["enum"] == user_credentials.STATUSES
    assert (shapes["credentialAgeDays"]["min"], shapes["credentialAgeDays"]["max"]) == (1, 36600)
    # the password policy's ranges (account_settings.update_account_password_policy)
    assert [(shapes[n]["min"], shapes[n]["max"]) for n in (
        "minimumPasswordLengthType", "maxPasswordAgeType", "passwordReusePreventionType")] == [
        (6, 128), (1, 1095), (1, 24)]
    assert (shapes["arnType"]["min"], shapes["arnType"]["max"]) == (common.ARN_MIN,
                                                                   common.ARN_MAX)
    assert shapes["tagListType"]["max"] == common.TAGS_MAX
    assert (shapes["roleMaxSessionDurationType"]["min"],
            shapes["roleMaxSessionDurationType"]["max"]) == (3600, 43200)
