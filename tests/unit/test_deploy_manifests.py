"""The deployment files keep what deploy/README.md promises, without Docker or a cluster.

Three Kafka brokers with three copies of every partition and two in sync; a three-member
replica set; every service started with settings that the production check in
shared/settings.py accepts; one reporting replica; non-root images with health checks; and
Kubernetes manifests, as ``kubectl kustomize`` renders them, with probes, resources, a
restricted security context and an autoscaler for each service that may scale.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from services.cards.settings import CardsSettings
from services.distribution.settings import DistributionSettings
from services.helpline.settings import HelplineSettings
from services.registry.settings import RegistrySettings
from services.reporting.settings import ReportingSettings
from shared.settings import ServiceSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PORTS = {"registry": 8001, "cards": 8002, "distribution": 8003, "helpline": 8004, "reporting": 8005}
SCALABLE = ("registry", "cards", "distribution", "helpline")
SETTINGS: dict[str, type[ServiceSettings]] = {
    "registry": RegistrySettings,
    "cards": CardsSettings,
    "distribution": DistributionSettings,
    "helpline": HelplineSettings,
    "reporting": ReportingSettings,
}
PRODUCTION = {
    "BENSYS_ENVIRONMENT": "production",
    "BENSYS_KAFKA_ACKS": "all",
    "BENSYS_KAFKA_ENABLE_IDEMPOTENCE": "true",
    "BENSYS_MONGO_WRITE_CONCERN": "majority",
    "BENSYS_KAFKA_REPLICATION_FACTOR": "3",
}
SECRETS = ("BENSYS_JWT_SECRET", "BENSYS_MASTER_KEY")
# What an operator exports before `docker compose up`, as deploy/README.md says.
OPERATOR_SECRETS = {
    "BENSYS_JWT_SECRET": base64.b64encode(b"j" * 32).decode(),
    "BENSYS_MASTER_KEY": base64.b64encode(b"k" * 32).decode(),
}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::(?P<op>[?-])(?P<arg>[^}]*))?\}")


@cache
def compose() -> dict[str, Any]:
    with (DEPLOY / "compose.yaml").open() as file:
        document: dict[str, Any] = yaml.safe_load(file)  # resolves the <<: merge keys
    return document


def compose_service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = compose()["services"][name]
    return service


def by_image(prefix: str) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose()["services"]
    return {name: s for name, s in services.items() if str(s.get("image", "")).startswith(prefix)}


def interpolate(value: str, exported: Mapping[str, str]) -> str:
    """What compose makes of ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?message}``."""

    def one(match: re.Match[str]) -> str:
        name = match["name"]
        if name in exported:
            return exported[name]
        assert match["op"] == "-", f"compose refuses to start without {name}"
        return match["arg"]

    return INTERPOLATION.sub(one, value)


def accepted_by_production_check(service: str, env: Mapping[str, str]) -> ServiceSettings:
    """The service's own settings class, built from ``env`` alone, as its process would."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("BENSYS_")]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        return SETTINGS[service]()


# ---- compose.yaml ----------------------------------------------------------------------


def test_kafka_is_three_kraft_nodes_keeping_three_copies_with_two_in_sync() -> None:
    brokers = by_image("apache/kafka")
    assert len(brokers) == 3
    envs = [broker["environment"] for broker in brokers.values()]
    assert sorted(env["KAFKA_NODE_ID"] for env in envs) == [1, 2, 3]
    assert len({env["CLUSTER_ID"] for env in envs}) == 1, "one cluster, not three"
    voters = {
        f"{env['KAFKA_NODE_ID']}@{name}:9093" for name, env in zip(brokers, envs, strict=True)
    }
    for env in envs:
        assert "controller" in env["KAFKA_PROCESS_ROLES"]
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 2
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_mongo_is_one_replica_set_of_three_members_initiated_with_all_three() -> None:
    members = by_image("mongo:8.0")
    members.pop("mongo-init")
    assert len(members) == 3
    for member in members.values():
        command = member["command"]
        assert command[command.index("--replSet") + 1] == "rs0"
    script = (DEPLOY / "mongo" / "init-replica-set.js").read_text()
    listed = re.search(r"const MEMBERS = \[(.*?)\];", script)
    assert listed is not None
    assert set(re.findall(r'"([\w-]+):27017"', listed[1])) == set(members)
    assert 'rs.initiate({ _id: "rs0"' in script


