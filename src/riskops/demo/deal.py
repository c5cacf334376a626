"""The demo's second model: sales-deal risk, whose loss rate jumps in one region.

``deal`` v1 is trained on a quarter of generated deals and goes live through
the same sign-offs and gates as fraud. The next quarter's deals carry prior
drift in EMEA only (a budget freeze there: far more deals lost), so after the
live traffic and its outcomes, monitoring finds EMEA's calibration degraded
while the other regions stay within their thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from riskops.config import Workspace
from riskops.tokens import Identity

MODEL = "deal"
ROWS = 20_000
#: Live deals replayed over HTTP: enough for each region to be measured on its own.
LIVE_ROWS = 2_000
#: Days of Q2 the live deals are drawn from (and of Q1 the reference).
LIVE_DAYS = 14
DRIFT_FROM = date(2026, 5, 1)
DRIFT_SEGMENT = "region=emea"


@dataclass(frozen=True)
class DealRun:
    """What the serving half needs: the version live and the two quarters' files."""

    version: int
    reference: Path
    drifted: Path
    promotion: dict[str, Any]

    @property
    def drift_from(self) -> datetime:
        return datetime(DRIFT_FROM.year, DRIFT_FROM.month, DRIFT_FROM.day, tzinfo=UTC)


def train_and_promote(ws: Workspace, people: dict[str, Identity], data_dir: Path, *,
                      actor: str, say: Callable[[str], None]) -> DealRun:
    """Generate two quarters of deals, train v1 on the first, sign it off and promote it."""
    from riskops.demo.governed import sign_off_and_promote
    from riskops.scenarios.generate import generate_to_file
    from riskops.training.pipeline import train_scenario

    first = data_dir / "deal-2026q1.parquet"
    later = data_dir / "deal-2026q2-emea-drifted.parquet"
    # One sales organisation: one tenant, so every region has enough outcomes to measure.
    generate_to_file(MODEL, rows=ROWS, start=date(2026, 1, 1), days=90, out=first, seed=1,
                     tenants=1)
    generate_to_file(MODEL, rows=ROWS, start=date(2026, 4, 1), days=91, out=later, seed=2,
                     tenants=1, drift_from=DRIFT_FROM, drift_kind="prior",
                     drift_segment=DRIFT_SEGMENT)
    trained = train_scenario(ws, MODEL, first, seed=0, actor=actor)
    version = trained["version"]
    validation = trained["metrics"]["validation"]
    say(f"6. sales-deal risk: generated {ROWS:,} open deals for 2026-Q1 and {ROWS:,} for Q2 "
        f"(more deals lost in EMEA from {DRIFT_FROM.isoformat()}: prior drift in "
        f"{DRIFT_SEGMENT} only); trained {MODEL} v{version} on Q1: ROC AUC "
        f"{validation['roc_auc']:.3f}, Brier {validation['brier']:.3f}")
    signed = sign_off_and_promote(ws, MODEL, version, people, actor=actor, say=say)
    say(f"   promoted {MODEL} v{version} to production (manifest v{signed['manifest_version']})")
    return DealRun(version=version, reference=first, drifted=later, promotion=signed)


def import_reference(ws: Workspace, run: DealRun, *, now: datetime) -> int:
    """Q1 deals scored by v1 as last month's decisions: deal's monitoring reference.

    Deals are seasonal (``days_to_close`` counts down to the quarter's end), so
    the reference is a sample of the same days before the previous quarter's
    end as the live traffic covers: from January 30 (60 days before March 31)
    for traffic from May 1 (60 days before June 30).
    """
    from datetime import timedelta

    import pandas as pd

    from riskops.demo.traffic import REFERENCE_ROWS, import_history

    live_start = pd.Timestamp(run.drift_from)
    before_end = _quarter_end(live_start) - live_start
    start = _quarter_end(live_start - pd.DateOffset(months=3)) - before_end
    history = _sample_of_days(run.reference, start, REFERENCE_ROWS)
    return import_history(ws, history, model=MODEL, version=run.version,
                          start=now - timedelta(days=58), end=now - timedelta(days=31)).added


def replay_with_outcomes(url: str, scorer: str, reviewer: Any, run: DealRun
                         ) -> dict[str, Any]:
    """POST Q2's drifted deals to /risk/deal, then their outcomes (lost/slipped or won)."""
    import pandas as pd

    from riskops.demo.traffic import replay
    from riskops.scenarios import get_scenario

    live = _sample_of_days(run.drifted, pd.Timestamp(run.drift_from), LIVE_ROWS)
    schema = get_scenario(MODEL).schema
    # The segment values ride along (optional request fields) so monitoring can slice by them.
    sent = replay(url, scorer, live, [*schema.feature_names, *schema.segments],
                  route=f"/risk/{MODEL}")
    outcomes = [{"prediction_id": r["prediction_id"], "label": r["true_label"]}
                for r in sent["responses"]]
    for start in range(0, len(outcomes), 1000):
        reviewer.post("/outcomes", json={"outcomes": outcomes[start:start + 1000]}
                      ).raise_for_status()
    return {"requests": len(sent["responses"]), "rate": sent["rate"],
            "outcomes": len(outcomes)}


def _sample_of_days(path: Path, start: Any, rows: int) -> Any:
    """``rows`` rows (seeded sample, in time order) of the ``LIVE_DAYS`` days from
    ``start`` in the deals file ``path``."""
    import pandas as pd

    frame = pd.read_parquet(path)
    days = frame[(frame["timestamp"] >= start)
                 & (frame["timestamp"] < start + pd.Timedelta(days=LIVE_DAYS))]
    return days.sample(n=min(rows, len(days)), random_state=0).sort_values("timestamp")


def _quarter_end(stamp: Any) -> Any:
    """Midnight starting the last day of ``stamp``'s quarter, in ``stamp``'s zone."""
    import pandas as pd

    last = stamp.tz_localize(None).to_period("Q").end_time.normalize()
    return pd.Timestamp(last, tz=stamp.tz)


def calibration_line(results: list[dict[str, Any]], column: str = "region") -> str | None:
    """One line: each ``column`` value's Brier and ECE from deal's monitoring performance
    check, and which breach their thresholds; None when nothing was measured."""
    found = [r for r in results if r.get("check") == "performance"
             and r.get("scenario") == MODEL and r.get("segment_calibration")]
    parts = []
    for result in found:
        section = result["segment_calibration"]
        for entry in section["segments"]:
            if entry["column"] != column or entry["status"] != "checked":
                continue
            over = [f"{d['metric']} over {d['threshold']:.2f}" for d in entry["degraded"]]
            parts.append(f"{entry['value']} Brier {entry['brier']:.3f} ECE {entry['ece']:.3f}"
                         + (f" ({', '.join(over)})" if over else ""))
    if not parts:
        return None
    return f"    {MODEL} calibration by {column}, from the recorded outcomes: " + "; ".join(parts)
