"""Fixtures for the Python tests: the real Ory stack from tests/stack (run `tests/stack/up`)."""

from __future__ import annotations

import json
import os
import pathlib
import uuid
from typing import Any

import pytest

import ory_iam

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _stack() -> dict[str, Any]:
    path = pathlib.Path(os.environ.get("ORY_IAM_STACK", ROOT / ".stack" / "stack.json"))
    if not path.exists():
        raise RuntimeError(f"the tests need the local Ory stack: run tests/stack/up first ({path} missing)")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    return _stack()


@pytest.fixture(scope="session")
def iam_config(stack: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(stack["iam_config"]))


@pytest.fixture(scope="session")
def iam(iam_config: dict[str, Any]) -> ory_iam.Iam:
    return ory_iam.Iam.from_config(iam_config)


@pytest.fixture
def email() -> str:
    return f"py-{uuid.uuid4().hex}@example.test"


@pytest.fixture(scope="session")
def scenarios() -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "scenarios" / "identity_errors.json").read_text())
