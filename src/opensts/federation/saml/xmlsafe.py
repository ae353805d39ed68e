"""Hardened XML parsing for documents that come from outside.

SAML messages and metadata never need a DTD (saml-core-2.0-os §1.3 uses XML Schema only), so a
DOCTYPE is refused outright: that closes XXE, external DTD fetches and entity expansion
("billion laughs") without relying on parser limits alone. The parser itself also resolves
no entities and never touches the network.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "xenc11": "http://www.w3.org/2009/xmlenc11#",
}


def qname(prefix: str, local: str) -> str:
    """Clark notation ``{namespace}local`` for a prefix of :data:`NS`."""
    return f"{{{NS[prefix]}}}{local}"


def make_parser() -> etree.XMLParser:
    """A parser that loads no DTD, resolves no entity and reads nothing from the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=True,
        collect_ids=False,
    )


def parse_untrusted(data: bytes, fail: Callable[[str], Exception]) -> etree._Element:
    """Parse ``data`` into its root element, refusing any DOCTYPE.

    ``fail(reason)`` builds the area's error (InvalidInput for metadata, InvalidIdentityToken for
    responses) so each caller answers with its own AWS error.
    """
    # A cheap early refusal before the parser sees the internal subset at all; the docinfo
    # check below also catches encodings (UTF-16) in which this byte pattern does not appear.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise fail("DTDs and entity declarations are not allowed")
    try:
        tree = etree.ElementTree(etree.fromstring(data, parser=make_parser()))
    except etree.XMLSyntaxError as exc:
        raise fail("the document is not well-formed XML") from exc
    except ValueError as exc:
        raise fail("the document could not be read as XML") from exc
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise fail("DTDs and entity declarations are not allowed")
    return tree.getroot()


def text_of(element: etree._Element | None) -> str:
    """The element's character content with surrounding whitespace removed.

    Joins every text node (``itertext``) so a comment inside a value cannot truncate it; the
    signed trees this module reads have had their comments removed by canonicalisation anyway.
    """
    if element is None:
        return ""
    return "".join(t for t in element.itertext(with_tail=True) if isinstance(t, str)).strip()
