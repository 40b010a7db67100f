"""environment.yml (conda, Binder) must ask for the same packages as pyproject.toml (pip)."""

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# pip name -> conda-forge name, where they differ.
CONDA_NAMES = {"matplotlib": "matplotlib-base"}
# Conda entries with no counterpart among the pip requirements.
CONDA_ONLY = {"python", "pip"}

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def split_requirement(spec: str) -> tuple[str, str]:
    """Split ``"Pandas >= 2.1"`` into a normalised name and a specifier: ``("pandas", ">=2.1")``."""
    match = _REQUIREMENT.match(spec)
    if match is None:
        raise ValueError(f"expected a requirement like 'name>=1.0', found {spec!r}")
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    return name, re.sub(r"\s+", "", match.group(2))


def read_environment(text: str) -> tuple[list[str], list[str]]:
    """Return the conda and the pip dependencies of an environment.yml.

    Reads only the shape environment.yml uses (block lists, one ``- pip:`` sub-list), so that
    the test needs no YAML library.
    """
    conda: list[str] = []
    pip: list[str] = []
    in_dependencies = False
    pip_indent: int | None = None
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            in_dependencies = line == "dependencies:"
            pip_indent = None
            continue
        item = line.strip()
        if not in_dependencies or not item.startswith("- "):
            continue
        value = item[2:].strip()
        if pip_indent is not None and indent > pip_indent:
            pip.append(value)
            continue
        pip_indent = None
        if value == "pip:":
            pip_indent = indent
        else:
            conda.append(value)
    return conda, pip


def dependency_drift(pyproject: dict[str, Any], conda_specs: list[str]) -> list[str]:
    """Describe each difference between pyproject's requirements and the conda ones.

    Runtime dependencies and every extra count; names are compared after mapping pip names to
    conda names, and version specifiers must be equal.
    """
    project = pyproject["project"]
    pip_specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        pip_specs.extend(extra)
    expected: dict[str, str] = {}
    for spec in pip_specs:
        name, specifier = split_requirement(spec)
        expected[CONDA_NAMES.get(name, name)] = specifier
    found = dict(split_requirement(spec) for spec in conda_specs)
    for name in CONDA_ONLY:
        found.pop(name, None)

    problems = [
        f"{name}: required by pyproject.toml, missing from environment.yml"
        for name in sorted(expected.keys() - found.keys())
    ]
    problems += [
        f"{name}: in environment.yml, missing from pyproject.toml"
        for name in sorted(found.keys() - expected.keys())
    ]
    problems += [
        f"{name}: pyproject.toml asks for {expected[name]!r}, environment.yml for {found[name]!r}"
        for name in sorted(expected.keys() & found.keys())
        if expected[name] != found[name]
    ]
    return problems


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_environment_yml_asks_for_the_same_packages_as_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    conda, _ = read_environment((ROOT / "environment.yml").read_text(encoding="utf-8"))

    assert dependency_drift(pyproject, conda) == []


def test_environment_yml_installs_the_kit_and_a_python_the_kit_supports() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    conda, pip = read_environment((ROOT / "environment.yml").read_text(encoding="utf-8"))
    python = dict(split_requirement(spec) for spec in conda)["python"]
    minimum = pyproject["project"]["requires-python"]

    assert pip == ["-e ."]
    assert python.startswith("=") and minimum.startswith(">=")
    assert _version(python.lstrip("=")) >= _version(minimum.removeprefix(">="))


def test_drift_is_reported_by_name_and_by_version() -> None:
    pyproject = {
        "project": {
            "dependencies": ["pandas>=2.1", "matplotlib>=3.8"],
            "optional-dependencies": {"test": ["pytest>=8.0"]},
        }
    }
    conda = ["python=3.11", "pip", "pandas >=2.0", "matplotlib-base>=3.8", "nbval"]

    assert dependency_drift(pyproject, conda) == [
        "pytest: required by pyproject.toml, missing from environment.yml",
        "nbval: in environment.yml, missing from pyproject.toml",
        "pandas: pyproject.toml asks for '>=2.1', environment.yml for '>=2.0'",
    ]


def test_reader_keeps_the_pip_sub_list_apart_from_conda_packages() -> None:
    text = (
        "name: x  # a comment\n"
        "channels:\n"
        "  - conda-forge\n"
        "dependencies:\n"
        "  - python=3.11\n"
        "  # a comment line\n"
        "  - pip:\n"
        "      - -e .\n"
        "  - pandas>=2.1\n"
    )

    assert read_environment(text) == (["python=3.11", "pandas>=2.1"], ["-e ."])
