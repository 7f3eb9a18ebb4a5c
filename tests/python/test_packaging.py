"""Packaging metadata (issue 20): one version for the three packages, the published file list of
the npm package, and the PyPI metadata. The built artifacts themselves are checked by
tests/packaging/install.sh (from dist/)."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import tomllib
from importlib import metadata

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cargo_version() -> str:
    version = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    assert isinstance(version, str)
    return version


def test_one_version_source() -> None:
    version = _cargo_version()
    for crate in ("core", "bindings-python", "bindings-node"):
        package = tomllib.loads((ROOT / crate / "Cargo.toml").read_text())["package"]
        assert package["version"] == {"workspace": True}, crate
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # The wheel's version comes from the crate (maturin), never from a second literal.
    assert "version" in pyproject["dynamic"] and "version" not in pyproject
    assert metadata.version("ory-iam") == version
    assert json.loads((ROOT / "package.json").read_text())["version"] == version


def test_pypi_metadata() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pyproject["license"] == "Apache-2.0" and pyproject["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert pyproject["readme"] == "README.md"
    classifiers = set(pyproject["classifiers"])
    for minor in range(10, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Framework :: FastAPI" in classifiers
    assert any(r.startswith("opentelemetry-api") for r in pyproject["optional-dependencies"]["otel"])
    installed = metadata.metadata("ory-iam")
    assert installed["License-Expression"] == "Apache-2.0"
    assert "otel" in (installed.get_all("Provides-Extra") or [])


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_pack_ships_exactly_the_loader_typings_and_integrations() -> None:
    # The developer's own build leaves bindings-node/*.node next to the loader: it must never be
    # published (the platform packages carry the addon).
    out = subprocess.run(
        ["npm", "pack", "--dry-run", "--json", "--ignore-scripts"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    files = {f["path"] for f in json.loads(out)[0]["files"]}
    expected = {"package.json", "README.md", "LICENSE", "bindings-node/index.js", "bindings-node/index.d.ts"}
    expected |= {"bindings-node/framework.js", "bindings-node/framework.d.ts"}
    for entry in ("ory-iam", "express", "nestjs", "testing", "otel"):
        expected |= {f"bindings-node/{entry}.{ext}" for ext in ("js", "mjs", "d.ts", "d.mts")}
    assert files == expected
    pkg = json.loads((ROOT / "package.json").read_text())
    assert pkg["engines"]["node"] == ">= 20"
    for subpath, entry in pkg["exports"].items():
        if subpath == "./package.json":
            continue
        for condition, ext, types in (("import", ".mjs", ".d.mts"), ("require", ".js", ".d.ts")):
            target = entry[condition]
            assert target["default"].endswith(ext) and target["types"].endswith(types), subpath
            assert target["default"].removeprefix("./") in files and target["types"].removeprefix("./") in files
