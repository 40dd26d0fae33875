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


@settings(max_examples=500, deadline=None)
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


def test_a_template_keeps_the_environments_globals_as_a_dict_with_the_same_macros() -> None:
    from airbyte_cdk.sources.declarative.interpolation import jinja

    environment = jinja._ENVIRONMENT
    template_globals = environment.make_globals({"only_here": 1})
    assert type(template_globals) is dict
    assert template_globals == {**environment.globals, "only_here": 1} and "only_here" not in environment.globals
    assert InterpolatedString.create("{{ max(2, 3) }} {{ 'a' ~ config['x'] }}", parameters={}).eval({"x": "b"}) == "3 ab"


def test_jinja_without_chainmap_globals_keeps_its_own(monkeypatch: Any, caplog: Any) -> None:
    import logging

    from airbyte_cdk.sources.declarative.interpolation import jinja

    def later_jinjas(template_globals: Any) -> Any:  # a later Jinja: already a dict, or something else again
        return dict(template_globals or {})

    monkeypatch.setattr(jinja._ENVIRONMENT, "make_globals", later_jinjas)
    monkeypatch.setattr(components, "_RELIANCES_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        for _ in range(2):
            components.cdk_reliance("templates' globals as a dict", components._template_globals_as_dicts)
    assert jinja._ENVIRONMENT.make_globals is later_jinjas
    assert [r.getMessage() for r in caplog.records if "could not apply" in r.getMessage()] == [
        "source-intercom could not apply templates' globals as a dict on this airbyte-cdk (AssertionError: ); the sync goes on with the CDK's own behaviour."
    ]
