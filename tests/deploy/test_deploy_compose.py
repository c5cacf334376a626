"""deploy/compose.yaml, read with PyYAML (Docker does not run here): its services, each
riskops command and option against the real CLI, environment names against
riskops.config, and every local file it mounts or builds from."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_helpers import DEPLOY, REPO, cli_problems, riskops_commands

from riskops import config

COMPOSE = DEPLOY / "compose.yaml"
RISKOPS_SERVICES = {"init", "riskops-1", "riskops-2", "scheduler", "worker"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]  # type: ignore[no-any-return]


def test_every_service_is_there(services: dict[str, Any]) -> None:
    assert set(services) == RISKOPS_SERVICES | {"postgres", "rabbitmq", "prometheus", "grafana"}


def test_riskops_services_run_real_commands_with_real_options(services: dict[str, Any]) -> None:
    commands = {name: services[name]["command"] for name in sorted(RISKOPS_SERVICES)}
    assert {name: argv[:2] for name, argv in commands.items()} == {
        "init": ["riskops", "init"], "riskops-1": ["riskops", "serve"],
        "riskops-2": ["riskops", "serve"], "scheduler": ["riskops", "scheduler"],
        "worker": ["riskops", "worker"]}
    problems = {name: cli_problems(argv) for name, argv in commands.items()}
    assert problems == {name: [] for name in commands}
    assert riskops_commands("riskops serve --host 0.0.0.0")  # the helper reads shell too


def test_replicas_listen_on_all_addresses_and_the_scraped_ports(
        services: dict[str, Any]) -> None:
    for replica in ("riskops-1", "riskops-2"):
        argv = services[replica]["command"]
        assert argv[argv.index("--host") + 1] == "0.0.0.0"
        assert argv[argv.index("--port") + 1] == "4006"
    scraped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in scraped["scrape_configs"] for c in job["static_configs"]
               for t in c["targets"]}
    assert {"riskops-1:4006", "riskops-2:4006"} <= targets
    for name in ("scheduler", "worker"):
        argv = services[name]["command"]
        port = argv[argv.index("--metrics-port") + 1]
        assert argv[argv.index("--metrics-addr") + 1] == "0.0.0.0"
        assert f"{name}:{port}" in targets


def test_environment_names_are_riskops_settings(services: dict[str, Any]) -> None:
    known = {value for key, value in vars(config).items() if key.startswith("ENV_")}
    for name in RISKOPS_SERVICES:
        env = services[name]["environment"]
        riskops_names = {key for key in env if key.startswith(("RISKOPS_", "RISK_"))}
        assert riskops_names <= known, name
        assert {config.ENV_HOME, config.ENV_DATABASE_URL, config.ENV_AMQP_URL} <= set(env)
        assert env[config.ENV_DATABASE_URL].startswith("postgresql+psycopg://")
        assert env[config.ENV_AMQP_URL].startswith("amqp://")
        home = env[config.ENV_HOME]
        assert f"riskops-home:{home}" in services[name]["volumes"]  # one shared workspace


def test_services_start_after_the_workspace_exists(services: dict[str, Any]) -> None:
    for name in RISKOPS_SERVICES - {"init"}:
        assert services[name]["depends_on"]["init"] == {
            "condition": "service_completed_successfully"}
    assert services["init"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def _local_sources(services: dict[str, Any]) -> list[str]:
    sources = []
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                sources.append(source)
    return sources


def test_every_mounted_file_exists(services: dict[str, Any]) -> None:
    sources = _local_sources(services)
    assert len(sources) >= 5
    missing = [s for s in sources if not (DEPLOY / s).exists()]
    assert missing == []
    mounted = {(DEPLOY / s).resolve() for s in sources}
    assert (DEPLOY / "prometheus" / "alerts.yml").resolve() in mounted
    assert (DEPLOY / "grafana" / "dashboards").resolve() in mounted


def test_image_builds_from_files_that_exist(services: dict[str, Any]) -> None:
    build = services["riskops-1"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == REPO
    dockerfile = context / build["dockerfile"]
    copied = [line.split()[1:-1] for line in dockerfile.read_text().splitlines()
              if line.startswith("COPY ")]
    assert [s for sources in copied for s in sources if not (context / s).exists()] == []
    assert "pip install -r requirements.lock" in dockerfile.read_text()


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards(
        services: dict[str, Any]) -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"]
    assert (source["uid"], source["type"]) == ("prometheus", "prometheus")
    assert re.fullmatch(r"http://prometheus:9090/?", source["url"])
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "provider.yml").read_text())[
        "providers"]
    assert "./grafana/dashboards:" + provider["options"]["path"] + ":ro" in services[
        "grafana"]["volumes"]


def test_prometheus_reads_the_mounted_config_and_rules(services: dict[str, Any]) -> None:
    volumes = services["prometheus"]["volumes"]
    config_file = next(a.split("=", 1)[1] for a in services["prometheus"]["command"]
                       if a.startswith("--config.file="))
    assert f"./prometheus/prometheus.yml:{config_file}:ro" in volumes
    rules = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["rule_files"]
    for rule_file in rules:
        assert f"./prometheus/{rule_file}:{Path(config_file).parent / rule_file}:ro" in volumes


def test_named_volumes_are_declared(services: dict[str, Any]) -> None:
    declared = set(yaml.safe_load(COMPOSE.read_text())["volumes"])
    used = {volume.split(":", 1)[0] for service in services.values()
            for volume in service.get("volumes", []) if not volume.startswith((".", "/"))}
    assert used == declared
