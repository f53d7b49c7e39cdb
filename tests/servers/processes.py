"""Servers run as real processes, for tests of start-up and shutdown.

``server_process(args)`` starts ``python <args>`` in its own process group
(so that workers it forks go with it) from the repository root, with its
output in a temporary file; leaving the block kills the whole group,
whatever happened. ``wait_until_up`` polls a URL until it answers 200;
``terminate`` sends SIGTERM and returns how long the process took to exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import aiohttp

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "ServerProcess", "free_port", "output_of", "server_process", "terminate", "wait_until_up"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """A started server process and the file its output goes to."""

    def __init__(self, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.proc = proc
        self.log = log

    def poll(self) -> int | None:
        return self.proc.poll()

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def output(self) -> str:
        """What the process (and its workers) printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextlib.contextmanager
def server_process(args: list[str], env: Mapping[str, str] | None = None) -> Iterator[ServerProcess]:
    """Run ``python *args``; kill its process group on leaving."""
    environ = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield ServerProcess(proc, log)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def output_of(proc: ServerProcess) -> str:
    return proc.output()


async def wait_until_up(proc: ServerProcess, url: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 200; fail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited ({proc.returncode}):\n{output_of(proc)}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer 200 within {timeout} s:\n{output_of(proc)}")
            await asyncio.sleep(0.1)


async def terminate(proc: ServerProcess, bound: float) -> float:
    """SIGTERM ``proc``; the seconds it took to exit (``inf`` if it did not
    within ``bound`` seconds: the caller's ``finally`` kills it)."""
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    while proc.poll() is None:
        if time.monotonic() - started > bound:
            return float("inf")
        await asyncio.sleep(0.02)
    return time.monotonic() - started
