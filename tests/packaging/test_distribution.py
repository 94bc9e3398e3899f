"""The sdist and wheel that ``python -m build`` makes: metadata, licence, contents, long description."""

from __future__ import annotations

import configparser
import email
import email.policy
import importlib
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend from the test venv (no download); the wheel is built from the sdist
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dists(sdist, wheel)


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name), policy=email.policy.compat32)


def test_twine_check_strict_passes(dists: Dists) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists.sdist), str(dists.wheel)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_license_text_is_in_sdist_and_wheel(dists: Dists) -> None:
    license_text = (ROOT / "LICENSE").read_bytes()
    assert b"Apache License" in license_text
    assert b"Version 2.0, January 2004" in license_text
    assert b"END OF TERMS AND CONDITIONS" in license_text  # the full text, not a notice
    with zipfile.ZipFile(dists.wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(name) == license_text
    with tarfile.open(dists.sdist) as archive:
        member = archive.extractfile(f"{dists.sdist.name.removesuffix('.tar.gz')}/LICENSE")
        assert member is not None
        assert member.read() == license_text
    metadata = wheel_metadata(dists.wheel)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["License-File"] == "LICENSE"


def test_wheel_holds_every_module_and_no_tests(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        names = set(archive.namelist())
    package_files = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "otel_ml_logging").rglob("*")
        if path.suffix in {".py", ".pyi", ".typed"} and "__pycache__" not in path.parts
    }
    assert package_files, "no package files found"
    assert package_files <= names, sorted(package_files - names)
    assert not [n for n in names if n.startswith(("tests/", "harness/", "bench/", "examples/", "scripts/"))]
    # the compiled attribute encoder, built for this interpreter (this machine has a C compiler)
    compiled = [n for n in names if re.fullmatch(r"otel_ml_logging/export/_key_values\.[^/]+\.so", n)]
    assert len(compiled) == 1, sorted(names)
    assert not [n for n in names if n.endswith(".c")]


def test_sdist_holds_the_c_source_so_a_build_without_a_wheel_can_compile_it(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as archive:
        names = archive.getnames()
    root = dists.sdist.name.removesuffix(".tar.gz")
    assert f"{root}/otel_ml_logging/export/_key_values.c" in names
    assert f"{root}/otel_ml_logging/export/_key_values.pyi" in names
    assert not [n for n in names if n.endswith(".so")]


def test_wheel_entry_points_match_pyproject_and_resolve(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(name).decode()
    parser = configparser.ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    in_wheel = {group: dict(parser[group]) for group in parser.sections()}
    declared = {**PROJECT.get("entry-points", {}), "console_scripts": PROJECT.get("scripts", {})}
    declared = {group: entries for group, entries in declared.items() if entries}
    assert in_wheel == declared
    for entries in declared.values():
        for target in entries.values():
            module_name, _, attribute = target.partition(":")
            assert getattr(importlib.import_module(module_name), attribute), target


def test_long_description_links_are_absolute_and_point_at_existing_files(dists: Dists) -> None:
    metadata = wheel_metadata(dists.wheel)
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str)
    links = LINK.findall(description)
    assert links, "the long description should link to the documentation"
    homepage = PROJECT["urls"]["Homepage"]
    for url in links:
        assert url.startswith("https://"), f"relative link {url!r} breaks on a package index page"
        if url.startswith(f"{homepage}/blob/main/"):
            path = url.removeprefix(f"{homepage}/blob/main/").partition("#")[0]
            assert (ROOT / path).is_file(), f"{url} names no file of the repository"
    assert "pip install" in description
