"""Model monitoring: drift and performance statistics, and the jobs and commands that run them.

Maths (pure, arrays in, numbers out):

    stats.py          drift maths (PSI, KS, JS, Wasserstein, chi-square, z)
    summary_stats.py  the same statistics against a reference sorted or counted once
    performance.py    performance with labels, and estimated without (CBPE)
    rank_metrics.py   those metrics from sorted scores, for millions of rows
    verdicts.py       thresholds and the words they map to (stable, monitor, alert)
    alerts.py         the consecutive-breach state machine (fire after N, resolve after N)

Checks:

    drift.py          one feature or score checked: sample floor, missing values, statistics
    text_drift.py     a text feature's OOV rate and top terms between windows
    skew.py           training_skew: the current window against a version's reference profile
    checks.py         every check of one monitor run over two windows

`monitor run` (the model-monitoring job):

    windows.py        the job's options (windows, tenants, thresholds, consecutive, source)
    inference_log.py  both windows of the inference log (database or Parquet lake) in
                      DuckDB, handed out one column of one (tenant, scenario, model) at a time
    signed_profiles.py  reference profiles, read only through the signed manifest
    alerting.py       alert state, events and audit entries on transitions
    job.py            run_model_monitoring: fetch, check, alert, set gauges, persist
    mlflow_runs.py    with MLFLOW_TRACKING_URI: one MLflow run per (model, tenant)

`monitor compare` and `monitor import` (files, read through ``riskops.user_columns`` and
``riskops.user_tables``):

    chunks.py         rows split by period or size
    baselines.py      a reference column binned and sorted once
    segments.py       rows split by segment value
    compare.py        compare_files: the compare document
    backfill.py       import_predictions: history into the inference log

Reports:

    report.py         the HTML reports of monitor run and monitor compare
                      (charts.py: inline SVG charts; report_page.py: the page and its tables)

Import from the module (``from riskops.monitoring.stats import psi``).
"""
