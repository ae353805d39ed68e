"""S3's XML bodies for tagging, Block Public Access, policy status, ListBuckets and location."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from lxml import etree

from opensts.directory.records import Bucket, PublicAccessBlock, Tag
from opensts.s3 import bucket_xml as bx
from opensts.s3.errors import S3Error

NS = bx.NAMESPACE


def tagging(*pairs: tuple[str, str], ns: bool = True) -> bytes:
    xmlns = f' xmlns="{NS}"' if ns else ""
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f"<Tagging{xmlns}><TagSet>{tags}</TagSet></Tagging>".encode()


def code_of(body: bytes, parse=bx.parse_tagging) -> tuple[str, str, dict[str, str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(S3Error) as caught:
        parse(body)
    assert caught.value.status == 400
    return caught.value.code, caught.value.message, caught.value.fields


# -- tagging -----------------------------------------------------------------------------


def test_tagging_as_boto3_sends_it() -> None:
    # botocore's serialisation of put_bucket_tagging(Tagging={"TagSet": [...]})
    body = (b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag>'
            b'<Key>team</Key><Value>data</Value></Tag><Tag><Key>Cost Center</Key>'
            b'<Value></Value></Tag></TagSet></Tagging>')
    assert bx.parse_tagging(body) == (Tag("team", "data"), Tag("Cost Center", ""))


def test_tagging_without_namespace_declaration_and_entities() -> None:
    body = tagging(("k", "a&#233;b"), ns=False)
    assert bx.parse_tagging(body) == (Tag("k", "a\u00e9b"),)
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + tagging(("k", "v=1+2/3@x.y:z_"))
    assert bx.parse_tagging(body) == (Tag("k", "v=1+2/3@x.y:z_"),)
    assert bx.parse_tagging(tagging(("ünï", "çø"))) == (Tag("ünï", "çø"),)
    assert bx.parse_tagging(tagging(("k", "<!--c-->v"))) == (Tag("k", "v"),)
    assert bx.parse_tagging(tagging(("k", " spaced "))) == (Tag("k", " spaced "),)
    assert bx.parse_tagging(tagging()) == ()


def test_tag_rules() -> None:
    assert code_of(tagging(("", "v")))[:2] == ("InvalidTag",
                                              "The TagKey you have provided is invalid")
    assert code_of(tagging(("k" * 129, "v")))[0] == "InvalidTag"
    assert bx.parse_tagging(tagging(("k" * 128, "v" * 256)))
    code, message, fields = code_of(tagging(("k", "v" * 257)))
    assert (code, message) == ("InvalidTag", "The TagValue you have provided is invalid")
    assert fields == {"TagKey": "k", "TagValue": "v" * 257}
    code, message, fields = code_of(tagging(("k", "inv&amp;alid")))
    assert message == "The TagValue you have provided is invalid"
    assert fields["TagValue"] == "inv&alid"
    assert code_of(tagging(("a#b", "v")))[1] == "The TagKey you have provided is invalid"
    code, message, fields = code_of(tagging(("dup", "1"), ("dup", "2")))
    assert message == "Cannot provide multiple Tags with the same key"
    assert fields == {"TagKey": "dup"}
    assert code_of(tagging(("aws:cloudformation:stack", "x")))[1] == (
        "Your TagKey cannot be prefixed with aws:")
    assert code_of(tagging(("AWS:x", "x")))[1] == "Your TagKey cannot be prefixed with aws:"
    fifty = [(f"k{i}", "v") for i in range(50)]
    assert len(bx.parse_tagging(tagging(*fifty))) == 50
    assert code_of(tagging(*fifty, ("k50", "v")))[0] == "InvalidTag"


def test_a_bad_tag_is_reported_before_the_count() -> None:
    many = [(f"k{i}", "v") for i in range(60)] + [("bad#", "v")]
    assert code_of(tagging(*many))[1] == "The TagKey you have provided is invalid"


@pytest.mark.parametrize("body", [
    b"", b"   ", b"not xml", b"<Tagging>", b"<Tagging><TagSet></Tagging>",
    b"<Other/>",
    b"<Tagging/>",  # no TagSet
    b"<Tagging><TagSet/><TagSet/></Tagging>",
    b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",  # no Value
    b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",  # no Key
    b"<Tagging><TagSet><Tag><Key>k</Key><Key>j</Key><Value>v</Value></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value><Extra/></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet><Tag><Key><b>k</b></Key><Value>v</Value></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet>text<Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>",
    b'<Tagging xmlns="urn:other"><TagSet/></Tagging>',
    b'<Tagging xmlns:o="urn:o"><TagSet><o:Tag/></TagSet></Tagging>',
    b'<!DOCTYPE Tagging [<!ENTITY x "y">]><Tagging><TagSet/></Tagging>',
    b'<?xml version="1.0"?><!DOCTYPE Tagging SYSTEM "http://127.0.0.1:9/x.dtd"><Tagging/>',
    b"<Tagging><TagSet><Tag><Key>&x;</Key><Value>v</Value></Tag></TagSet></Tagging>",
    b"<Tagging><TagSet/></Tagging>" + b" " * bx.MAX_BODY_BYTES,
])
def test_malformed_tagging(body: bytes) -> None:
    code, message, _ = code_of(body)
    assert code == "MalformedXML"
    assert message.startswith("The XML you provided was not well-formed")


def test_billion_laughs_is_refused_fast() -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(b'<!ENTITY %c "&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;&%c;">'
                       % ((98 + i,) + (97 + i,) * 10) for i in range(9))
            + b']><Tagging><TagSet><Tag><Key>&j;</Key><Value>v</Value></Tag></TagSet></Tagging>')
    assert code_of(body)[0] == "MalformedXML"


def test_render_tagging_round_trips_and_escapes() -> None:
    tags = (Tag("a<b", "x&y"), Tag("k", ""))
    body = bx.render_tagging(tags)
    root = etree.fromstring(body)
    assert root.tag == f"{{{NS}}}Tagging"
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    pairs = [(t.findtext(f"{{{NS}}}Key"), t.findtext(f"{{{NS}}}Value"))
             for t in root.iter(f"{{{NS}}}Tag")]
    assert pairs == [("a<b", "x&y"), ("k", "")]


# -- Public Access Block ---------------------------------------------------------------------


def test_public_access_block_as_boto3_sends_it() -> None:
    body = (b'<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls>"
            b"<BlockPublicPolicy>true</BlockPublicPolicy>"
            b"<RestrictPublicBuckets>false</RestrictPublicBuckets>"
            b"</PublicAccessBlockConfiguration>")
    assert bx.parse_public_access_block(body) == PublicAccessBlock(True, False, True, False)


def test_omitted_settings_are_off() -> None:
    body = b"<PublicAccessBlockConfiguration><BlockPublicPolicy>true</BlockPublicPolicy>" \
           b"</PublicAccessBlockConfiguration>"
    assert bx.parse_public_access_block(body) == PublicAccessBlock(False, False, True, False)
    assert bx.parse_public_access_block(b"<PublicAccessBlockConfiguration/>") == (
        PublicAccessBlock.all_off())


@pytest.mark.parametrize("body", [
    b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls>"
    b"</PublicAccessBlockConfiguration>",
    b"<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
    b"<BlockPublicAcls>false</BlockPublicAcls></PublicAccessBlockConfiguration>",
    b"<PublicAccessBlockConfiguration><Unknown>true</Unknown></PublicAccessBlockConfiguration>",
    b"<PublicAccessBlock/>", b"",
])
def test_malformed_public_access_block(body: bytes) -> None:
    assert code_of(body, bx.parse_public_access_block)[0] == "MalformedXML"


def test_render_public_access_block_round_trips() -> None:
    pab = PublicAccessBlock(True, False, False, True)
    body = bx.render_public_access_block(pab)
    assert b"<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false" in body
    assert bx.parse_public_access_block(body) == pab


def test_policy_status() -> None:
    root = etree.fromstring(bx.render_policy_status(True))
    assert root.tag == f"{{{NS}}}PolicyStatus"
    assert root.findtext(f"{{{NS}}}IsPublic") == "true"
    assert b"<IsPublic>false</IsPublic>" in bx.render_policy_status(False)


# -- ListBuckets --------------------------------------------------------------------------------


def test_timestamps_are_s3s_form() -> None:
    moment = datetime(2026, 12, 4, 1, 2, 3, 456789, tzinfo=UTC)
    assert bx.s3_timestamp(moment) == "2026-12-04T01:02:03.456Z"
    assert bx.s3_timestamp(datetime(2026, 12, 4, 1, 2, 3, tzinfo=UTC)) == (
        "2026-12-04T01:02:03.000Z")
    plus2 = datetime(2026, 12, 4, 3, 2, 3, tzinfo=timezone(timedelta(hours=2)))
    assert bx.s3_timestamp(plus2) == "2026-12-04T01:02:03.000Z"


def test_list_buckets() -> None:
    created = datetime(2026, 12, 4, 1, 2, 3, tzinfo=UTC)
    buckets = [Bucket("alpha", "111122223333", "us-east-1", created),
               Bucket("beta", "111122223333", "eu-west-1", created)]
    owner = bx.canonical_user_id("111122223333")
    assert len(owner) == 64 and int(owner, 16) >= 0
    assert owner != bx.canonical_user_id("444455556666")
    body = bx.render_list_buckets(buckets, owner_id=owner, display_name="main")
    root = etree.fromstring(body)
    assert root.tag == f"{{{NS}}}ListAllMyBucketsResult"
    assert root.findtext(f"{{{NS}}}Owner/{{{NS}}}ID") == owner
    assert root.findtext(f"{{{NS}}}Owner/{{{NS}}}DisplayName") == "main"
    got = [(b.findtext(f"{{{NS}}}Name"), b.findtext(f"{{{NS}}}CreationDate"),
            b.findtext(f"{{{NS}}}BucketRegion"))
           for b in root.iter(f"{{{NS}}}Bucket")]
    assert got == [("alpha", "2026-12-04T01:02:03.000Z", "us-east-1"),
                   ("beta", "2026-12-04T01:02:03.000Z", "eu-west-1")]
    bare = bx.render_list_buckets([], owner_id=owner, with_region=False)
    assert b"DisplayName" not in bare and b"<Buckets></Buckets>" in bare


def test_list_buckets_parses_with_botocore() -> None:
    # The real client's parser reads what we render (botocore is a test dependency).
    import botocore.session
    from botocore.parsers import RestXMLParser

    model = botocore.session.get_session().get_service_model("s3")
    op = model.operation_model("ListBuckets")
    created = datetime(2026, 12, 4, 1, 2, 3, tzinfo=UTC)
    body = bx.render_list_buckets([Bucket("alpha", "111122223333", "eu-west-1", created)],
                                  owner_id="ab" * 32, display_name="main")
    parsed = RestXMLParser().parse({"status_code": 200, "headers": {}, "body": body},
                                   op.output_shape)
    assert parsed["Buckets"][0]["Name"] == "alpha"
    assert parsed["Buckets"][0]["CreationDate"] == created
    assert parsed["Buckets"][0]["BucketRegion"] == "eu-west-1"
    assert parsed["Owner"] == {"ID": "ab" * 32, "DisplayName": "main"}
    status = RestXMLParser().parse(
        {"status_code": 200, "headers": {}, "body": bx.render_policy_status(True)},
        model.operation_model("GetBucketPolicyStatus").output_shape)
    assert status["PolicyStatus"] == {"IsPublic": True}
    pab = RestXMLParser().parse(
        {"status_code": 200, "headers": {},
         "body": bx.render_public_access_block(PublicAccessBlock(True, False, True, False))},
        model.operation_model("GetPublicAccessBlock").output_shape)
    assert pab["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": False}
    tags = RestXMLParser().parse(
        {"status_code": 200, "headers": {}, "body": bx.render_tagging((Tag("a", "b"),))},
        model.operation_model("GetBucketTagging").output_shape)
    assert tags["TagSet"] == [{"Key": "a", "Value": "b"}]


def test_botocore_request_bodies_parse() -> None:
    # What botocore serialises for the Put operations, read back by our parsers.
    import botocore.session
    from botocore.serialize import RestXMLSerializer

    model = botocore.session.get_session().get_service_model("s3")

    def body(op: str, params: dict) -> bytes:  # type: ignore[type-arg]
        serialized = RestXMLSerializer().serialize_to_request(
            params, model.operation_model(op))
        return serialized["body"]  # type: ignore[no-any-return]

    assert bx.parse_tagging(body("PutBucketTagging", {
        "Bucket": "b", "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}})) == (Tag("k", "v"),)
    assert bx.parse_public_access_block(body("PutPublicAccessBlock", {
        "Bucket": "b", "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True, "RestrictPublicBuckets": True}})) == (
        PublicAccessBlock(True, False, False, True))
    config = bx.parse_create_bucket_configuration(body("CreateBucket", {
        "Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}))
    assert config == bx.CreateBucketConfiguration("eu-west-1")


# -- CreateBucket and GetBucketLocation --------------------------------------------------------


def test_create_bucket_configuration() -> None:
    parse = bx.parse_create_bucket_configuration
    assert parse(b"") == bx.CreateBucketConfiguration(None)
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>")
    assert parse(body) == bx.CreateBucketConfiguration("eu-west-1")
    assert parse(b"<CreateBucketConfiguration/>") == bx.CreateBucketConfiguration(None)
    assert parse(b"<CreateBucketConfiguration><LocationConstraint/>"
                 b"</CreateBucketConfiguration>").location_constraint is None
    with_tags = (b"<CreateBucketConfiguration><LocationConstraint>eu-west-1"
                 b"</LocationConstraint><Tags><Tag><Key>a</Key><Value>b</Value></Tag></Tags>"
                 b"</CreateBucketConfiguration>")
    assert parse(with_tags) == bx.CreateBucketConfiguration("eu-west-1", (Tag("a", "b"),))
    bad_tags = with_tags.replace(b"<Key>a</Key>", b"<Key>aws:a</Key>")
    assert code_of(bad_tags, parse)[0] == "InvalidTag"
    for bad in (b"<CreateBucketConfiguration><Region>x</Region></CreateBucketConfiguration>",
                b"<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
                b"<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
                b"<CreateBucket/>", b"<CreateBucketConfiguration>"):
        assert code_of(bad, parse)[0] == "MalformedXML"


def test_location() -> None:
    empty = etree.fromstring(bx.render_location("us-east-1"))
    assert empty.tag == f"{{{NS}}}LocationConstraint" and empty.text is None
    assert etree.fromstring(bx.render_location("eu-west-1")).text == "eu-west-1"
    error = bx.invalid_location_constraint()
    assert (error.code, error.status) == ("InvalidLocationConstraint", 400)
