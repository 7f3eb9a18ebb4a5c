"""The typed inputs (ory_iam.inputs) cannot fall behind the core: every TypedDict of an input the
core parses names exactly the fields of its core struct (`_ory_iam._input_keys()`, read from the
structs' serde derive), every core input struct the binding parses has one, and every method of
the async (and so the blocking) API that takes option keywords types them with
`Unpack[<TypedDict>]`. That a wrong key or value type is a mypy error is checked by
`mypy --strict tests/python/typed_usage.py` (its `# type: ignore[...]` lines must be needed).
Needs no servers."""

from __future__ import annotations

import inspect

import pytest

import ory_iam
import ory_iam.sync
from ory_iam import _ory_iam, inputs


def _keys(td: type) -> set[str]:
    return set(td.__required_keys__) | set(td.__optional_keys__)  # type: ignore[attr-defined]


@pytest.mark.parametrize("core_name", sorted(inputs.CORE_INPUTS))
def test_each_typed_input_names_exactly_the_core_fields(core_name: str) -> None:
    core = set(_ory_iam._input_keys()[core_name])
    assert core, f"no fields read for {core_name}"
    typed = _keys(inputs.CORE_INPUTS[core_name])
    assert typed == core, f"{inputs.CORE_INPUTS[core_name].__name__}: missing {sorted(core - typed)}, unknown to the core {sorted(typed - core)}"


def test_every_core_input_has_a_typed_dict() -> None:
    assert set(_ory_iam._input_keys()) == set(inputs.CORE_INPUTS)


def _service_classes(module: object) -> list[type]:
    out = [ory_iam.Iam if module is ory_iam else ory_iam.sync.Iam]
    for name in dir(module):
        v = getattr(module, name)
        if inspect.isclass(v) and name.endswith("Service") and v.__module__ == module.__name__:  # type: ignore[attr-defined]
            out.append(v)
    return out


@pytest.mark.parametrize("module", [ory_iam, ory_iam.sync], ids=["async", "sync"])
def test_every_option_keyword_is_typed(module: object) -> None:
    untyped = []
    checked = 0
    for cls in _service_classes(module):
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            for p in inspect.signature(fn).parameters.values():
                if p.kind is inspect.Parameter.VAR_KEYWORD:
                    checked += 1
                    if not str(p.annotation).startswith("Unpack["):
                        untyped.append(f"{cls.__name__}.{name}(**{p.name}: {p.annotation})")
    assert checked >= 30 and not untyped, untyped


def test_typed_inputs_are_exported() -> None:
    for name in inputs.__all__:
        assert hasattr(inputs, name), name
    for td in inputs.CORE_INPUTS.values():
        assert td.__name__ in inputs.__all__


async def test_an_unknown_key_is_refused_at_run_time_too(iam: ory_iam.Iam) -> None:
    """What mypy refuses statically, the core refuses at run time (before any request)."""
    with pytest.raises(ory_iam.IamValidationError):
        await iam.identity.list_sessions("00000000-0000-0000-0000-000000000000", bogus=1)  # type: ignore[call-arg]
    with pytest.raises(ory_iam.IamValidationError):
        await iam.permission.list(namespace="documents", bogus=1)  # type: ignore[call-arg]
    with pytest.raises(ory_iam.IamValidationError):
        await iam.courier.list(bogus=1)  # type: ignore[call-arg]
