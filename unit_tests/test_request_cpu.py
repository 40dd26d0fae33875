"""CPU per HTTP request (components.py, "CPU per request"; issue 23): a template that is a config
lookup alone is answered from the config of each call without Jinja, with the CDK's answer for
every value, and a protocol's members are collected once while every isinstance() still looks at
the instance it is given."""

from __future__ import annotations

import sys
import typing
from typing import Any, Protocol, runtime_checkable

import pytest
import requests
from airbyte_cdk.sources.declarative.auth.token import BearerAuthenticator
from airbyte_cdk.sources.declarative.auth.token_provider import InterpolatedStringTokenProvider
from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from source_intercom import components

TOKEN = "{{ config['access_token'] }}"


def the_cdks_answer(template: str, config: Any, valid_types: Any = None, **context: Any) -> Any:
    """The CDK's JinjaInterpolation.eval, without source_intercom's shortcuts."""
    return JinjaInterpolation.eval.__wrapped__(JinjaInterpolation(), template, config, None, valid_types, **context)  # type: ignore[attr-defined]


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list:
    """The templates Jinja renders from now on."""
    rendered: list = []
    render = JinjaInterpolation._eval
    monkeypatch.setattr(JinjaInterpolation, "_eval", lambda self, s, context: rendered.append(s) or render(self, s, context))
    return rendered


def test_a_new_token_in_the_config_gives_the_new_authorization_header_without_jinja(renders: list) -> None:
    config = {"access_token": "dG9rOjE="}
    authenticator = BearerAuthenticator(InterpolatedStringTokenProvider(config=config, api_token=TOKEN, parameters={}), config=config, parameters={})
    assert authenticator.get_auth_header() == {"Authorization": "Bearer dG9rOjE="}
    config["access_token"] = "dG9rOjI="
    assert authenticator.get_auth_header() == {"Authorization": "Bearer dG9rOjI="}
    prepared = requests.Request("GET", "https://api.intercom.io/me", auth=authenticator).prepare()
    assert prepared.headers["Authorization"] == "Bearer dG9rOjI="
    assert renders == []


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(["access_token", "base_url", "missing"]),
    value=st.one_of(st.text(), st.from_regex(r"(True|None|[0-9.]+|\[1\]|b'x'|/x|tok_[a-z]+)", fullmatch=True), st.integers(), st.none(), st.booleans()),
    template=st.sampled_from([TOKEN, '{{ config["access_token"] }}', "{{config['access_token']}}", "{{  config[ 'base_url' ]  }}"]),
    valid_types=st.sampled_from([None, (str,), (int, float), (bool,)]),
)
@example(key="access_token", value="123", template=TOKEN, valid_types=None)
@example(key="access_token", value="", template=TOKEN, valid_types=None)
@example(key="access_token", value="False", template=TOKEN, valid_types=(str,))
def test_a_config_lookup_evaluates_as_the_cdk_evaluates_it(key: str, value: Any, template: str, valid_types: Any) -> None:
    config = {key: value}
    got = JinjaInterpolation().eval(template, config, valid_types=valid_types)
    expected = the_cdks_answer(template, config, valid_types)
    assert type(got) is type(expected) and got == expected


@pytest.mark.parametrize(
    "template, config, context",
    [
        ("{{ config['access_token'] }}x", {"access_token": "a"}, {}),  # more than the lookup
        ("{{ config.access_token }}", {"access_token": "a"}, {}),  # an attribute: Jinja asks the dict's attributes first
        (TOKEN, {"access_token": 5}, {}),  # not a string
        (TOKEN, {"access_token": ""}, {}),  # empty: the CDK's default applies
        (TOKEN, {}, {}),  # missing
        (TOKEN, {"access_token": "a"}, {"config": {"access_token": "b"}}),  # the context's own config
        ("{{ config['stream_state'] }}", {"stream_state": "a"}, {}),  # a name the CDK refuses in a template
    ],
)
def test_what_is_not_a_plain_lookup_of_a_string_is_rendered_by_the_cdk(template: str, config: Any, context: Any) -> None:
    assert components.config_value_of_a_lookup(template, config, context) is None


def test_a_config_lookup_of_a_string_is_not_rendered(renders: list) -> None:
    interpolation = JinjaInterpolation()
    assert [interpolation.eval(TOKEN, {"access_token": t}) for t in ("a", "b", "123")] == ["a", "b", 123]
    assert renders == []
    assert interpolation.eval(TOKEN, {"access_token": 7}) == 7 and renders == [TOKEN]


@runtime_checkable
class Answers(Protocol):
    def answer(self) -> int: ...


