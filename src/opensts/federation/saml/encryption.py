"""Decryption of ``saml:EncryptedAssertion`` (xmlenc-core1, saml-core-2.0-os §2.3.4).

AWS decrypts with the private keys added to the SAML provider and "uses AES-GCM or AES-CBC"
(IAM CreateSAMLProvider, AddPrivateKey). The content key is transported with RSA-OAEP
(``rsa-oaep-mgf1p`` or xmlenc 1.1 ``rsa-oaep``); RSA PKCS#1 v1.5 key transport and 3DES are
refused. The primitives are pyca/cryptography's; this module only reads the XML-Enc structure.

Every failure gives the same message so the outcome reveals nothing about padding or keys.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from opensts.federation.errors import InvalidIdentityToken
from opensts.federation.saml.xmlsafe import NS, make_parser, parse_untrusted, qname, text_of

DECRYPTION_FAILED = "Failed to decrypt the encrypted assertion"

_XENC = NS["xenc"]
_XENC11 = NS["xenc11"]
_CBC = {f"{_XENC}aes128-cbc": 16, f"{_XENC}aes192-cbc": 24, f"{_XENC}aes256-cbc": 32}
_GCM = {f"{_XENC11}aes128-gcm": 16, f"{_XENC11}aes192-gcm": 24, f"{_XENC11}aes256-gcm": 32}
_OAEP_MGF1P = f"{_XENC}rsa-oaep-mgf1p"
_OAEP = f"{_XENC11}rsa-oaep"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
    f"{_XENC}sha256": hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
    f"{_XENC}sha512": hashes.SHA512,
}
_MGFS: dict[str, type[hashes.HashAlgorithm]] = {
    f"{_XENC11}mgf1sha1": hashes.SHA1,
    f"{_XENC11}mgf1sha256": hashes.SHA256,
    f"{_XENC11}mgf1sha384": hashes.SHA384,
    f"{_XENC11}mgf1sha512": hashes.SHA512,
}


def load_private_keys(pems: Sequence[str | bytes]) -> list[rsa.RSAPrivateKey]:
    """Load the provider's PEM private keys; only RSA keys can unwrap XML-Enc content keys."""
    keys: list[rsa.RSAPrivateKey] = []
    for pem in pems:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("SAML decryption keys must be RSA private keys")
        keys.append(key)
    return keys


def decrypt_assertion(
    encrypted: etree._Element,
    keys: Sequence[rsa.RSAPrivateKey],
    context_namespaces: Mapping[str | None, str] | None = None,
) -> etree._Element:
    """Decrypt an ``EncryptedAssertion`` and return the parsed ``saml:Assertion``.

    ``context_namespaces`` are extra prefix declarations in scope where the element was
    encrypted; the element's own ``nsmap`` takes precedence over them.
    """
    data = encrypted.find(qname("xenc", "EncryptedData"))
    if data is None or not keys:
        raise InvalidIdentityToken(DECRYPTION_FAILED)
    method = data.find(qname("xenc", "EncryptionMethod"))
    algorithm = method.get("Algorithm", "") if method is not None else ""
    if algorithm not in _CBC and algorithm not in _GCM:
        raise InvalidIdentityToken(DECRYPTION_FAILED)
    key_size = _CBC.get(algorithm) or _GCM[algorithm]
    ciphertext = _cipher_value(data)

    # The EncryptedKey is either inside EncryptedData/KeyInfo or a sibling in the
    # EncryptedAssertion (saml-core §2.3.4 allows both).
    wrapped_keys = list(encrypted.iter(qname("xenc", "EncryptedKey")))
    plaintext: bytes | None = None
    for wrapped in wrapped_keys:
        for key in keys:
            content_key = _unwrap(wrapped, key)
            if content_key is None or len(content_key) != key_size:
                continue
            plaintext = _decrypt(algorithm, content_key, ciphertext)
            if plaintext is not None:
                break
        if plaintext is not None:
            break
    if plaintext is None:
        raise InvalidIdentityToken(DECRYPTION_FAILED)
    namespaces = dict(context_namespaces or {})
    namespaces.update(encrypted.nsmap)
    return _parse_plaintext(plaintext, namespaces)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidIdentityToken(DECRYPTION_FAILED) from exc


