"""Fixtures for the browser tests: a JupyterLab server on a scratch copy of the notebooks, and
headless Chromium driven by Playwright.

These tests are not collected by a plain ``pytest`` (its testpaths are tests/, cqrs_lab/ and
notebooks/): ``make test-browser`` runs them. The browser is the system's Chromium (Debian's
``chromium`` package), or the one named by ``CQRS_LAB_CHROMIUM``. ``CQRS_LAB_NOTEBOOKS`` names
another folder of notebooks to serve instead of notebooks/ (e.g. a re-executed copy).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from browser_tests.lab import Lab

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SERVER_START_SECONDS = 120
# Chromium as root (CI, containers) needs --no-sandbox; the rest keep it quiet and offline.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# JupyterLab settings: render every cell (no windowing, so every output is in the page) and
# ask nobody about news or updates.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Never write a run back: a saved notebook is signed, hence trusted, for the next test.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: its address, token and the folder it serves."""

    url: str
    token: str
    root: Path


def _chromium() -> str:
    named = os.environ.get("CQRS_LAB_CHROMIUM")
    found = named or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "expected a Chromium binary (Debian: apt-get install chromium), found none on PATH; "
            "set CQRS_LAB_CHROMIUM to its path",
            pytrace=False,
        )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(server: subprocess.Popen[str], log: list[str]) -> None:
    """Read the server's log until it says it is running (bounded by SERVER_START_SECONDS)."""
    ready = threading.Event()

    def read() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            log.append(line)
            if "is running at" in line:
                ready.set()
        ready.set()  # the server exited: stop waiting

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(SERVER_START_SECONDS) or server.poll() is not None:
        server.kill()
        pytest.fail(
            f"expected JupyterLab to start within {SERVER_START_SECONDS} s; its log:\n"
            + "".join(log[-40:]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1, serving a copy of notebooks/ (runs never touch the repo's files)."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    source = Path(os.environ.get("CQRS_LAB_NOTEBOOKS") or ROOT / "notebooks")
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    port, token = _free_port(), "cqrs-lab-browser-test"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        # a fresh clone: no notebook is trusted, as nobody here has run it
        "--NotebookNotary.db_file=:memory:",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        command.append("--allow-root")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    server = subprocess.Popen(
        command, cwd=base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    log: list[str] = []
    try:
        _wait_until_serving(server, log)
        yield LabServer(f"http://127.0.0.1:{port}", token, root)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, for the session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Chromium: the system's binary, with the flags it needs as root."""
    chromium = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
    yield chromium
    chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so that the page fixture knows a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A 1400 x 900 page (a laptop window); on failure a screenshot is kept in screenshots/."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def lab(lab_server: LabServer, page: Page) -> Iterator[Lab]:
    """JupyterLab in the page, ready to open a notebook; its kernels are shut down afterwards."""
    lab = Lab(page, lab_server.url, lab_server.token)
    yield lab
    lab.shutdown()
