"""Throughput and memory of riskops artifact verification, beside ``sha256sum``.

What it measures
----------------
A set of artifact files (default 1 GiB in 8 files of varied sizes, random
bytes) is verified three ways, each in its own child process:

``sha256sum``
    The baseline: one ``sha256sum`` invocation over all files, sequential.
``riskops verify_artifacts``
    The real ``riskops.registry.integrity.verify_artifacts`` with its default
    thread pool, checking each file's size and SHA-256 against
    ``ArtifactEntry`` records (what ``riskops verify`` does per version).
``riskops sha256_file (1 thread)``
    ``sha256_file`` over the files one after the other on one thread: the
    per-core speed of the hashing loop.

If an ``openssl`` binary is on ``PATH`` an ``openssl dgst -sha256`` row is
added as a reference (the speed of the OpenSSL SHA-256 that Python's
``hashlib`` also uses).

For every contender it reports the best wall time of ``--repeat`` runs, the
throughput in MiB/s, the ratio to ``sha256sum``, and the peak resident set
size of the child process that did the hashing (``VmHWM`` in
``/proc/PID/status``). For the Python children it also reports how much that
peak grew while hashing, beyond what the interpreter and imports already
used: constant-memory hashing keeps that near zero, whatever the data size.

Python children time only the verification call (not interpreter start-up)
and read their own ``VmHWM`` before and after it. The external tools are
timed around the whole process (a millisecond or two of start-up), and their
``VmHWM`` is sampled every few milliseconds while they run; it is a
high-water mark, so the last sample is the peak. ``ru_maxrss`` from
``wait4``/``getrusage(RUSAGE_CHILDREN)`` is not used: Linux carries the
parent's high-water mark into a child forked with ``vfork``/``posix_spawn``
(as ``subprocess`` does) across ``exec``, so it reports the parent's size
instead of the child's.

The page cache cannot be dropped without root privileges on most machines,
so both sides are warmed equally: one untimed pass reads every file first,
and the order of the contenders rotates from one repeat to the next so none
of them always runs first or last.

Target (from the issue): ``verify_artifacts`` reaches at least 90% of
``sha256sum``'s throughput. The script exits with status 1 if it does not.

How to run
----------
::

    .venv/bin/python benchmarks/integrity.py [--size-mib 1024] [--files 8] \\
        [--repeat 3] [--data-dir DIR] [--workers N]

The data is generated once into ``benchmarks/.data/`` (or ``--data-dir``) and
reused while the file names and sizes match.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# sibling module; scripts run from here
from _report import cpu_model, load_average, memory_total, table

MIB = 1024 * 1024
WRITE_CHUNK = 4 * MIB
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / ".data"
ARTIFACT_FOLDER = "artifacts"
DIGESTS_FILE = "digests.json"
TARGET_RATIO = 0.90

SHA256SUM = "sha256sum"
VERIFY = "riskops verify_artifacts"
SEQUENTIAL = "riskops sha256_file (1 thread)"
OPENSSL = "openssl dgst -sha256 (reference)"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class DataFile:
    """One generated artifact: path relative to the data folder, size, digest."""

    path: str
    size: int
    sha256: str


def planned_sizes(total: int, files: int) -> list[int]:
    """``files`` varied sizes summing to ``total``, not multiples of the read chunk.

    Weights 1..files in a fixed shuffled order, then each size but the last
    is nudged by an odd number of bytes (the last one absorbs the
    difference).
    """
    weights = list(range(1, files + 1))
    random.Random(20240601).shuffle(weights)
    whole = sum(weights)
    sizes = [total * w // whole for w in weights]
    sizes[-1] += total - sum(sizes)
    for i in range(files - 1):
        nudge = min(sizes[i] - 1, (i + 1) * 4099)
        sizes[i] -= nudge
        sizes[-1] += nudge
    return sizes


def planned_paths(files: int) -> list[str]:
    return [f"{ARTIFACT_FOLDER}/part-{i:02d}.bin" for i in range(files)]


def load_existing(data_dir: Path, paths: Sequence[str], sizes: Sequence[int]) -> list[DataFile]:
    """The recorded files if the data folder already holds exactly this plan."""
    try:
        recorded = json.loads((data_dir / DIGESTS_FILE).read_text())
        found = [DataFile(**item) for item in recorded["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if [(f.path, f.size) for f in found] != list(zip(paths, sizes, strict=True)):
        return []
    for f in found:
        try:
            if (data_dir / f.path).stat().st_size != f.size:
                return []
        except OSError:
            return []
    return found


def write_random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes in fixed chunks; return their SHA-256."""
    digest = hashlib.sha256()
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as fh:
        remaining = size
        while remaining:
            block = os.urandom(min(WRITE_CHUNK, remaining))
            fh.write(block)
            digest.update(block)
            remaining -= len(block)
    partial.replace(path)
    return digest.hexdigest()


