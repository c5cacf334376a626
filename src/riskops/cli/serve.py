"""``riskops serve``: the scoring API.

    riskops serve [--host 127.0.0.1] [--port 4006] [--workers N] [--grpc-port PORT]

The listening socket is bound before anything is announced, so a port that is
taken is one error line, never a false "serving on" line and a traceback.
Connections whose request head is late (``[serving] header_timeout_seconds``)
are closed by ``serving/header_timeout.py``'s protocol, in every worker.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from typing import Annotated

import typer

from riskops.cli.common import HomeOption, open_ws, out, plural
from riskops.errors import CheckFailed, InputError

DEFAULT_PORT = 4006
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def serve(
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDR", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        "--port", metavar="PORT", help="TCP port (0: any free port).")] = DEFAULT_PORT,
    workers: Annotated[int, typer.Option(
        "--workers", metavar="N", help="Server processes; metrics are merged across them.")] = 1,
    log_level: Annotated[str, typer.Option(
        "--log-level", metavar="LEVEL", help="uvicorn log level: " + ", ".join(LOG_LEVELS) + ".")]
    = "warning",
    grpc_port: Annotated[int | None, typer.Option(
        "--grpc-port", metavar="PORT",
        help="Also serve the Open Inference Protocol over gRPC on this port (off by default).")]
    = None,
    home: HomeOption = None,
) -> None:
    """Serve the governed scoring API (OpenAPI at /docs) until interrupted."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port} is out of range 0-65535.")
    if grpc_port is not None and not 1 <= grpc_port <= 65535:
        raise InputError(f"--grpc-port {grpc_port} is out of range 1-65535.")
    if not 1 <= workers <= 64:
        raise InputError(f"--workers {workers} is out of range 1-64.")
    if log_level not in LOG_LEVELS:
        raise InputError(f"--log-level {log_level!r} is not one of {', '.join(LOG_LEVELS)}.")
    ws = open_ws(home)
    from riskops.serving.settings import ENV_GRPC_ADDRESS, serving_settings

    settings = serving_settings(ws)  # refuse a bad [serving] section before binding the port
    from riskops.registry.trust import pinned_keys

    pinned_keys(ws)  # and a malformed RISKOPS_TRUSTED_KEYS
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from riskops.serving.header_timeout import header_timeout_protocol

    if grpc_port is not None:
        if grpc_port == port:
            raise InputError(f"--grpc-port {grpc_port} is the HTTP --port; choose another.")
        bind_listener(host, grpc_port, option="--grpc-port").close()  # free, and ours to take
    sock = bind_listener(host, port)
    bound = sock.getsockname()[1]
    url = f"http://{f'[{host}]' if ':' in host else host}:{bound}"
    grpc_note = f"; gRPC (Open Inference Protocol) on {host}:{grpc_port}" if grpc_port else ""
    metrics_dir = None
    failed_start = False
    server: uvicorn.Server | None = None
    try:
        os.environ["RISKOPS_HOME"] = str(ws.home)
        if grpc_port is not None:  # read by every worker's serving_settings
            os.environ[ENV_GRPC_ADDRESS] = f"{host}:{grpc_port}"
        else:
            os.environ.pop(ENV_GRPC_ADDRESS, None)
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            metrics_dir = tempfile.mkdtemp(prefix="riskops-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        config = uvicorn.Config("riskops.serving.app:app_from_env", factory=True, host=host,
                                port=bound, workers=workers, log_level=log_level,
                                access_log=False, timeout_graceful_shutdown=10,
                                http=header_timeout_protocol(settings.header_timeout_seconds))
        server = uvicorn.Server(config)
        out.print(f"riskops serving {ws.home} on {url} ({plural(workers, 'worker')}); "
                  f"OpenAPI at /docs{grpc_note}", markup=False)
        if workers > 1:
            supervisor = Multiprocess(config, sockets=[sock])
            supervisor.run()
            # uvicorn stops every worker when one fails to start, and returns normally.
            failed_start = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
        else:
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        os.environ.pop(ENV_GRPC_ADDRESS, None)
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    if failed_start or (workers == 1 and server is not None and not server.started):
        raise CheckFailed(f"the scoring API did not start on {url}; see the messages above.")


def bind_listener(host: str, port: int, *, option: str = "--port") -> socket.socket:
    """A TCP socket bound to ``host:port`` and inheritable by worker processes.

    Raises
    ------
    InputError
        The port is taken or not allowed, or ``host`` is not an address of this
        machine; the message names the option and the fix.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InputError(f"{option} {port}: {host}:{port} is already in use; stop what "
                             f"listens there or choose another port with {option}.") from None
        if exc.errno == errno.EACCES:
            raise InputError(f"{option} {port}: not allowed to listen on {host}:{port} "
                             "(ports below 1024 need privileges); choose another port with "
                             f"{option}.") from None
        reason = exc.strerror or str(exc)
        raise InputError(f"--host {host}: cannot listen on {host}:{port}: {reason}; use an "
                         "address of this machine, e.g. --host 127.0.0.1.") from None
    sock.set_inheritable(True)
    return sock
