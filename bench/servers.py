"""Running the product's server for a benchmark, and loading it over loopback HTTP.

`CaseworkServer` starts `casework serve --workers N` on 127.0.0.1 and always stops it by its
PID (on exit, on an exception, on Ctrl-C). `run_load` drives it with keep-alive clients from
plain sockets (`KeepAliveClient`): a fixed number of requests, spread over C threads.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"  # loopback only, by design
VENV_BIN = Path(__file__).resolve().parents[1] / ".venv" / "bin"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The last line of a logged traceback: "package.module.SomeError: message".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Detected|Deadlock)\w*: ")


@contextlib.contextmanager
def router_process() -> Iterator[int]:
    """`casework router` on loopback for the block, with the environment's database; yields
    its PID. Stopped with SIGTERM at the end, so its last flush is written."""
    child = subprocess.Popen(
        [str(VENV_BIN / "python"), "-m", "casework.cli", "router", "--port", "0"],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("router answering on"):
            raise RuntimeError(f"the router process did not start: {line!r}")
        yield child.pid
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _workers(pid: int) -> list[int]:
    """The worker processes of the server: granian's or uvicorn's worker processes,
    not multiprocessing's resource tracker."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) != pid:
            continue
        with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as handle:
            if b"resource_tracker" not in handle.read():
                found.append(int(entry))
    return found


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime


class CaseworkServer:
    """`casework serve` in a child process, for the duration of a `with` block."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int,
        log_path: Path,
        asgi: bool = False,
        threads: int = 1,
    ) -> None:
        self.env = env
        self.workers = workers
        self.threads = threads
        self.asgi = asgi
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.worker_pids: list[int] = []

    def __enter__(self) -> CaseworkServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        command = [str(VENV_BIN / "casework"), "serve", "--host", HOST, "--port", str(self.port)]
        command += ["--workers", str(self.workers)] + (["--asgi"] if self.asgi else [])
        command += ["--threads", str(self.threads)] if self.threads != 1 else []
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        print(
            f"server: {' '.join(command[1:])} on {HOST}:{self.port} "
            f"(pid {self.process.pid}, log {self.log_path})"
        )
        self._wait_ready(timeout_seconds=90)

    def _wait_ready(self, *, timeout_seconds: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise SystemExit(f"server exited with {code}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/api/v1/openapi.json")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"server did not answer within {timeout_seconds} s")
        # Every worker process must have finished starting (its CPU time stands still),
        # or the first connections all land on the one that did.
        previous = -1.0
        while time.monotonic() < deadline:
            self.worker_pids = _workers(self.process.pid)
            total = sum(cpu_seconds(pid) for pid in self.worker_pids)
            if len(self.worker_pids) >= self.workers and total == previous:
                return
            previous = total
            time.sleep(0.5)

    def worker_of(self, client_port: int) -> int | None:
        """The worker process holding the server side of the connection from client_port."""
        wanted = f"0100007F:{self.port:04X} 0100007F:{client_port:04X}"
        inode = None
        with open("/proc/net/tcp") as handle:
            for line in handle:
                fields = line.split()
                if f"{fields[1]} {fields[2]}" == wanted:
                    inode = fields[9]
                    break
        if inode is None:
            return None
        for pid in self.worker_pids:
            try:
                descriptors = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for descriptor in descriptors:
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{descriptor}") == f"socket:[{inode}]":
                        return pid
        return None

    def logged_exceptions(self) -> Counter[str]:
        """'psycopg.errors.DeadlockDetected: deadlock detected' → count, from the log."""
        found: Counter[str] = Counter()
        with contextlib.suppress(OSError), open(self.log_path, errors="replace") as log:
            for line in log:
                if _EXCEPTION_LINE.match(line):
                    found[line.strip()[:160]] += 1
        return found

    def worker_cpu(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in self.worker_pids}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        pids = [self.process.pid, *self.worker_pids]
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for pid in pids[1:]:  # a worker the supervisor failed to take down
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        print(f"server: stopped (pid {self.process.pid})")


# ---------------------------------------------------------------------------------------
# Load


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    context: Any = None  # handed back to the response callback
    headers: dict[str, str | None] | None = None  # per request; None removes a header


@dataclass
class LoadResult:
    clients: int
    requested: int
    wall_seconds: float = 0.0
    # CPU seconds of the load generator's process (its client threads) during the run.
    client_cpu_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, 2xx responses only
    status_counts: Counter[int] = field(default_factory=Counter)
    # Every unexpected answer: (status, or -1 for a connection failure; body or error text).
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def completed(self) -> int:
        return sum(self.status_counts.values())

    @property
    def per_second(self) -> float:
        return self.ok / self.wall_seconds if self.wall_seconds else float("nan")


class ResponseError(OSError):
    """The server's answer could not be read as HTTP/1.1."""


