"""CPU per request in the CDK's interpolation (components.py, "CPU per request"; issue 23): a
template's output that cannot be a Python literal is given back without `ast.literal_eval`, with
the CDK's own answer for every string, and what depends on config, slice or response still changes."""

from __future__ import annotations

import ast
from typing import Any, Optional, Tuple

from airbyte_cdk.sources.declarative.interpolation.interpolated_boolean import InterpolatedBoolean
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from source_intercom import components

TYPES: Tuple[Optional[Tuple[type, ...]], ...] = (None, (str,), (int, float), (bool,), (dict, list))


def the_cdks_answer(output: str, valid_types: Any) -> Any:
    """The CDK's _literal_eval, without source_intercom's shortcut."""
    return JinjaInterpolation._literal_eval.__wrapped__(JinjaInterpolation(), output, valid_types)  # type: ignore[attr-defined]


@settings(max_examples=3000, deadline=None)
@given(
    output=st.one_of(
        st.text(),
        st.text(alphabet="/TrueFalsNonsetbBrRuUfF'\"()[]{}:.,+-0123456789 \tjx\\#\n", max_size=12),
        st.from_regex(r"(True|False|None|set|[rRbBuUfF]{1,2}|[a-z]+|/)[ ('\"a-z0-9/]*", fullmatch=True),
    ),
    valid_types=st.sampled_from(TYPES),
)
@example(output="https://api.intercom.io/contacts/abc/tags", valid_types=None)
@example(output="/conversations/123", valid_types=None)
@example(output="dG9rOjEyMw==", valid_types=None)
@example(output="benchmark-token", valid_types=None)
@example(output="Bearer x", valid_types=None)
@example(output="set()", valid_types=None)
@example(output="b'x'", valid_types=None)
@example(output="rb'x'", valid_types=(bytes,))
@example(output="False", valid_types=(bool,))
@example(output="None", valid_types=(str,))
def test_an_output_is_evaluated_as_the_cdk_evaluates_it(output: str, valid_types: Any) -> None:
    interpolation = JinjaInterpolation()
    try:
        expected: Any = the_cdks_answer(output, valid_types)
    except (MemoryError, RecursionError):  # deeply nested brackets: the CDK's own parse gives up
        return
    got = interpolation._literal_eval(output, valid_types)
    assert type(got) is type(expected) and (got == expected or got != got)  # nan != nan


def test_an_output_that_cannot_be_a_literal_is_not_parsed(monkeypatch: Any) -> None:
    parsed = []
    parse = ast.parse
    monkeypatch.setattr(ast, "parse", lambda source, *args, **kwargs: parsed.append(source) or parse(source, *args, **kwargs))
    interpolation = JinjaInterpolation()
    for output in ("https://api.intercom.io/contacts/1/tags", "/conversations/2", "dG9rOjEyMw==", "Bearer x"):
        assert interpolation._literal_eval(output, None) == output
    assert interpolation._literal_eval("[1, 2]", None) == [1, 2]
    assert parsed == ["[1, 2]"]


def test_what_depends_on_config_partition_or_response_is_rendered_on_every_call() -> None:
    token = InterpolatedString.create("{{ config['access_token'] }}", parameters={})
    assert [token.eval({"access_token": t}) for t in ("dG9rOjE=", "b", "dG9rOjE=", "123")] == ["dG9rOjE=", "b", "dG9rOjE=", 123]
    url = InterpolatedString.create("{{ config['base_url'] }}{{ parameters.api_path.format(**(stream_partition or {})) }}", parameters={"api_path": "{path}"})
    assert [url.eval({"base_url": "https://h"}, stream_slice={"path": p}) for p in ("/a/1", "/b/2")] == ["https://h/a/1", "https://h/b/2"]
    unreadable = InterpolatedBoolean("{{ not response }}", parameters={})
    assert [unreadable.eval({}, response=r) for r in ({}, {"a": 1}, {}, {"type": "list"})] == [True, False, True, False]
