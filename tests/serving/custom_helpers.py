"""A custom scenario (``claims``) as a user brings it: a TOML config and a CSV file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CLAIMS_CONFIG = """\
[scenario]
name = "claims"
description = "Insurance claim leakage"

[columns]
id = "claim_id"
timestamp = "submitted_at"
tenant = "tenant"
label = "leak"
positive_label = "1"
segments = ["region"]
sensitive = "claimant_age_band"

[features]
numeric = ["amount", "days_to_report"]
categorical = ["channel"]

[bounds]
amount = { min = 0 }
days_to_report = { min = 0, max = 3650, integer = true }

[categories]
channel = ["web", "agent", "phone"]

[heuristic]
rules = [
  { feature = "amount", op = ">", value = 10000, points = 0.4, reason = "large claim" },
  { feature = "channel", op = "==", value = "phone", points = 0.3, reason = "phone claim" },
  { feature = "days_to_report", op = ">=", value = 30, points = 0.2, reason = "late report" },
]
threshold = 0.5
"""


def claims_frame(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    """User-named columns; leakage rises with amount, late reports and phone claims."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(8.5, 1.0, rows).round(2)
    days = rng.integers(0, 60, rows)
    channel = rng.choice(["web", "agent", "phone"], rows)
    logit = 1.5 * (np.log(amount) - 8.5) + 0.05 * (days - 30) + 1.2 * (channel == "phone") - 0.5
    leak = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    seconds = np.sort(rng.uniform(0, 90 * 86_400, rows))
    stamps = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame({
        "claim_id": [f"C-{seed}-{i:05d}" for i in range(rows)],
        "submitted_at": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tenant": rng.choice(["acme", "globex"], rows),
        "region": rng.choice(["north", "south", "east"], rows),
        "claimant_age_band": rng.choice(["18-34", "35-64", "65+"], rows),
        "amount": amount,
        "days_to_report": days,
        "channel": channel,
        "leak": leak,
    })


def write_claims(folder: Path, *, rows: int = 1200, seed: int = 0,
                 config: str = CLAIMS_CONFIG) -> tuple[Path, Path]:
    """``claims.csv`` and ``claims.toml`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "claims.csv"
    claims_frame(rows, seed).to_csv(data, index=False)
    toml = folder / "claims.toml"
    toml.write_text(config, encoding="utf-8")
    return data, toml


def claim_body(amount: float = 25_000.0, days: int = 40, channel: str = "phone") -> dict:
    return {"amount": amount, "days_to_report": days, "channel": channel}


def without_channel(config: str) -> str:
    """``config`` without its categorical feature and the rule on it (another schema)."""
    return (config.replace('categorical = ["channel"]', "")
            .replace('[categories]\nchannel = ["web", "agent", "phone"]\n', "")
            .replace('  { feature = "channel", op = "==", value = "phone", points = 0.3, '
                     'reason = "phone claim" },\n', ""))