@pytest.mark.parametrize("service", PORTS)
def test_every_service_is_configured_for_production(service: str) -> None:
    env = compose_service(service)["environment"]
    assert {name: env.get(name) for name in PRODUCTION} == PRODUCTION
    for name in SECRETS:  # taken from the operator's shell, and compose stops without it
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", env[name]), f"{name} is hard-coded"
    assert set(env["BENSYS_KAFKA_BOOTSTRAP"].split(",")) == {
        f"{b}:9092" for b in by_image("apache/kafka")
    }
    hosts = re.fullmatch(r"mongodb://([^/]+)/\?replicaSet=rs0", env["BENSYS_MONGO_URL"])
    assert hosts is not None
    assert {h.split(":")[0] for h in hosts[1].split(",")} == {"mongo-1", "mongo-2", "mongo-3"}


@pytest.mark.parametrize("service", PORTS)
def test_the_production_check_accepts_what_compose_gives_each_service(service: str) -> None:
    env = compose_service(service)["environment"]
    resolved = {name: interpolate(str(value), OPERATOR_SECRETS) for name, value in env.items()}
    settings = accepted_by_production_check(service, resolved)
    assert settings.environment == "production"


def test_reporting_runs_one_replica_and_the_others_several() -> None:
    assert compose_service("reporting")["deploy"]["replicas"] == 1
    for service in SCALABLE:
        assert compose_service(service)["deploy"]["replicas"] >= 2


def test_only_edge_publishes_the_service_ports_and_only_on_the_chosen_address() -> None:
    services: dict[str, dict[str, Any]] = compose()["services"]
    for service in PORTS:  # replicas cannot share a host port
        assert "ports" not in services[service]
    published = {p.rsplit(":", 2)[1] for p in services["edge"]["ports"]}
    assert published == {str(port) for port in PORTS.values()}
    for name, definition in services.items():
        for port in definition.get("ports", []):
            assert port.startswith("${BENSYS_PUBLISH_ADDR:-127.0.0.1}:"), f"{name} publishes {port}"


def test_edge_sends_each_port_to_its_own_service() -> None:
    config = (DEPLOY / "nginx.conf").read_text()
    routes = dict(re.findall(r"listen (\d+);\s*location / \{\s*set \$service ([\w:-]+);", config))
    assert routes == {str(port): f"{name}:{port}" for name, port in PORTS.items()}
    assert "resolver 127.0.0.11" in config, "without Docker's DNS, replicas are not followed"


def test_prometheus_scrapes_every_replica_of_every_service() -> None:
    with (DEPLOY / "prometheus.yml").open() as file:
        jobs = {job["job_name"]: job for job in yaml.safe_load(file)["scrape_configs"]}
    discovered = {
        name: sd["port"] for sd in jobs["bensys"]["dns_sd_configs"] for name in sd["names"]
    }
    assert discovered == PORTS
    assert all(sd["type"] == "A" for sd in jobs["bensys"]["dns_sd_configs"])


# ---- Dockerfiles -----------------------------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [line for line in dockerfile.read_text().splitlines() if not line.startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.strip().partition(" ") for line in joined.splitlines())
        if word
    ]


def last(dockerfile: Path, instruction: str) -> str:
    found = [args for word, args in instructions(dockerfile) if word == instruction]
    assert found, f"{dockerfile.name} has no {instruction}"
    return found[-1]


@pytest.mark.parametrize("service", PORTS)
def test_each_service_image_runs_its_service_as_non_root_with_a_health_check(service: str) -> None:
    dockerfile = DEPLOY / "docker" / f"{service}.Dockerfile"
    assert last(dockerfile, "FROM") == "bensys-base"
    assert last(dockerfile, "USER").split(":")[0] not in {"root", "0"}
    assert "/health" in (DEPLOY / "docker" / "healthcheck.py").read_text()
    assert "healthcheck.py" in last(dockerfile, "HEALTHCHECK")
    env = last(dockerfile, "ENV")
    assert f"BENSYS_SERVICE={service}" in env
    assert f"BENSYS_HTTP_PORT={PORTS[service]}" in env
    assert f"services.{service}" in last(dockerfile, "CMD")
    build = compose_service(service)["build"]
    assert build["dockerfile"] == f"deploy/docker/{service}.Dockerfile"
    assert build["additional_contexts"] == {"bensys-base": "service:bensys-base"}