def ensure_data(data_dir: Path, size_mib: int, files: int) -> list[DataFile]:
    """Generate the artifact set unless the folder already holds it."""
    total = size_mib * MIB
    if files < 1 or total < files * MIB:
        raise SystemExit("need --files >= 1 and at least 1 MiB per file")
    paths = planned_paths(files)
    sizes = planned_sizes(total, files)
    existing = load_existing(data_dir, paths, sizes)
    if existing:
        print(f"reusing {files} files, {size_mib} MiB, in {data_dir}")
        return existing
    folder = data_dir / ARTIFACT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (data_dir / DIGESTS_FILE).unlink(missing_ok=True)
    for stale in [*folder.glob("part-*.bin"), *folder.glob("part-*.partial")]:
        stale.unlink()
    print(f"generating {files} files, {size_mib} MiB of random bytes, in {data_dir} ...")
    generated = []
    for path, size in zip(paths, sizes, strict=True):
        generated.append(DataFile(path, size, write_random_file(data_dir / path, size)))
    record = {"files": [dataclasses.asdict(f) for f in generated]}
    (data_dir / DIGESTS_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return generated


def warm_up(data_dir: Path, data: Sequence[DataFile]) -> None:
    """Read every file once, untimed, so all contenders start from a warm cache."""
    buffer = bytearray(MIB)
    for f in data:
        with open(data_dir / f.path, "rb", buffering=0) as fh:
            while fh.readinto(buffer):
                pass


# --------------------------------------------------------------------------- children


def child_main(mode: str, data_dir: Path, workers: int | None) -> int:
    """Run inside a fresh interpreter: verify the data set once, print a JSON line."""
    from riskops.registry.integrity import sha256_file, verify_artifacts
    from riskops.registry.manifest import ArtifactEntry

    recorded = json.loads((data_dir / DIGESTS_FILE).read_text())["files"]
    entries = [ArtifactEntry(**item) for item in recorded]
    rss_before_kib = vm_hwm_kib("self")
    problems: list[str] = []
    start = time.perf_counter()
    if mode == "verify":
        failures = verify_artifacts(data_dir, entries, workers=workers)
        problems = [f"{f.path}: {f.reason}" for f in failures]
    else:
        for entry in entries:
            digest, size = sha256_file(data_dir / entry.path)
            if (digest, size) != (entry.sha256, entry.size):
                problems.append(f"{entry.path}: digest or size differs")
    seconds = time.perf_counter() - start
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    report = {"seconds": seconds, "rss_before_kib": rss_before_kib,
              "rss_peak_kib": vm_hwm_kib("self")}
    print(json.dumps(report))
    return 0


def vm_hwm_kib(pid: int | str, *, name: str | None = None) -> int | None:
    """Peak RSS (``VmHWM``) of a process in KiB, if it runs ``name`` (when given)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = {key: value for key, _, value in (line.partition(":") for line in status.splitlines())}
    if name is not None and fields.get("Name", "").strip() != name[:15]:
        return None  # not yet exec'd: still the parent's memory image
    hwm = fields.get("VmHWM")
    return int(hwm.split()[0]) if hwm else None


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_kib: int | None
    rss_before_kib: int | None = None  # Python children only: peak before hashing


def run_process(argv: Sequence[str], *, sample_rss: bool) -> tuple[str, float, int | None]:
    """Run ``argv``; return its stdout, wall seconds and (if sampled) peak RSS in KiB."""
    peak: list[int] = []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        sampler = None
        if sample_rss:
            sampler = threading.Thread(target=_sample_hwm, args=(proc, argv[0], peak))
            sampler.start()
        proc.wait()
        seconds = time.perf_counter() - start
        if sampler is not None:
            sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{stderr}")
    return stdout, seconds, (max(peak) if peak else None)


def _sample_hwm(proc: subprocess.Popen[bytes], name: str, peak: list[int]) -> None:
    """Append ``proc``'s VmHWM every few milliseconds until it exits."""
    while proc.returncode is None:
        hwm = vm_hwm_kib(proc.pid, name=Path(name).name)
        if hwm is not None:
            peak.append(hwm)
        time.sleep(0.003)


def check_listing(tool: str, listing: str, data_dir: Path, data: Sequence[DataFile]) -> None:
    """Make sure an external tool produced the recorded digest for every file."""
    expected = {str(data_dir / f.path): f.sha256 for f in data}
    found: dict[str, str] = {}
    for line in listing.splitlines():
        if line.startswith("SHA2-256("):  # openssl: SHA2-256(path)= hex
            name, _, digest = line[len("SHA2-256(") :].rpartition(")= ")
        else:  # sha256sum: hex  path
            digest, _, name = line.partition("  ")
        found[name] = digest
    if found != expected:
        raise SystemExit(f"{tool} output does not match the recorded digests")


def external_contender(
    name: str, argv: Sequence[str], data_dir: Path, data: Sequence[DataFile]
) -> Callable[[], Run]:
    def run() -> Run:
        listing, seconds, peak = run_process(
            [*argv, *(str(data_dir / f.path) for f in data)], sample_rss=True
        )
        check_listing(name, listing, data_dir, data)
        return Run(seconds, peak)

    return run


def python_contender(mode: str, data_dir: Path, workers: int | None) -> Callable[[], Run]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode,
            "--data-dir", str(data_dir)]
    if workers:
        argv += ["--workers", str(workers)]

    def run() -> Run:
        stdout, _, _ = run_process(argv, sample_rss=False)
        report = json.loads(stdout.strip().splitlines()[-1])
        return Run(report["seconds"], report["rss_peak_kib"], report["rss_before_kib"])

    return run


