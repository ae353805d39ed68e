"""Signing certificates, SSH public keys and service-specific credentials through boto3
and the AWS CLI: lifecycle, quotas, duplicates, malformed input, paging, authorization,
and DeleteUser's DeleteConflict while any of them remains."""

from __future__ import annotations

import base64
import datetime
import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .helpers import allow, error_of, unique


def certificate_pem(common_name: str = "test") -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def ssh_key(bits: int = 2048) -> tuple[str, str]:
    """(OpenSSH public key, its MD5 fingerprint as ssh-keygen -E md5 shows it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    text = key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode()
    digest = hashlib.md5(base64.b64decode(text.split()[1]), usedforsecurity=False).hexdigest()
    return text, ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def test_signing_certificates(iam: Any, server: Any) -> None:
    name = unique("sc")
    iam.create_user(UserName=name)
    body = certificate_pem()
    cert = iam.upload_signing_certificate(UserName=name, CertificateBody=body)["Certificate"]
    assert (cert["UserName"], cert["Status"]) == (name, "Active")
    assert len(cert["CertificateId"]) >= 24 and cert["CertificateBody"] == body
    assert error_of(iam.upload_signing_certificate, UserName=name, CertificateBody=body) == (
        "DuplicateCertificate", 409, "The request was rejected because the same certificate "
        "is associated with an IAM user in the account.")
    iam.upload_signing_certificate(UserName=name, CertificateBody=certificate_pem("b"))
    assert error_of(iam.upload_signing_certificate, UserName=name,
                    CertificateBody=certificate_pem("c")) == (
        "LimitExceeded", 409, "Cannot exceed quota for SigningCertificatesPerUser: 2")
    assert error_of(iam.upload_signing_certificate, UserName=name,
                    CertificateBody="not a certificate") == (
        "MalformedCertificate", 400,
        "Unable to parse certificate. Please ensure the certificate is in PEM format.")
    first = iam.list_signing_certificates(UserName=name, MaxItems=1)
    assert first["IsTruncated"] and first["Certificates"][0]["CertificateId"] == (
        cert["CertificateId"])
    rest = iam.list_signing_certificates(UserName=name, Marker=first["Marker"])
    assert len(rest["Certificates"]) == 1 and not rest["IsTruncated"]
    iam.update_signing_certificate(UserName=name, CertificateId=cert["CertificateId"],
                                   Status="Inactive")
    assert iam.list_signing_certificates(UserName=name)["Certificates"][0]["Status"] == (
        "Inactive")
    assert error_of(iam.update_signing_certificate, UserName=name,
                    CertificateId=cert["CertificateId"], Status="Expired")[:2] == (
        "InvalidInput", 400)
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete signing certificates first.")
    for c in iam.list_signing_certificates(UserName=name)["Certificates"]:
        iam.delete_signing_certificate(UserName=name, CertificateId=c["CertificateId"])
    missing = "A" * 24
    assert error_of(iam.delete_signing_certificate, UserName=name, CertificateId=missing) == (
        "NoSuchEntity", 404, f"The Certificate with id {missing} cannot be found.")
    assert error_of(iam.list_signing_certificates, UserName=unique("nobody"))[0] == (
        "NoSuchEntity")
    iam.delete_user(UserName=name)


def test_root_signing_certificates_and_the_summary(iam: Any, server: Any) -> None:
    before = iam.get_account_summary()["SummaryMap"]["AccountSigningCertificatesPresent"]
    assert before == 0
    cert = iam.upload_signing_certificate(CertificateBody=certificate_pem("root"))[
        "Certificate"]
    assert cert["UserName"] == server.account_id
    assert iam.get_account_summary()["SummaryMap"]["AccountSigningCertificatesPresent"] == 1
    assert [c["CertificateId"] for c in iam.list_signing_certificates()["Certificates"]] == [
        cert["CertificateId"]]
    iam.delete_signing_certificate(CertificateId=cert["CertificateId"])
    assert iam.get_account_summary()["SummaryMap"]["AccountSigningCertificatesPresent"] == 0


def test_ssh_public_keys(iam: Any) -> None:
    name = unique("ssh")
    iam.create_user(UserName=name)
    body, fingerprint = ssh_key()
    key = iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=body)["SSHPublicKey"]
    assert key["SSHPublicKeyId"].startswith("APKA") and len(key["SSHPublicKeyId"]) == 20
    assert (key["Fingerprint"], key["Status"], key["UserName"]) == (fingerprint, "Active", name)
    assert key["SSHPublicKeyBody"] == body
    assert error_of(iam.upload_ssh_public_key, UserName=name, SSHPublicKeyBody=body) == (
        "DuplicateSSHPublicKey", 400, "The request was rejected because the SSH public key "
        "is already associated with the specified IAM user.")
    assert error_of(iam.upload_ssh_public_key, UserName=name,
                    SSHPublicKeyBody=ssh_key(1024)[0])[:2] == ("InvalidPublicKey", 400)
    assert error_of(iam.upload_ssh_public_key, UserName=name,
                    SSHPublicKeyBody="hello")[:2] == ("UnrecognizedPublicKeyEncoding", 400)
    assert error_of(iam.upload_ssh_public_key, UserName=name,
                    SSHPublicKeyBody="ssh-rsa AAAAnotbase64")[:2] == ("InvalidPublicKey", 400)
    pem = iam.get_ssh_public_key(UserName=name, SSHPublicKeyId=key["SSHPublicKeyId"],
                                 Encoding="PEM")["SSHPublicKey"]["SSHPublicKeyBody"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    # a PEM upload is the same key: a duplicate
    assert error_of(iam.upload_ssh_public_key, UserName=name,
                    SSHPublicKeyBody=pem)[0] == "DuplicateSSHPublicKey"
    listed = iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]
    assert [k["SSHPublicKeyId"] for k in listed] == [key["SSHPublicKeyId"]]
    assert set(listed[0]) == {"UserName", "SSHPublicKeyId", "Status", "UploadDate"}
    iam.update_ssh_public_key(UserName=name, SSHPublicKeyId=key["SSHPublicKeyId"],
                              Status="Inactive")
    assert iam.get_ssh_public_key(UserName=name, SSHPublicKeyId=key["SSHPublicKeyId"],
                                  Encoding="SSH")["SSHPublicKey"]["Status"] == "Inactive"
    for _ in range(4):
        iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=ssh_key()[0])
    assert error_of(iam.upload_ssh_public_key, UserName=name,
                    SSHPublicKeyBody=ssh_key()[0]) == (
        "LimitExceeded", 409, "Cannot exceed quota for PublicKeysPerUser: 5")
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409, "Cannot delete entity, must delete SSH public keys first.")
    for k in iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=k["SSHPublicKeyId"])
    missing = "APKA" + "A" * 16
    assert error_of(iam.get_ssh_public_key, UserName=name, SSHPublicKeyId=missing,
                    Encoding="SSH") == (
        "NoSuchEntity", 404, f"The SSH Public Key with id {missing} cannot be found.")
    iam.delete_user(UserName=name)


def test_service_specific_credentials(iam: Any, server: Any) -> None:
    name = unique("ssc")
    iam.create_user(UserName=name)
    made = iam.create_service_specific_credential(
        UserName=name, ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    assert made["ServiceUserName"] == f"{name}-at-{server.account_id}"
    assert len(made["ServicePassword"]) >= 40 and made["Status"] == "Active"
    assert made["ServiceSpecificCredentialId"].startswith("ACCA")
    cred_id = made["ServiceSpecificCredentialId"]
    iam.create_service_specific_credential(UserName=name,
                                           ServiceName="codecommit.amazonaws.com")
    assert error_of(iam.create_service_specific_credential, UserName=name,
                    ServiceName="codecommit.amazonaws.com") == (
        "LimitExceeded", 409,
        "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2")
    assert error_of(iam.create_service_specific_credential, UserName=name,
                    ServiceName="s3.amazonaws.com") == (
        "NotSupportedService", 404,
        "The specified service does not support service-specific credentials.")
    keyspaces = iam.create_service_specific_credential(
        UserName=name, ServiceName="cassandra.amazonaws.com", CredentialAgeDays=30)[
        "ServiceSpecificCredential"]
    assert keyspaces["ExpirationDate"] > keyspaces["CreateDate"]
    listed = iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"]
    assert len(listed) == 3 and all("ServicePassword" not in c for c in listed)
    only = iam.list_service_specific_credentials(UserName=name,
                                                 ServiceName="cassandra.amazonaws.com")
    assert [c["ServiceName"] for c in only["ServiceSpecificCredentials"]] == [
        "cassandra.amazonaws.com"]
    everyone = iam.list_service_specific_credentials(AllUsers=True)["ServiceSpecificCredentials"]
    assert error_of(iam.list_service_specific_credentials, AllUsers=True, UserName=name)[:2] == (
        "ValidationError", 400)
    assert cred_id in {c["ServiceSpecificCredentialId"] for c in everyone}
    reset = iam.reset_service_specific_credential(UserName=name,
                                                  ServiceSpecificCredentialId=cred_id)
    assert reset["ServiceSpecificCredential"]["ServicePassword"] != made["ServicePassword"]
    iam.update_service_specific_credential(UserName=name, ServiceSpecificCredentialId=cred_id,
                                           Status="Inactive")
    statuses = {c["ServiceSpecificCredentialId"]: c["Status"] for c in
                iam.list_service_specific_credentials(UserName=name)[
                    "ServiceSpecificCredentials"]}
    assert statuses[cred_id] == "Inactive"
    assert error_of(iam.delete_user, UserName=name) == (
        "DeleteConflict", 409,
        "Cannot delete entity, must delete service specific credentials first.")
    for c in iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(
            UserName=name, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    assert error_of(iam.reset_service_specific_credential, UserName=name,
                    ServiceSpecificCredentialId=cred_id)[:2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName=name)


def test_service_credentials_authorization_by_service(iam: Any, server: Any,
                                                      new_user: Any) -> None:
    target = unique("sct")
    iam.create_user(UserName=target)
    _, key, secret = new_user({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:CreateServiceSpecificCredential",
        "Resource": f"arn:aws:iam::{server.account_id}:user/{target}",
        "Condition": {"StringEquals": {
            "iam:ServiceSpecificCredentialServiceName": "codecommit.amazonaws.com"}}}]})
    client = server.client("iam", key, secret)
    client.create_service_specific_credential(UserName=target,
                                              ServiceName="codecommit.amazonaws.com")
    assert error_of(client.create_service_specific_credential, UserName=target,
                    ServiceName="cassandra.amazonaws.com")[:2] == ("AccessDenied", 403)
    assert error_of(client.list_service_specific_credentials, UserName=target)[:2] == (
        "AccessDenied", 403)
    for c in iam.list_service_specific_credentials(UserName=target)[
            "ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(
            UserName=target, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    iam.delete_user(UserName=target)


def test_a_user_manages_their_own_ssh_keys(iam: Any, server: Any, new_user: Any) -> None:
    name, key, secret = new_user()
    iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=__import__(
        "json").dumps(allow("iam:ListSSHPublicKeys", "iam:UploadSSHPublicKey",
                            resource=f"arn:aws:iam::{server.account_id}:user/{name}")))
    me = server.client("iam", key, secret)
    me.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=ssh_key()[0])
    assert len(me.list_ssh_public_keys()["SSHPublicKeys"]) == 1
    assert error_of(me.list_ssh_public_keys, UserName=unique("other"))[0] == "AccessDenied"


def test_user_credentials_through_the_cli(iam: Any, server: Any) -> None:
    name = unique("cli")
    iam.create_user(UserName=name)
    body, fingerprint = ssh_key()
    out = server.aws_json("iam", "upload-ssh-public-key", "--user-name", name,
                          "--ssh-public-key-body", body)
    assert out["SSHPublicKey"]["Fingerprint"] == fingerprint
    listed = server.aws_json("iam", "list-ssh-public-keys", "--user-name", name)
    key_id = listed["SSHPublicKeys"][0]["SSHPublicKeyId"]
    server.aws("iam", "delete-ssh-public-key", "--user-name", name, "--ssh-public-key-id",
               key_id)
    cred = server.aws_json("iam", "create-service-specific-credential", "--user-name", name,
                           "--service-name", "codecommit.amazonaws.com")
    cred_id = cred["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    server.aws("iam", "delete-service-specific-credential", "--user-name", name,
               "--service-specific-credential-id", cred_id)
    pem = certificate_pem("cli")
    cert = server.aws_json("iam", "upload-signing-certificate", "--user-name", name,
                           "--certificate-body", pem)
    server.aws("iam", "delete-signing-certificate", "--user-name", name, "--certificate-id",
               cert["Certificate"]["CertificateId"])
    server.aws("iam", "delete-user", "--user-name", name)


def test_terraform_force_destroy_of_a_user(iam: Any, server: Any) -> None:
    """aws_iam_user with force_destroy (the provider's resourceUserDelete): the user holds
    every kind of credential; DeleteUser refuses until the provider's cleanup, in its order,
    has removed them."""
    import time

    import pyotp

    name = unique("tf")
    group = unique("tfg")
    iam.create_user(UserName=name)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=name)
    iam.create_access_key(UserName=name)
    iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=ssh_key()[0])
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    totp = pyotp.TOTP(device["Base32StringSeed"].decode())
    now = time.time()
    iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
    iam.create_login_profile(UserName=name, Password="Correct-Horse-9")
    iam.upload_signing_certificate(UserName=name, CertificateBody=certificate_pem("tf"))
    iam.create_service_specific_credential(UserName=name,
                                           ServiceName="codecommit.amazonaws.com")
    assert error_of(iam.delete_user, UserName=name)[:2] == ("DeleteConflict", 409)

    for g in iam.list_groups_for_user(UserName=name)["Groups"]:
        iam.remove_user_from_group(GroupName=g["GroupName"], UserName=name)
    for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
    for k in iam.list_ssh_public_keys(UserName=name)["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName=name, SSHPublicKeyId=k["SSHPublicKeyId"])
    for page in iam.get_paginator("list_virtual_mfa_devices").paginate(
            AssignmentStatus="Assigned"):
        for d in page["VirtualMFADevices"]:
            if d["User"].get("UserName") == name:
                iam.deactivate_mfa_device(UserName=name, SerialNumber=d["SerialNumber"])
                iam.delete_virtual_mfa_device(SerialNumber=d["SerialNumber"])
    assert iam.list_mfa_devices(UserName=name)["MFADevices"] == []
    iam.delete_login_profile(UserName=name)
    for c in iam.list_signing_certificates(UserName=name)["Certificates"]:
        iam.delete_signing_certificate(UserName=name, CertificateId=c["CertificateId"])
    for c in iam.list_service_specific_credentials(UserName=name)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(
            UserName=name, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
    iam.delete_user(UserName=name)
    assert error_of(iam.get_user, UserName=name)[0] == "NoSuchEntity"
    iam.delete_group(GroupName=group)
