"""`riskops serve`: the scoring API (wired into the app by `riskops.cli`).

    riskops serve [--host 127.0.0.1] [--port 4006] [--workers N]
"""

import os
import shutil
import tempfile
from typing import Annotated

import typer

from riskops.errors import InputError

DEFAULT_PORT = 4006


def register(app: typer.Typer) -> None:
    """Add `serve` to the `riskops` app."""
    from riskops.cli import HomeOption, _workspace, out

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
        workers: Annotated[int, typer.Option(
            help="Server processes; metrics are merged across them.")] = 1,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
        home: HomeOption = None,
    ) -> None:
        """Serve the governed scoring API (OpenAPI at /docs) until interrupted."""
        if not 0 <= port <= 65535:
            raise InputError(f"--port {port} is out of range 0-65535.")
        if not 1 <= workers <= 64:
            raise InputError(f"--workers {workers} is out of range 1-64.")
        if log_level not in ("critical", "error", "warning", "info", "debug"):
            raise InputError(f"--log-level {log_level!r} is not one of critical, error, "
                             "warning, info, debug.")
        ws = _workspace(home)
        from riskops.serving.settings import serving_settings

        serving_settings(ws)  # refuse a bad [serving] section before binding the port
        os.environ["RISKOPS_HOME"] = str(ws.home)
        metrics_dir = None
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            metrics_dir = tempfile.mkdtemp(prefix="riskops-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        import uvicorn

        out.print(f"riskops serving {ws.home} on http://{host}:{port} "
                  f"({workers} worker{'s' if workers > 1 else ''}); OpenAPI at /docs")
        try:
            uvicorn.run("riskops.serving.app:app_from_env", factory=True, host=host, port=port,
                        workers=workers, log_level=log_level, access_log=False,
                        timeout_graceful_shutdown=10)
        finally:
            if metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
