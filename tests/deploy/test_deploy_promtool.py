"""promtool on deploy/prometheus: the rules and config load, every alert rule's unit
tests pass, and every dashboard query parses as PromQL."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from deploy_helpers import DEPLOY, dashboard_exprs, promtool

PROMETHEUS = DEPLOY / "prometheus"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False)


def test_alert_rules_load() -> None:
    done = run("check", "rules", PROMETHEUS / "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 7 rules found" in done.stdout


def test_alert_rule_unit_tests_pass() -> None:
    done = run("test", "rules", PROMETHEUS / "alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_rule_has_a_firing_and_a_quiet_unit_test() -> None:
    rules = {r["alert"] for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
             for r in g["rules"]}
    cases = [case for test in yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
             for case in test.get("alert_rule_test", [])]
    firing = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert rules == firing == quiet


def test_unit_tests_fail_when_a_rule_changes(tmp_path: Path) -> None:
    """The drift tests pin 3 scrapes: `for: 15s` (2 scrapes) fails them."""
    rules = (PROMETHEUS / "alerts.yml").read_text()
    assert rules.count("        for: 30s\n") == 1
    (tmp_path / "alerts.yml").write_text(rules.replace("        for: 30s\n", "        for: 15s\n"))
    (tmp_path / "alerts_test.yml").write_text((PROMETHEUS / "alerts_test.yml").read_text())
    done = run("test", "rules", tmp_path / "alerts_test.yml")
    assert done.returncode != 0
    assert "RiskopsFeatureDrift, time: 30s" in done.stdout + done.stderr


def test_prometheus_config_loads_with_its_rules() -> None:
    done = run("check", "config", PROMETHEUS / "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 1 rule files found" in done.stdout


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """Each panel query, its Grafana variables filled in, as a recording rule."""
    grafana = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}
    rules = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        for expr in dashboard_exprs(json.loads(path.read_text())):
            for name, value in grafana.items():
                expr = expr.replace(name, value)
            rules.append({"record": f"dashboard:{path.stem.replace('-', '_')}:{len(rules)}",
                          "expr": re.sub(r"\$\w+", ".*", expr)})
    assert len(rules) > 20
    target = tmp_path / "dashboard-queries.yml"
    target.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = run("check", "rules", target)
    assert done.returncode == 0, done.stdout + done.stderr
