"""Model monitoring: drift and performance statistics, and the job that runs them.

    stats.py        pure drift maths over arrays (PSI, KS, JS, Wasserstein, chi-square, z)
    performance.py  pure performance maths: with labels, and estimated without (CBPE)
    verdicts.py     thresholds and the words they map to (stable, monitor, alert)
    drift.py        one feature or score checked: sample floor, missing values, statistics
    inference_log.py  the only read: both windows of the inference log (database or Parquet
                    lake) in DuckDB, handed out column by column
    job.py          run_model_monitoring: fetch, check, emit events, set gauges, persist

Import from the module (``from riskops.monitoring.stats import psi``).
"""