class Plain:
    pass


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12 collects a protocol's members once itself")
def test_a_protocols_members_are_collected_once_and_each_instance_is_still_looked_at(monkeypatch: pytest.MonkeyPatch) -> None:
    collect = typing._get_protocol_attrs.__wrapped__  # type: ignore[attr-defined]
    collected: list = []
    monkeypatch.setattr(typing, "_get_protocol_attrs", components._members_kept_per_protocol(lambda cls: collected.append(cls) or collect(cls)))
    collected.clear()  # the check of what it relies on
    instance = Plain()
    assert not isinstance(instance, Answers)
    instance.answer = lambda: 1  # type: ignore[attr-defined]
    assert isinstance(instance, Answers)
    instance.answer = None  # type: ignore[attr-defined]  # a method set to None: not the protocol's
    assert not isinstance(instance, Answers)
    assert isinstance({}, typing.SupportsIndex) is False and isinstance(3, typing.SupportsIndex)
    assert collected.count(Answers) == 1 and collected.count(typing.SupportsIndex) == 1
    attrs = typing._get_protocol_attrs(Answers)
    attrs.add("changed by a caller")
    assert typing._get_protocol_attrs(Answers) == {"answer"}


def test_requests_and_the_cdk_see_the_same_protocols(monkeypatch: pytest.MonkeyPatch) -> None:
    from airbyte_cdk.sources.streams.http.requests_native_auth.protocols import ResponseAwareAuthenticator

    class Aware:
        def update_from_response(self, request: Any, response: Any) -> None: ...

    assert isinstance(Aware(), ResponseAwareAuthenticator) and not isinstance(Plain(), ResponseAwareAuthenticator)
    assert requests.Request("GET", "https://h/x", params={"page": 2}).prepare().url == "https://h/x?page=2"



def http_clients_own(head: bytes) -> Any:
    """http.client's parse_headers, without source_intercom's shortcut."""
    import http.client
    import io

    return http.client.parse_headers.__wrapped__(io.BytesIO(head))  # type: ignore[attr-defined]


def described(message: Any) -> dict:
    """A message's fields, its defects by kind and the messages it holds (message/*, multipart/*) described the same."""
    payload = message._payload
    return {**vars(message), "defects": [type(d) for d in message.defects], "_payload": [described(m) for m in payload] if isinstance(payload, list) else payload}


HEAD_LINE = st.one_of(
    st.from_regex(rb"[A-Za-z-]{1,12}:[ \t]{0,2}[ -~\x80-\xff]{0,20}\r?\n", fullmatch=True),
    st.from_regex(rb"(Content-Type|content-type): ?(application/json|multipart/mixed; boundary=x|message/rfc822|text/plain)\r\n", fullmatch=True),
    st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"") + b"\r\n"),  # anything else on one line
    st.sampled_from([b" continued\r\n", b"\tcontinued\r\n", b"From someone\r\n", b":no name\r\n", b"No-Colon\r\n", b"A: b\rc\r\n", b"A :b\r\n"]),
)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(HEAD_LINE, max_size=8), end=st.sampled_from([b"\r\n", b"\n", b""]), body=st.sampled_from([b"", b"{}"]))
@example(lines=[b"Content-Type: application/json; charset=utf-8\r\n", b"X-RateLimit-Remaining: 1665\r\n"], end=b"\r\n", body=b"{}")
@example(lines=[b"Content-Type: Multipart/form-data; boundary=b\r\n"], end=b"\r\n", body=b"")
@example(lines=[b"X-A:  b \t\r\n", b"x-a: c\n"], end=b"\n", body=b"")
def test_an_answers_head_is_read_as_http_client_reads_it(lines: list, end: bytes, body: bytes) -> None:
    import http.client
    import io

    head = b"".join(lines) + end + body
    try:
        expected = described(http_clients_own(head))
    except http.client.HTTPException as error:  # too long: http.client's own reading raises the same
        with pytest.raises(type(error)):
            http.client.parse_headers(io.BytesIO(head))
        return
    got = http.client.parse_headers(io.BytesIO(head))
    assert described(got) == expected and type(got) is http.client.HTTPMessage


def test_a_plain_head_is_read_without_the_email_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    import email.parser
    import http.client
    import io

    parsed: list = []
    monkeypatch.setattr(email.parser.Parser, "parsestr", lambda self, text, headersonly=False: parsed.append(text))
    message = http.client.parse_headers(io.BytesIO(b"Content-Type: application/json\r\nX-RateLimit-Remaining: 1665\r\n\r\n{}"))
    assert message["x-ratelimit-remaining"] == "1665" and message.get_content_type() == "application/json" and parsed == []
    http.client.parse_headers(io.BytesIO(b"X-Folded: a\r\n b\r\n\r\n"))
    assert parsed == ["X-Folded: a\r\n b\r\n\r\n"]
