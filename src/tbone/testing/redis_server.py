"""Start, stop and restart a throwaway ``redis-server`` for tests.

``RedisServer`` runs Debian's ``redis-server`` (``apt-get install
redis-server``; ``make test`` installs it when run as root) on 127.0.0.1 with
a free port, in a temporary directory, without persistence (``--save ''
--appendonly no``): a restart empties it, as a crash of a Redis run without
persistence does. It waits until the server answers ``PING``. ``restart()``
brings it back on the same port, so clients reconnect to the same URL.

Nothing here imports redis-py: the pytest plugin loads this module in
projects that do not use Redis. The methods block (they start and stop a
process); inside an event loop call them through ``asyncio.to_thread`` so that
the code under test keeps running meanwhile.

When ``redis-server`` is missing, :func:`require_redis_server` skips the test
saying why, except in CI (``CI`` set in the environment), where it fails:
there ``make test`` installs it, so a missing server is a broken set-up.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["RedisServer", "redis_server_binary", "require_redis_server", "running_redis"]

#: Seconds to wait for a started server to answer PING, or a stopped one to exit.
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def redis_server_binary() -> str | None:
    """The ``redis-server`` to run: ``TBONE_REDIS_SERVER`` if set, else the one on ``PATH``."""
    configured = os.environ.get("TBONE_REDIS_SERVER")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("redis-server")


def require_redis_server() -> str:
    """The ``redis-server`` binary; if there is none, skip the calling test (fail it in CI)."""
    import pytest  # on use, not a cycle: the module also serves scripts without pytest

    binary = redis_server_binary()
    if binary is None:
        reason = "redis-server is missing (apt-get install redis-server; `make test` does it as root)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must have it", pytrace=False)
        pytest.skip(reason)
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A ``redis-server`` on 127.0.0.1 that a test may stop, kill and restart.

    ``url`` is ``redis://127.0.0.1:<port>/0``; the port stays the same across
    restarts. Use it as a context manager, or call ``start`` and ``stop``.
    """

    def __init__(self, binary: str | None = None, directory: str | Path | None = None) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise FileNotFoundError("redis-server not found (apt-get install redis-server)")
        self.binary = found
        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="tbone-redis-"))
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        #: How many times the server was started.
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:
        return f"<RedisServer {self.url} {'running' if self.running else 'stopped'}>"

    def start(self) -> None:
        """Start the server and wait until it answers PING (on a new free port if
        the first start finds its port taken)."""
        if self.running:
            return
        attempts = 3 if self.starts == 0 else 1
        for attempt in range(attempts):
            try:
                self._start_once()
                break
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                self.port = _free_port()
        self.starts += 1

    def _start_once(self) -> None:
        log = self.directory / "redis.log"
        command = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(log),
            "--daemonize", "no",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self._process = process
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _ping(self.port):
                return
            time.sleep(0.02)
        self._terminate(signal.SIGKILL)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"redis-server did not answer PING on 127.0.0.1:{self.port}:\n{tail}")

    def stop(self) -> None:
        """Shut the server down (SIGTERM: a clean shutdown, nothing saved)."""
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """Kill the server (SIGKILL), as a crash would."""
        self._terminate(signal.SIGKILL)

    def restart(self, *, kill: bool = False) -> None:
        """Stop (or kill) the server and start it again on the same port, empty."""
        self._terminate(signal.SIGKILL if kill else signal.SIGTERM)
        self.start()

    def flush(self) -> None:
        """Delete every key (``FLUSHALL``)."""
        with socket.create_connection((self.host, self.port), timeout=5) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            reply = sock.recv(64)
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL answered {reply!r}")

    def _terminate(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """Stop the server and remove its directory (if this object made it)."""
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """A started ``RedisServer``, closed (and its directory removed) at the end."""
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        with suppress(Exception):
            server.close()
