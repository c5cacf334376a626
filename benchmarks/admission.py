"""What admitting a manifest costs a replica, beside the bare signature check.

    .venv/bin/python benchmarks/admission.py [--manifests 1000] [--rotations 3] [--repeat 20]

A fresh workspace (SQLite, the embedded default) publishes ``--manifests``
manifests (each one written to the archive, as every publish does) and
rotates its key ``--rotations`` times. Rows of the table, each the median of
``--repeat`` runs in this process:

- ``read_verified_manifest`` against ``public.pem`` (baseline): what serving
  did before trust anchors, one ECDSA verification;
- ``workspace_trust``: the key chain read from the database and followed
  from the anchor (every statement's signatures verified);
- ``admit_manifest``: what ``riskops serve`` and ``riskops verify`` now do on
  every manifest change: the chain, the signature against the trusted keys,
  this host's high-water mark, the database's newest manifest and the newest
  validly signed manifest in the archive.

Target: admitting a manifest within 50 ms, so a replica follows a change
well within its 2 s poll interval. It runs only when the manifest files change.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from _report import cpu_model, load_average, memory_total, table, timed

from riskops.registry.floor import admit_manifest
from riskops.registry.manifest import read_verified_manifest
from riskops.registry.publish import record_change, sync_manifest_files
from riskops.registry.trust import workspace_trust
from riskops.storage import db
from riskops.workspace import init_workspace, rotate_keys

TARGET_SECONDS = 0.050


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--rotations", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RISKOPS_STATE_DIR"] = str(Path(tmp) / "state")
        ws = init_workspace(Path(tmp) / "ws").workspace
        for _ in range(args.rotations):
            rotate_keys(ws, actor="bench")
        for n in range(args.manifests):
            with db.write_transaction(ws.database_url) as session:
                record_change(session, ws, now=datetime.now(UTC), actor="bench",
                              action="bench.change", subject=str(n), data={})
            sync_manifest_files(ws)
        base, _ = timed(lambda: read_verified_manifest(ws.manifest_path, ws.signature_path,
                                                       ws.public_key_path), args.repeat)
        chain, trust = timed(lambda: workspace_trust(ws), args.repeat)
        admit, admission = timed(lambda: admit_manifest(ws), args.repeat)
        assert not trust.problems and len(trust.known) == args.rotations + 1  # type: ignore[union-attr]
        assert not admission.refused and not admission.problems  # type: ignore[union-attr]
        db.dispose_engines()
    published = args.manifests + args.rotations + 1
    print(f"# admission: {published} manifests published, {args.rotations} rotations, SQLite, "
          f"median of {args.repeat}")
    print(f"# {platform.platform()}, Python {platform.python_version()}, {cpu_model()}, "
          f"{memory_total()}, load {load_average()}")
    print(table([
        ["what", "ms", "vs baseline"],
        ["read_verified_manifest (baseline)", f"{1000 * base:.2f}", "1.0x"],
        ["workspace_trust", f"{1000 * chain:.2f}", f"{chain / base:.1f}x"],
        ["admit_manifest", f"{1000 * admit:.2f}", f"{admit / base:.1f}x"],
    ]))
    met = admit <= TARGET_SECONDS
    print(f"target: admission within {1000 * TARGET_SECONDS:.0f} ms: "
          f"{'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
