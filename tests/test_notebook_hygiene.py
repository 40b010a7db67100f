"""Notebooks stay honest: executed, quiet on stderr, public API only, markers with reasons."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").rglob("*.ipynb"))
NOTEBOOKS = [path for path in NOTEBOOKS if ".ipynb_checkpoints" not in path.parts]
MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP", "# NBVAL_RAISES_EXCEPTION")


def code_cells(path: Path) -> list[dict[str, Any]]:
    """The code cells of a notebook that contain code."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def private_imports(source: str) -> list[str]:
    """Imports of cqrs_lab names that are not public (a segment or a name with a leading _)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cqrs_lab"):
            module = node.module or ""
            names = [alias.name for alias in node.names]
            if any(part.startswith("_") for part in module.split(".")) or any(
                name.startswith("_") for name in names
            ):
                found.append(f"from {module} import {', '.join(names)}")
        elif isinstance(node, ast.Import):
            found += [
                f"import {alias.name}"
                for alias in node.names
                if alias.name.startswith("cqrs_lab")
                and any(part.startswith("_") for part in alias.name.split("."))
            ]
    return found


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_is_stored_executed(path: Path) -> None:
    unrun = [i for i, cell in enumerate(code_cells(path)) if cell["execution_count"] is None]
    assert unrun == [], f"{path.name}: code cells {unrun} stored unexecuted"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_output_is_on_stderr(path: Path) -> None:
    noisy = [
        "".join(output.get("text", ""))[:120]
        for cell in code_cells(path)
        for output in cell["outputs"]
        if output.get("name") == "stderr"
    ]
    assert noisy == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_import_only_the_public_api(path: Path) -> None:
    found = [imp for cell in code_cells(path) for imp in private_imports("".join(cell["source"]))]
    assert found == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_nbval_marker_gives_its_reason_on_the_next_line(path: Path) -> None:
    unexplained = []
    for cell in code_cells(path):
        lines = "".join(cell["source"]).splitlines()
        for i, line in enumerate(lines):
            if line.strip() in MARKERS:
                reason = lines[i + 1].strip() if i + 1 < len(lines) else ""
                if not reason.startswith("#"):
                    unexplained.append(line.strip())
    assert unexplained == []


def test_private_imports_are_detected() -> None:
    assert private_imports("from cqrs_lab.projector import _Overlay") == [
        "from cqrs_lab.projector import _Overlay"
    ]
    assert private_imports("from cqrs_lab.exercises import _orders") == [
        "from cqrs_lab.exercises import _orders"
    ]
    assert private_imports("%matplotlib inline\nfrom cqrs_lab import Projector") == []
