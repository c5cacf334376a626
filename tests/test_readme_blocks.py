"""Every shell block a reader is told to type runs as written.

What runs: every ```bash block of README.md but the first, and every block of
docs/*.md whose info string is ``bash runnable`` (the marker; docs/architecture.md
describes it). Each runs under ``bash -euo pipefail`` in an empty temporary
folder, one after another, with the test's virtual environment first on PATH
(and linked as ``.venv``, as in a checkout, for a block that sources
``.venv/bin/activate``), every ``RISKOPS_*`` variable cleared (only
``RISKOPS_STATE_DIR`` points into the folder, so the host's high-water marks
stay untouched) and a timeout; a block must exit 0, and its output is printed
when it does not.

README's first block is the two fresh-machine commands (virtual environment,
``pip install`` from the lock file, then the demo or the test suite). They need a
new environment and the package index, so they are not run here; instead this
module checks that the block is exactly those two commands, that ``.ci/run`` does
the same set-up and runs the same test command, and tests/test_demo.py runs the
demo.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = "bash runnable"
PORT = 4006
TIMEOUT_S = 300
_FENCE = re.compile(r"^(`{3,})([^`]*)$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    info: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with their info strings (a block
    closes at a fence of at least as many backticks, as CommonMark has it)."""
    found: list[Block] = []
    info: str | None = None
    start = width = 0
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = _FENCE.match(line)
        if info is None and fence:
            info, start, width, body = fence.group(2).strip(), number, len(fence.group(1)), []
        elif info is not None and fence and not fence.group(2).strip() and (
                len(fence.group(1)) >= width):
            found.append(Block(path, start, info, "\n".join(body) + "\n"))
            info = None
        elif info is not None:
            body.append(line)
    assert info is None, f"{path}: the block opened on line {start} is never closed"
    return found


def readme_blocks() -> list[Block]:
    return [b for b in blocks(ROOT / "README.md") if b.info.split()[:1] == ["bash"]]


def runnable_blocks() -> list[Block]:
    docs = [b for p in sorted((ROOT / "docs").glob("*.md")) for b in blocks(p)
            if b.info == MARKER]
    return readme_blocks()[1:] + docs


def test_readme_setup_block_is_the_two_fresh_machine_commands() -> None:
    setup = readme_blocks()[0].text.strip().splitlines()
    make = "python3 -m venv .venv && .venv/bin/pip install -r requirements.lock -e ."
    assert setup == [f"{make} && .venv/bin/riskops demo", f"{make} && .venv/bin/python -m pytest"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv .venv\n" in ci
    assert ".venv/bin/pip install -q --disable-pip-version-check -r requirements.lock -e .\n" in ci
    assert "\n.venv/bin/python -m pytest\n" in ci  # the README's test command, as written
    assert "cli(\"demo\"" in (ROOT / "tests" / "test_demo.py").read_text(encoding="utf-8")


def test_docs_mark_runnable_blocks() -> None:
    """The marker is in use where the runbook promises it (retraining and alert response)."""
    marked = [b for b in runnable_blocks() if b.path.name == "runbook.md"]
    assert len(marked) >= 2, [b.where for b in marked]
    assert any("riskops retrain" in b.text for b in marked)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _port_free(port):
        if time.monotonic() > deadline:
            pytest.fail(f"127.0.0.1:{port} stayed taken for {seconds:.0f} s; "
                        "the block serves there")
        time.sleep(0.5)


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKOPS_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["RISKOPS_STATE_DIR"] = str(folder / ".host-state")
    return env


@pytest.mark.slow
@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda b: b.where)
def test_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    if sys.prefix != sys.base_prefix:  # as in a checkout: .venv/bin/activate is there
        (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    if str(PORT) in block.text or "riskops serve" in block.text:
        _wait_for_port(PORT)
    started = time.monotonic()
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", block.text], cwd=folder,
                            env=_environment(folder), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"{block.where} ran over {TIMEOUT_S} s:\n{output}")
    finally:
        # Whatever the block left running (a server after a failed step).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    took = time.monotonic() - started
    assert proc.returncode == 0, (
        f"{block.where} exited {proc.returncode} after {took:.0f} s:\n{block.text}\n"
        f"--- output ---\n{output}")