def test_the_base_image_is_non_root_and_leaves_the_dev_tools_out() -> None:
    dockerfile = DEPLOY / "Dockerfile"
    assert last(dockerfile, "USER").split(":")[0] not in {"root", "0"}
    assert "healthcheck.py" in last(dockerfile, "HEALTHCHECK")
    installs = [args for word, args in instructions(dockerfile) if "pip install" in args]
    assert any("-c requirements.lock" in args for args in installs), "pins come from the lock"
    assert not any("-r requirements.lock" in args for args in installs), "the lock has dev tools"
    assert compose_service("bensys-base")["build"]["dockerfile"] == "deploy/Dockerfile"


# ---- k8s/ ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH: the manifests are rendered by `kubectl kustomize`")
    run = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return [doc for doc in yaml.safe_load_all(run.stdout) if doc]


def of_kind(rendered: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in rendered if doc["kind"] == kind}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = only
    return found


def k8s_env(rendered: list[dict[str, Any]], service: str) -> dict[str, Any]:
    """The container's environment: the ConfigMaps it reads, then its own entries."""
    spec = container(of_kind(rendered, "Deployment")[service])
    config_maps = of_kind(rendered, "ConfigMap")
    env: dict[str, Any] = {}
    for source in spec.get("envFrom", []):
        env |= config_maps[source["configMapRef"]["name"]]["data"]
    for entry in spec.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


def test_one_deployment_and_one_service_for_each_service_on_its_port(rendered: Any) -> None:
    deployments = of_kind(rendered, "Deployment")
    assert set(deployments) == set(PORTS)
    for name, port in PORTS.items():
        spec = container(deployments[name])
        assert spec["image"].split(":")[0] == f"bensys-{name}"
        assert spec["ports"] == [{"name": "http", "containerPort": port}]
        (service_port,) = of_kind(rendered, "Service")[name]["spec"]["ports"]
        assert (service_port["port"], service_port["targetPort"]) == (port, "http")


@pytest.mark.parametrize("service", PORTS)
def test_each_deployment_probes_ready_and_alive_on_its_http_port(
    rendered: Any, service: str
) -> None:
    spec = container(of_kind(rendered, "Deployment")[service])
    assert spec["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    resources = spec["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]


@pytest.mark.parametrize("service", PORTS)
def test_each_pod_runs_as_non_root_read_only_without_capabilities(
    rendered: Any, service: str
) -> None:
    pod = of_kind(rendered, "Deployment")[service]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container(of_kind(rendered, "Deployment")[service])["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("service", PORTS)
def test_each_deployment_gets_production_settings_and_secrets_only_by_reference(
    rendered: Any, service: str
) -> None:
    env = k8s_env(rendered, service)
    assert {name: env.get(name) for name in PRODUCTION} == PRODUCTION
    for name in (*SECRETS, "BENSYS_MONGO_URL"):
        assert set(env[name]) == {"secretKeyRef"}, f"{name} must come from a Secret"
    assert not of_kind(rendered, "Secret"), "secret values do not belong in the manifests"


@pytest.mark.parametrize("service", PORTS)
def test_the_production_check_accepts_what_kubernetes_gives_each_service(
    rendered: Any, service: str
) -> None:
    env = {
        name: value for name, value in k8s_env(rendered, service).items() if isinstance(value, str)
    }
    env |= OPERATOR_SECRETS | {"BENSYS_MONGO_URL": "mongodb://m-0,m-1,m-2/?replicaSet=rs0"}
    assert accepted_by_production_check(service, env).environment == "production"


def test_the_scalable_services_autoscale_on_cpu_and_reporting_stays_alone(rendered: Any) -> None:
    autoscalers = of_kind(rendered, "HorizontalPodAutoscaler")
    targets = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in autoscalers.values()}
    assert set(targets) == set(SCALABLE)
    for hpa in targets.values():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["minReplicas"] >= 2
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    reporting = of_kind(rendered, "Deployment")["reporting"]["spec"]
    assert reporting["replicas"] == 1
    assert reporting["strategy"] == {"type": "Recreate"}