# --------------------------------------------------------------------------- report


def machine_lines() -> list[str]:
    cpu = cpu_model()
    ram = memory_total()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    from riskops.registry.integrity import default_workers

    sha256sum_version = "not found"
    if shutil.which("sha256sum"):
        sha256sum_version = subprocess.run(
            ["sha256sum", "--version"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0]
    return [
        f"date:       {dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}",
        f"cpu:        {cpu}",
        f"cores:      {os.cpu_count()} logical ({usable} usable by this process)",
        f"ram:        {ram}",
        f"os:         {platform.platform()}",
        f"python:     {platform.python_version()} ({ssl.OPENSSL_VERSION})",
        f"sha256sum:  {sha256sum_version}",
        f"riskops:    verify_artifacts default workers = {default_workers()}",
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="total data (default 1024)")
    parser.add_argument("--files", type=int, default=8, help="number of files (default 8)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender (default 3)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"where the data lives (default {DEFAULT_DATA_DIR})")
    parser.add_argument("--workers", type=int, default=None,
                        help="threads for verify_artifacts (default: riskops' own default)")
    parser.add_argument("--child", choices=["verify", "sequential"], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    if args.child:
        return child_main(args.child, data_dir, args.workers)
    if not shutil.which("sha256sum"):
        raise SystemExit("sha256sum is not on PATH; it is the baseline")
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")

    print("\n".join(machine_lines()))
    data = ensure_data(data_dir, args.size_mib, args.files)
    total = sum(f.size for f in data)
    sizes = ", ".join(f"{f.size / MIB:.1f}" for f in data)
    print(f"data:       {len(data)} files, {total / MIB:.0f} MiB (MiB each: {sizes})")

    contenders: dict[str, Callable[[], Run]] = {
        SHA256SUM: external_contender(SHA256SUM, ["sha256sum", "--"], data_dir, data),
        VERIFY: python_contender("verify", data_dir, args.workers),
        SEQUENTIAL: python_contender("sequential", data_dir, None),
    }
    if shutil.which("openssl"):
        contenders[OPENSSL] = external_contender(
            OPENSSL, ["openssl", "dgst", "-sha256", "--"], data_dir, data
        )

    print(f"load avg:   {load_average()} (before)")
    print("warm-up:    reading every file once (untimed)")
    warm_up(data_dir, data)

    names = list(contenders)
    runs: dict[str, list[Run]] = {name: [] for name in names}
    for r in range(args.repeat):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            result = contenders[name]()
            runs[name].append(result)
            print(f"  repeat {r + 1}/{args.repeat}  {name:<34} {result.seconds:7.3f} s")

    best = {name: min(run.seconds for run in runs[name]) for name in names}
    speed = {name: total / MIB / best[name] for name in names}
    rows = [["contender", "best s", "MiB/s", "vs sha256sum", "peak RSS MiB",
             "RSS growth while hashing MiB"]]
    for name in names:
        peaks = [run.peak_rss_kib for run in runs[name] if run.peak_rss_kib is not None]
        peak = f"{max(peaks) / 1024:.1f}" if peaks else "n/a"
        growths = [run.peak_rss_kib - run.rss_before_kib for run in runs[name]
                   if run.peak_rss_kib is not None and run.rss_before_kib is not None]
        growth = f"{max(growths) / 1024:.1f}" if growths else "-"
        rows.append([name, f"{best[name]:.3f}", f"{speed[name]:.0f}",
                     f"{speed[name] / speed[SHA256SUM]:.2f}x", peak, growth])

    print(f"load avg:   {load_average()} (after)")
    print()
    print(f"best of {args.repeat}, {total / MIB:.0f} MiB in {len(data)} files:")
    print(table(rows))
    ratio = speed[VERIFY] / speed[SHA256SUM]
    verdict = "MET" if ratio >= TARGET_RATIO else "NOT MET"
    print(f"\ntarget: verify_artifacts >= {TARGET_RATIO:.0%} of sha256sum's throughput: "
          f"{verdict} ({ratio:.0%})")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
