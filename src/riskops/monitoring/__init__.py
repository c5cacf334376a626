"""Model monitoring: drift and performance statistics, and the job that runs them.

    stats.py        pure drift maths over arrays (PSI, KS, JS, Wasserstein, chi-square, z)
    performance.py  pure performance maths: with labels, and estimated without (CBPE)
    verdicts.py     thresholds and the words they map to (stable, monitor, alert)
    drift.py        one feature or score checked: sample floor, missing values, statistics
    text_drift.py   a text feature's OOV rate and top terms between windows (with a vocabulary)
    skew.py         training_skew: the current window against a version's reference profile
    signed_profiles.py  those profiles, read only through the signed manifest
    inference_log.py  the only module that reads the database
    job.py          run_model_monitoring: fetch, check, emit events, set gauges, persist
    report.py       the HTML reports of monitor run and monitor compare
                    (charts.py: inline SVG charts; report_page.py: the page and its tables)

Import from the module (``from riskops.monitoring.stats import psi``).
"""
