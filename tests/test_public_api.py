"""The public API: sorted ``__all__`` lists that resolve, and an import without side effects."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType

import pytest

import cqrs_lab
from cqrs_lab import errors

PUBLIC_MODULES = ["cqrs_lab", "cqrs_lab.examples.orders"]


def isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions, each A-Z."""
    if name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_without_duplicates(module_name: str) -> None:
    exported = list(importlib.import_module(module_name).__all__)

    assert exported == sorted(exported, key=isort_key)
    assert len(exported) == len(set(exported))


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_resolves(module_name: str) -> None:
    module: ModuleType = importlib.import_module(module_name)

    missing = [name for name in module.__all__ if not hasattr(module, name)]

    assert missing == []


def test_every_error_is_rooted_at_cqrs_lab_error_and_says_when_it_is_raised() -> None:
    for name in errors.__all__:
        error = getattr(errors, name)
        if not isinstance(error, type):
            continue  # a helper such as parse_choice
        assert issubclass(error, errors.CqrsLabError), name
        assert (error.__doc__ or "").startswith("Raised "), name


def test_the_write_side_names_come_from_the_modules_that_define_them() -> None:
    from cqrs_lab import command_bus, messages, read_your_writes

    assert cqrs_lab.CommandEnvelope is messages.CommandEnvelope
    assert cqrs_lab.Receipt is messages.Receipt
    assert cqrs_lab.Consistency is read_your_writes.Consistency
    assert cqrs_lab.Dispatched is read_your_writes.Dispatched
    assert cqrs_lab.dispatch is read_your_writes.dispatch
    assert command_bus.__all__ == ["CommandBus"]  # the bus itself knows no read model


PROBE = """
import json, sys, threading
import {module}
print(json.dumps({{
    "heavy": sorted(m for m in ("matplotlib", "ipywidgets", "pandas") if m in sys.modules),
    "examples": "cqrs_lab.examples" in sys.modules,
    "threads": threading.active_count(),
}}))
"""


def probe(module: str) -> dict[str, object]:
    """Import ``module`` in a fresh interpreter and report what that import pulled in."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_importing_cqrs_lab_loads_no_plotting_widgets_or_pandas_and_starts_no_thread() -> None:
    report = probe("cqrs_lab")

    assert report == {"heavy": [], "examples": False, "threads": 1}


def test_importing_the_order_example_loads_no_plotting_widgets_or_pandas() -> None:
    report = probe("cqrs_lab.examples.orders")

    assert report["heavy"] == []
    assert report["threads"] == 1


def test_the_package_has_a_version() -> None:
    assert cqrs_lab.__version__.count(".") == 2
