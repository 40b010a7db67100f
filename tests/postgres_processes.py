"""Child processes for the PostgreSQL tests: started with this checkout on their path, read line
by line with a deadline, stopped by their own process id."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINE_TIMEOUT = 20.0
"""Seconds a child may take to print its next line before the test fails."""

_STARTED: list[Child] = []


@pytest.fixture(autouse=True)
def reap_children() -> Iterator[None]:
    """After each test, SIGKILL (by process id) any child it started and left running, so that a
    failing test leaves no projector behind."""
    yield
    while _STARTED:
        child = _STARTED.pop()
        if child.process.poll() is None:
            child.kill()


class Child:
    """A child process whose stdout the test reads line by line."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self._out = self.process.stdout
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._out, selectors.EVENT_READ)
        self._buffer = b""
        _STARTED.append(self)
        self.greeting = ""
        self.stderr = ""
        """What the child wrote on stderr, once :meth:`rest` has read it."""
        """A projector's first line: where it listens, and the checkpoint it starts from."""

    @classmethod
    def projector(cls, url: str, *options: str) -> Child:
        """``python -m cqrs_lab project --database URL --verbose ...``, once it has started."""
        child = cls("-m", "cqrs_lab", "project", "--database", url, "--verbose", *options)
        child.greeting = child.read_line()
        assert child.greeting.startswith("projecting order_views on "), child.greeting
        return child

    def read_line(self) -> str:
        """The next line the child prints; fails the test on EOF or after LINE_TIMEOUT."""
        deadline = time.monotonic() + LINE_TIMEOUT
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                self.kill()
                pytest.fail(f"the child printed no line within {LINE_TIMEOUT} s")
            chunk = os.read(self._out.fileno(), 65536)
            if not chunk:
                self.process.wait(timeout=LINE_TIMEOUT)
                errors = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"the child exited early ({self.process.returncode}):\n{errors}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def read_until(self, predicate_line: str) -> list[str]:
        """Lines up to and including the first equal to ``predicate_line``."""
        lines = [self.read_line()]
        while lines[-1] != predicate_line:
            lines.append(self.read_line())
        return lines

    def rest(self) -> list[str]:
        """Every line left, once the child has exited (waits up to LINE_TIMEOUT)."""
        self.process.wait(timeout=LINE_TIMEOUT)
        tail = self._buffer + self._out.read()
        self.stderr = self.errors()
        if self.process.returncode != 0:
            print(self.stderr)  # shown by pytest if the test then fails
        self._close()
        return tail.decode().splitlines()

    def errors(self) -> str:
        """What the child wrote on stderr (after it exited; empty once its pipes are closed)."""
        stream = self.process.stderr
        return "" if stream is None or stream.closed else stream.read().decode()

    def terminate(self) -> int:
        """SIGTERM the child and wait for it; returns its exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=LINE_TIMEOUT)

    def kill(self) -> int:
        """SIGKILL the child and reap it; returns its exit status."""
        self.process.send_signal(signal.SIGKILL)
        status = self.process.wait(timeout=LINE_TIMEOUT)
        self._close()
        return status

    def _close(self) -> None:
        self._selector.close()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None and not stream.closed:
                stream.close()
