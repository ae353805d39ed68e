"""Server certificates through boto3 and the AWS CLI: upload checks (PEM, expiry, key
pair), get/list/paging, rename, tags, quota-free paths, authorization."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .helpers import allow, error_of, unique


def key_and_cert(days: int = 30) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=2))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem_key, cert.public_bytes(serialization.Encoding.PEM).decode()


def test_server_certificate_lifecycle(iam: Any, server: Any) -> None:
    name = unique("srv")
    key, body = key_and_cert()
    _, chain = key_and_cert()
    out = iam.upload_server_certificate(ServerCertificateName=name, Path="/cloudfront/",
                                        CertificateBody=body, PrivateKey=key,
                                        CertificateChain=chain,
                                        Tags=[{"Key": "team", "Value": "web"}])
    meta = out["ServerCertificateMetadata"]
    assert meta["Arn"] == (f"arn:aws:iam::{server.account_id}:server-certificate/cloudfront/"
                           f"{name}")
    assert meta["ServerCertificateId"].startswith("ASCA") and meta["Path"] == "/cloudfront/"
    assert meta["Expiration"] > meta["UploadDate"]
    assert out["Tags"] == [{"Key": "team", "Value": "web"}]
    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"] == body.strip() and got["CertificateChain"] == chain.strip()
    assert "PrivateKey" not in got
    assert error_of(iam.upload_server_certificate, ServerCertificateName=name,
                    CertificateBody=body, PrivateKey=key) == (
        "EntityAlreadyExists", 409, f"The Server Certificate with name {name} already exists.")
    listed = iam.list_server_certificates(PathPrefix="/cloudfront/")[
        "ServerCertificateMetadataList"]
    assert name in [c["ServerCertificateName"] for c in listed]
    renamed = unique("srv2")
    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=renamed,
                                  NewPath="/")
    assert error_of(iam.get_server_certificate, ServerCertificateName=name) == (
        "NoSuchEntity", 404, f"The Server Certificate with name {name} cannot be found.")
    assert iam.get_server_certificate(ServerCertificateName=renamed)["ServerCertificate"][
        "ServerCertificateMetadata"]["Path"] == "/"
    iam.tag_server_certificate(ServerCertificateName=renamed,
                               Tags=[{"Key": "env", "Value": "prod"}])
    assert iam.list_server_certificate_tags(ServerCertificateName=renamed)["Tags"] == [
        {"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "web"}]
    iam.untag_server_certificate(ServerCertificateName=renamed, TagKeys=["team"])
    assert iam.list_server_certificate_tags(ServerCertificateName=renamed)["Tags"] == [
        {"Key": "env", "Value": "prod"}]
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["ServerCertificates"] >= 1 and summary["ServerCertificatesQuota"] == 20
    iam.delete_server_certificate(ServerCertificateName=renamed)
    assert error_of(iam.delete_server_certificate, ServerCertificateName=renamed)[0] == (
        "NoSuchEntity")


def test_server_certificate_upload_checks(iam: Any) -> None:
    key, body = key_and_cert()
    other_key, _ = key_and_cert()
    assert error_of(iam.upload_server_certificate, ServerCertificateName=unique("m"),
                    CertificateBody="garbage", PrivateKey=key) == (
        "MalformedCertificate", 400,
        "The request was rejected because the certificate was malformed or expired.")
    expired_key, expired = key_and_cert(days=-1)
    assert error_of(iam.upload_server_certificate, ServerCertificateName=unique("e"),
                    CertificateBody=expired, PrivateKey=expired_key)[0] == "MalformedCertificate"
    assert error_of(iam.upload_server_certificate, ServerCertificateName=unique("k"),
                    CertificateBody=body, PrivateKey=other_key) == (
        "KeyPairMismatch", 400, "The request was rejected because the public key certificate "
        "and the private key do not match.")
    assert error_of(iam.upload_server_certificate, ServerCertificateName=unique("c"),
                    CertificateBody=body, PrivateKey=key, CertificateChain="junk")[0] == (
        "MalformedCertificate")


def test_server_certificate_paging(iam: Any) -> None:
    prefix = f"/{unique('pg')}/"
    key, body = key_and_cert()
    names = sorted(unique("s") for _ in range(3))
    for n in names:
        iam.upload_server_certificate(ServerCertificateName=n, Path=prefix, CertificateBody=body,
                                      PrivateKey=key)
    first = iam.list_server_certificates(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] and len(first["ServerCertificateMetadataList"]) == 2
    rest = iam.list_server_certificates(PathPrefix=prefix, Marker=first["Marker"])
    got = [c["ServerCertificateName"] for c in first["ServerCertificateMetadataList"]
           + rest["ServerCertificateMetadataList"]]
    assert got == names and not rest["IsTruncated"]
    for n in names:
        iam.delete_server_certificate(ServerCertificateName=n)


def test_server_certificate_authorization(iam: Any, server: Any, new_user: Any) -> None:
    acct = server.account_id
    _, key_id, secret = new_user(allow(
        "iam:UploadServerCertificate", "iam:GetServerCertificate",
        "iam:UpdateServerCertificate",
        resource=f"arn:aws:iam::{acct}:server-certificate/mine/*"))
    client = server.client("iam", key_id, secret)
    key, body = key_and_cert()
    name = unique("az")
    assert error_of(client.upload_server_certificate, ServerCertificateName=name,
                    CertificateBody=body, PrivateKey=key)[:2] == ("AccessDenied", 403)
    client.upload_server_certificate(ServerCertificateName=name, Path="/mine/",
                                     CertificateBody=body, PrivateKey=key)
    assert error_of(client.list_server_certificates)[:2] == ("AccessDenied", 403)
    # a rename out of the allowed path needs the action on the new ARN too
    assert error_of(client.update_server_certificate, ServerCertificateName=name,
                    NewPath="/theirs/")[:2] == ("AccessDenied", 403)
    # the private key never reaches the audit record
    events = [e for e in server.audit_events() if e["eventName"] == "UploadServerCertificate"]
    assert events and all("BEGIN PRIVATE KEY" not in str(e) for e in events)
    iam.delete_server_certificate(ServerCertificateName=name)


def test_server_certificates_through_the_cli(server: Any, tmp_path: Any) -> None:
    key, body = key_and_cert()
    (tmp_path / "cert.pem").write_text(body)
    (tmp_path / "key.pem").write_text(key)
    name = unique("cli")
    out = server.aws_json("iam", "upload-server-certificate", "--server-certificate-name", name,
                          "--certificate-body", f"file://{tmp_path / 'cert.pem'}",
                          "--private-key", f"file://{tmp_path / 'key.pem'}")
    assert out["ServerCertificateMetadata"]["ServerCertificateName"] == name
    listed = server.aws_json("iam", "list-server-certificates")["ServerCertificateMetadataList"]
    assert name in [c["ServerCertificateName"] for c in listed]
    server.aws("iam", "delete-server-certificate", "--server-certificate-name", name)
