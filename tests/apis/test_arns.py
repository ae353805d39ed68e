"""execute-api ARNs, ARN templates and why a path parameter cannot forge ARN structure."""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from opensts.apis.arns import (
    escape_path,
    escape_value,
    execute_api_arn,
    expand_shorthand,
    mask_account,
    render,
    template_names,
)


def test_execute_api_arn_has_the_path_without_its_leading_slash() -> None:
    assert execute_api_arn("us-east-1", "111122223333", "a1", "prod", "GET", ["pets", "1"]) == (
        "arn:aws:execute-api:us-east-1:111122223333:a1/prod/GET/pets/1")
    assert execute_api_arn("us-west-2", "111122223333", "a1", "api", "GET", []) == (
        "arn:aws:execute-api:us-west-2:111122223333:a1/api/GET/")
    assert execute_api_arn("us-east-1", "1", "a", "s", "GET", ["x y", "*"]).endswith(
        "/GET/x%20y/%2A")


@given(st.text())
def test_an_escaped_value_is_one_inert_arn_piece(value: str) -> None:
    escaped = escape_value(value)
    assert not set(escaped) & set("/:*?${}\"\\ \t\n")
    assert unquote(escaped, errors="surrogatepass") == value


def test_escape_keeps_plain_text_and_paths_keep_their_slashes() -> None:
    assert escape_value("order-42_x.y~") == "order-42_x.y~"
    assert escape_value("a/b:c*d?e$f{g}h%i") == "a%2Fb%3Ac%2Ad%3Fe%24f%7Bg%7Dh%25i"
    assert escape_value("é") == "%C3%A9"
    assert escape_path(["a", "b/c", ""]) == "a/b%2Fc/"


def test_render_and_names() -> None:
    template = "arn:aws:orders:{region}:{account}:team/{team}/order/{id}"
    assert template_names(template) == ["region", "account", "team", "id"]
    assert render(template, {"region": "eu-west-1", "account": "111122223333",
                             "team": "red", "id": "42"}) == (
        "arn:aws:orders:eu-west-1:111122223333:team/red/order/42")


def test_mask_account_as_api_gateway_shows_it() -> None:
    assert mask_account("arn:aws:execute-api:us-west-2:123456782543:vd2gh6uqw3/api/GET/") == (
        "arn:aws:execute-api:us-west-2:********2543:vd2gh6uqw3/api/GET/")
    assert mask_account("arn:aws:s3:::bucket/key") == "arn:aws:s3:::bucket/key"
    assert mask_account("*") == "*"


def test_resource_policy_shorthand() -> None:
    assert expand_shorthand("execute-api:/*/GET/x", "eu-west-1", "111122223333", "abc") == (
        "arn:aws:execute-api:eu-west-1:111122223333:abc/*/GET/x")
    assert expand_shorthand("arn:aws:orders:::x", "r", "a", "i") == "arn:aws:orders:::x"
