"""How long the web console's reads take on a large registry, beside the plain model list.

    .venv/bin/python benchmarks/console.py [--models 100] [--versions 50] [--live 10]
        [--repeat 5]

The registry of ``benchmarks/inventory.py`` (``--models`` x ``--versions``, 7
artifacts each, the first ``--live`` versions of each model signed off twice
and promoted one after the other), inserted directly into a fresh SQLite
workspace. Each row is the median of ``--repeat`` runs, through the HTTP app
in this process (``TestClient``: routing, auth, JSON), beside the same app's
``GET /models`` as the baseline:

- ``GET /models`` (baseline): models with stage pointers and version numbers;
- ``GET /console/api/models``: the console's model list;
- ``GET /console/api/pending``: every version of every model judged against the
  sign-off policy, the ones waiting for approval listed;
- ``GET /console/api/models/{name}``: one model's 50 versions with verdicts.

Target: each within one second at 100 models x 50 versions, so the console
stays interactive; the pending list is checked against the expected count.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

from _report import cpu_model, load_average, memory_total, table, timed
from fastapi.testclient import TestClient
from inventory import populate

from riskops.serving.app import create_app
from riskops.storage import db
from riskops.workspace import init_workspace

TARGET_SECONDS = 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--live", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = init_workspace(Path(tmp) / "ws")
        ws = result.workspace
        populate(ws, models=args.models, versions=args.versions, live=args.live)
        auth = {"Authorization": f"Bearer {result.admin_token}"}
        with TestClient(create_app(ws)) as client:
            def get(path: str):  # type: ignore[no-untyped-def]
                answer = client.get(path, headers=auth)
                assert answer.status_code == 200, (path, answer.text[:300])
                return answer.json()

            rows = []
            base_time, _ = timed(lambda: get("/models"), args.repeat)
            for label, path in (("GET /console/api/models", "/console/api/models"),
                                ("GET /console/api/pending", "/console/api/pending"),
                                ("GET /console/api/models/{name}",
                                 "/console/api/models/model-000")):
                seconds, body = timed(lambda p=path: get(p), args.repeat)
                rows.append((label, seconds, body))
        db.dispose_engines()
    pending = rows[1][2]["pending"]
    assert len(pending) == args.models * (args.versions - args.live), len(pending)
    assert len(rows[2][2]["versions"]) == args.versions
    print(f"# console: {args.models} models x {args.versions} versions ({args.live} live, "
          f"2 sign-offs each), SQLite, median of {args.repeat}")
    print(f"# {platform.platform()}, Python {platform.python_version()}, {cpu_model()}, "
          f"{memory_total()}, load {load_average()}")
    print(table([["what", "seconds", "vs baseline"],
                 ["GET /models (baseline)", f"{base_time:.3f}", "1.0x"],
                 *[[label, f"{s:.3f}", f"{s / base_time:.1f}x"] for label, s, _ in rows]]))
    met = all(s <= TARGET_SECONDS for _, s, _ in rows)
    print(f"target: every console read within {TARGET_SECONDS:.1f} s: "
          f"{'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