def _cipher_value(element: etree._Element) -> bytes:
    value = element.find(f"{qname('xenc', 'CipherData')}/{qname('xenc', 'CipherValue')}")
    if value is None:
        raise InvalidIdentityToken(DECRYPTION_FAILED)
    return _b64(text_of(value))


def _unwrap(wrapped: etree._Element, key: rsa.RSAPrivateKey) -> bytes | None:
    method = wrapped.find(qname("xenc", "EncryptionMethod"))
    if method is None:
        return None
    algorithm = method.get("Algorithm", "")
    digest_el = method.find(qname("ds", "DigestMethod"))
    digest_cls = _DIGESTS.get(digest_el.get("Algorithm", "")) if digest_el is not None else None
    if algorithm == _OAEP_MGF1P:
        # rsa-oaep-mgf1p always uses MGF1 with SHA-1; DigestMethod defaults to SHA-1.
        mgf_cls: type[hashes.HashAlgorithm] | None = hashes.SHA1
        digest_cls = digest_cls or (hashes.SHA1 if digest_el is None else None)
    elif algorithm == _OAEP:
        mgf_el = method.find(qname("xenc11", "MGF"))
        mgf_cls = _MGFS.get(mgf_el.get("Algorithm", "")) if mgf_el is not None else hashes.SHA1
        digest_cls = digest_cls or (hashes.SHA1 if digest_el is None else None)
    else:
        return None
    if digest_cls is None or mgf_cls is None:
        return None
    params_el = method.find(qname("xenc", "OAEPparams"))
    label = _b64(text_of(params_el)) if params_el is not None else None
    try:
        return key.decrypt(
            _cipher_value(wrapped),
            OAEP(mgf=MGF1(algorithm=mgf_cls()), algorithm=digest_cls(), label=label or None),
        )
    except ValueError:
        return None


def _decrypt(algorithm: str, key: bytes, ciphertext: bytes) -> bytes | None:
    if algorithm in _GCM:
        if len(ciphertext) < 12 + 16:
            return None
        try:
            return AESGCM(key).decrypt(ciphertext[:12], ciphertext[12:], None)
        except Exception:  # cryptography raises InvalidTag; any failure is the same refusal
            return None
    if len(ciphertext) < 32 or len(ciphertext) % 16:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(ciphertext[:16])).decryptor()
    padded = decryptor.update(ciphertext[16:]) + decryptor.finalize()
    # XML-Enc padding (xmlenc-core1 §5.2): only the last octet (the pad length) is defined,
    # so PKCS#7 unpadding, which checks every padding octet, would refuse valid input.
    pad = padded[-1]
    if not 1 <= pad <= 16:
        return None
    return padded[:-pad]


def _parse_plaintext(plaintext: bytes, namespaces: Mapping[str | None, str]) -> etree._Element:
    # The plaintext is an element serialised in the context of the EncryptedAssertion: its
    # prefixes may be declared only on ancestors (xmlsec1 does this), so it is parsed inside a
    # wrapper that re-declares the namespaces in scope there.
    if plaintext.startswith(b"<?xml"):
        end = plaintext.find(b"?>")
        plaintext = plaintext[end + 2 :] if end >= 0 else plaintext
    declarations = "".join(
        f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"'
        for prefix, uri in sorted(namespaces.items(), key=lambda item: item[0] or "")
        if uri
    )
    wrapper = f"<w{declarations}>".encode() + plaintext + b"</w>"
    root = parse_untrusted(wrapper, lambda reason: InvalidIdentityToken(DECRYPTION_FAILED))
    children = [c for c in root if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag != qname("saml", "Assertion"):
        raise InvalidIdentityToken(DECRYPTION_FAILED)
    assertion = children[0]
    # Detach from the wrapper so later signature checks see a stand-alone element.
    return etree.fromstring(etree.tostring(assertion), parser=make_parser())
