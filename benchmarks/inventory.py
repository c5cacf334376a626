"""How long ``riskops inventory`` takes on a large registry, beside a plain read of it.

    .venv/bin/python benchmarks/inventory.py [--models 100] [--versions 50] [--live 10]
        [--repeat 5]

A fresh workspace (SQLite, the embedded default) gets
``--models`` models of ``--versions`` versions, 7 artifacts each; the first
``--live`` versions of each model went to production one after the other,
each with its two sign-offs, and every model has inventory metadata. Rows are
inserted directly (registering 5,000 signed versions would take minutes and
measure the registry, not the inventory).

Rows of the table, each the median of ``--repeat`` runs in this process:

- ``Registry.list_models`` (baseline): one pass over the models and versions
  tables, what ``riskops models list`` reads;
- ``inventory()``: the whole inventory, every model's state, last validation
  (its sign-offs judged against the policy), due date and open alerts;
- ``csv_rows(inventory())``: the same, written as the examiner's CSV.

Target: the inventory of 100 models x 50 versions within one second, so the
command, ``GET /inventory`` and the console stay interactive.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _report import cpu_model, load_average, memory_total, table, timed

from riskops.governance.inventory import csv_rows, inventory
from riskops.registry.service import Registry
from riskops.storage import db
from riskops.storage.tables import (
    ApprovalRow,
    ArtifactRow,
    InventoryRow,
    ModelRow,
    ModelVersionRow,
)
from riskops.workspace import init_workspace

TARGET_SECONDS = 1.0


def populate(ws, *, models: int, versions: int, live: int) -> None:  # type: ignore[no-untyped-def]
    from riskops.governance.digests import artifacts_digest

    start = datetime(2025, 1, 1, tzinfo=UTC)
    with db.write_transaction(ws.database_url) as session:
        for m in range(models):
            name = f"model-{m:03d}"
            history = list(range(1, live + 1))
            session.add(ModelRow(name=name, created_at=start, revision=live,
                                 production_version=live, history=json.dumps(history),
                                 pins="{}"))
            session.add(InventoryRow(model_name=name, owner="admin", tier="medium",
                                     tier_reason="benchmark", purpose="benchmark model",
                                     updated_at=start, updated_by="admin"))
            for v in range(1, versions + 1):
                made = start + timedelta(days=v)
                session.add(ModelVersionRow(model_name=name, version=v, created_at=made,
                                            author="trainer", metrics="{}", params="{}"))
                files = [(f"models/{name}/{v}/file-{i}.bin", f"{(m * 7919 + v * 31 + i):064x}",
                          1000 + i) for i in range(7)]
                session.add_all(ArtifactRow(model_name=name, version=v, path=p, sha256=h,
                                            size=s) for p, h, s in files)
                if v <= live:
                    digest = artifacts_digest(files)
                    for user, role in (("ana", "risk_lead"), ("ben", "platform_owner")):
                        session.add(ApprovalRow(model_name=name, version=v, user_name=user,
                                                role=role, decision="approve", comment="",
                                                artifacts_sha256=digest, created_at=made,
                                                purpose="promotion"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--live", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ws"
        ws = init_workspace(home).workspace
        populate(ws, models=args.models, versions=args.versions, live=args.live)
        base_time, models = timed(Registry(ws).list_models, args.repeat)
        inv_time, entries = timed(lambda: inventory(ws), args.repeat)
        csv_time, text = timed(lambda: csv_rows(inventory(ws)), args.repeat)
        assert len(models) == len(entries) == args.models  # type: ignore[arg-type]
        assert all(e["last_validation"]["version"] == args.live  # type: ignore[index]
                   for e in entries)  # type: ignore[union-attr]
        assert str(text).count("\n") == args.models + 1
        db.dispose_engines()
    print(f"# inventory: {args.models} models x {args.versions} versions "
          f"({args.live} went live, 2 sign-offs each), SQLite, median of {args.repeat}")
    print(f"# {platform.platform()}, Python {platform.python_version()}, {cpu_model()}, "
          f"{memory_total()}, load {load_average()}")
    print(table([
        ["what", "seconds", "per model (ms)", "vs baseline"],
        ["Registry.list_models (baseline)", f"{base_time:.3f}",
         f"{1000 * base_time / args.models:.2f}", "1.0x"],
        ["inventory()", f"{inv_time:.3f}", f"{1000 * inv_time / args.models:.2f}",
         f"{inv_time / base_time:.1f}x"],
        ["csv_rows(inventory())", f"{csv_time:.3f}", f"{1000 * csv_time / args.models:.2f}",
         f"{csv_time / base_time:.1f}x"],
    ]))
    met = inv_time <= TARGET_SECONDS
    print(f"target: inventory within {TARGET_SECONDS:.1f} s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
