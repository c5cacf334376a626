"""The inference log of one time window, as a DataFrame: the monitoring job's only read.

Predictions (``predictions``) with their newest outcome (``outcomes``, the
row recorded last wins) and whether any reviewer overrode them
(``feedback.override``). Everything else in monitoring works on the frame,
so switching this read to the Parquet lake changes this module only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from riskops.storage.predictions import read_window

COLUMNS = ("id", "created_at", "tenant_id", "scenario", "model_name", "model_version",
           "method", "inputs", "score", "label", "threshold", "outcome", "override")


def load_inference_log(
    database_url: str, *, start: datetime, end: datetime,
    tenants: Sequence[str] | None = None, scenarios: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Predictions made in ``[start, end)``, optionally of some tenants and scenarios.

    Returns one row per prediction with the columns in ``COLUMNS``: ``inputs``
    is the decoded feature dict, ``outcome`` the newest ground-truth label or
    ``None``, ``override`` True when any feedback overrode the prediction.
    """
    rows = [{**row, "inputs": _decode(row["inputs"]), "score": float(row["score"])}
            for row in read_window(database_url, start=start, end=end, tenants=tenants,
                                   scenarios=scenarios)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _decode(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