class KeepAliveClient:
    """One persistent HTTP/1.1 connection over a plain socket, reopened after a failure or
    when the server closes it.

    Not `http.client`: it parses every answer's headers with the `email` package, about
    0.2 ms of CPU per request — at 1,500 requests a second on two cores, a seventh of the
    machine taken from the server under test. This client writes the request's bytes and
    reads the status line and the body's length: what a load generator needs."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = headers
        self.sock: socket.socket | None = None
        self._buffer = b""
        if not any(name.lower() == "host" for name in headers):
            headers = {"Host": f"{HOST}:{port}", **headers}
            self.headers = headers
        self._head = _header_block(headers)

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((HOST, self.port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def local_port(self) -> int | None:
        return self.sock.getsockname()[1] if self.sock is not None else None

    def send(self, request: Request) -> tuple[int, bytes]:
        head = self._head
        if request.headers:
            merged = {**self.headers, **request.headers}
            head = _header_block({name: v for name, v in merged.items() if v is not None})
        body = request.body or b""
        message = b"".join(
            (
                f"{request.method} {request.path} HTTP/1.1\r\n".encode("ascii"),
                head,
                f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") if body else b"\r\n",
                body,
            )
        )
        try:
            if self.sock is None:
                self.connect()
            assert self.sock is not None
            self.sock.sendall(message)
            status, data, keep_open = self._read_response()
        except OSError:
            self.close()
            raise
        if not keep_open:
            self.close()
        return status, data

    def _read_response(self) -> tuple[int, bytes, bool]:
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._receive()
        head, self._buffer = self._buffer[:end].decode("latin-1"), self._buffer[end + 4 :]
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ResponseError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
        status = int(parts[1])
        fields = {}
        for line in lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if 100 <= status < 200:
            return self._read_response()  # an interim answer: the real one follows
        keep_open = fields.get("connection", "").lower() != "close" and parts[0] == "HTTP/1.1"
        if "chunked" in fields.get("transfer-encoding", "").lower():
            return status, self._read_chunked(), keep_open
        if "content-length" in fields:
            return status, self._read_exactly(int(fields["content-length"])), keep_open
        if status in (204, 304):
            return status, b"", keep_open
        while True:  # the body runs until the server closes the connection
            try:
                self._receive()
            except ResponseError:
                data, self._buffer = self._buffer, b""
                return status, data, False

    def _read_exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            self._receive()
        data, self._buffer = self._buffer[:length], self._buffer[length:]
        return data

    def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            while (end := self._buffer.find(b"\r\n")) < 0:
                self._receive()
            size = int(self._buffer[:end].split(b";")[0], 16)
            self._buffer = self._buffer[end + 2 :]
            if size == 0:
                while (end := self._buffer.find(b"\r\n")) != 0:  # trailers, then an empty line
                    if end < 0:
                        self._receive()
                    else:
                        self._buffer = self._buffer[end + 2 :]
                self._buffer = self._buffer[2:]
                return b"".join(chunks)
            chunks.append(self._read_exactly(size))
            self._read_exactly(2)

    def _receive(self) -> None:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ResponseError("the server closed the connection")
        self._buffer += data

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._buffer = b""


def _header_block(headers: dict[str, str]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("latin-1")


def close_all(connections: list[KeepAliveClient]) -> None:
    for client in connections:
        client.close()


def connect_balanced(
    server: CaseworkServer, clients: int, headers: dict[str, str], probe: Request
) -> tuple[list[KeepAliveClient], dict[str, Any]]:
    """`clients` keep-alive connections spread evenly over the server's workers.

    Each uvicorn worker accepts every connection waiting when it wakes up, so connections
    opened in a burst all land on one worker, and stay there. A client that lands on a
    worker that has its share already reconnects. Returns the connections and how they were
    spread at first and in the end."""
    quota = -(-clients // max(1, len(server.worker_pids)))
    placed: Counter[int] = Counter()
    first: Counter[str] = Counter()
    connections, reconnects = [], 0
    for _ in range(clients):
        for attempt in range(50):
            client = KeepAliveClient(server.port, headers)
            status, _ = client.send(probe)
            if client.sock is None:
                # The server closes the connection after each response (e.g. gunicorn's sync
                # workers): nothing stays pinned to a worker, nothing to spread.
                connections.append(client)
                first["closed after each response"] += 1
                break
            worker = server.worker_of(client.local_port())
            if attempt == 0:
                first[str(worker)] += 1
            if status >= 400:
                raise SystemExit(f"probe {probe.method} {probe.path} answered {status}")
            if worker is None or placed[worker] < quota or attempt == 49:
                placed[worker or 0] += 1
                connections.append(client)
                break
            client.close()
            reconnects += 1
    spread = {
        "first_attempt": dict(first),
        "final": {str(pid): n for pid, n in placed.items()},
        "reconnects": reconnects,
    }
    return connections, spread


def made_in_advance(make_request: Callable[[int], Request], count: int) -> Callable[[int], Request]:
    """The requests of a load run, made before the clock starts: drawn in the clients'
    threads, the drawing would take CPU from the server on the same cores."""
    return [make_request(number) for number in range(count)].__getitem__


def run_load(
    *,
    port: int,
    clients: int | list[KeepAliveClient],
    requests: int,
    headers: dict[str, str],
    make_request: Callable[[int], Request],
    on_response: Callable[[Request, int, bytes], None] | None = None,
    max_seconds: float = 180.0,
    expected: Callable[[int], bool] = lambda status: 200 <= status < 300,
) -> LoadResult:
    """`requests` requests in all, one thread per keep-alive connection (`clients` new
    ones, or the connections given); request number k comes from `make_request(k)`."""
    owned = isinstance(clients, int)
    if isinstance(clients, int):
        connections = [KeepAliveClient(port, headers) for _ in range(clients)]
        for client in connections:
            client.connect()
    else:
        connections = clients
    result = LoadResult(clients=len(connections), requested=requests)
    lock = threading.Lock()
    next_number = iter(range(requests))
    start = threading.Barrier(len(connections) + 1)
    deadline = time.monotonic() + max_seconds

    def take() -> int | None:
        with lock:
            return next(next_number, None)

    def work(client: KeepAliveClient) -> None:
        start.wait()
        while (number := take()) is not None and time.monotonic() < deadline:
            request = make_request(number)
            began = time.perf_counter()
            try:
                status, data = client.send(request)
            except OSError as error:
                status, data = -1, repr(error).encode()
            elapsed = time.perf_counter() - began
            with lock:
                result.status_counts[status] += 1
                if expected(status):
                    result.latencies.append(elapsed)
                else:
                    result.errors.append((status, data[:500].decode("utf-8", "replace")))
            if on_response is not None and expected(status):
                on_response(request, status, data)

    threads = [threading.Thread(target=work, args=(client,), daemon=True) for client in connections]
    for thread in threads:
        thread.start()
    start.wait()
    began, cpu_began = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    result.wall_seconds = time.perf_counter() - began
    result.client_cpu_seconds = time.process_time() - cpu_began
    if owned:
        close_all(connections)
    return result
