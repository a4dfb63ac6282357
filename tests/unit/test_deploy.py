"""deploy/: the compose cluster and the Kubernetes manifests create what the engine would.

Checked here as far as a machine without a Docker daemon or a Kubernetes cluster allows: the
files parse, the topics they create carry the configs of ``schemas/topics.py`` (as
``ensure_topics`` would create them), every service runs the one image, the settings they set
are valid ``Settings``, and the core Kubernetes objects pass the API schemas.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from dispatch.routers import group_id
from dispatch.stack import SERVICES
from services.common.bus import catalog_configs
from services.common.settings import Settings
from tests.conftest import docker_answers

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
IMAGE = "dispatch-engine"
CORE_KINDS = {"Deployment", "Service", "ConfigMap", "Secret", "Namespace"}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def k8s() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in k8s() if d["kind"] == kind]


def dispatch_services() -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose()["services"].items() if s["image"].startswith(IMAGE)}


def created_topics(script: str) -> dict[str, tuple[int, int, dict[str, str]]]:
    """``kafka-topics.sh --create`` lines → topic: (partitions, replication, configs)."""
    variables = dict(re.findall(r"^\s*(\w+)=(\S+)$", script, re.M))
    out = {}
    for line in script.splitlines():
        if "kafka-topics.sh" not in line:
            continue
        words = [w.replace("$$", "$") for w in shlex.split(line)]
        words = [variables.get(w[1:], w) if w.startswith("$") else w for w in words]
        arg = {words[i]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("--")}
        configs = dict(words[i + 1].split("=", 1) for i, w in enumerate(words) if w == "--config")
        out[arg["--topic"]] = (int(arg["--partitions"]), int(arg["--replication-factor"]), configs)
    return out


def test_the_compose_cluster_has_three_kraft_brokers_with_replication_3_and_min_isr_2() -> None:
    brokers = {n: s for n, s in compose()["services"].items() if n.startswith("kafka-")}
    assert len(brokers) == 3
    envs = [s["environment"] for s in brokers.values()]
    assert sorted(e["KAFKA_NODE_ID"] for e in envs) == [1, 2, 3]
    for env in envs:
        assert len(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == 3
        assert "controller" in env["KAFKA_PROCESS_ROLES"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert len({e["CLUSTER_ID"] for e in envs}) == 1


def test_compose_creates_every_catalog_topic_as_the_engine_would() -> None:
    topics_step = compose()["services"]["topics"]
    created = created_topics(topics_step["command"][0])
    env = next(iter(dispatch_services().values()))["environment"]
    settings = Settings(**{k.removeprefix("DISPATCH_").lower(): v for k, v in env.items()})
    expected = catalog_configs(settings.min_insync_replicas)
    assert set(created) == set(expected)
    for name, (partitions, replication, configs) in created.items():
        assert partitions == settings.partitions
        assert replication == settings.replication_factor == 3
        assert configs == expected[name], name
    for service in dispatch_services().values():
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_every_compose_service_runs_the_one_image_and_two_routers_share_the_group() -> None:
    services = dispatch_services()
    assert {s["image"] for s in services.values()} == {f"{IMAGE}:latest"}
    assert {s["build"]["dockerfile"] for s in services.values()} == {"deploy/Dockerfile"}
    commands = sorted(s["command"][0] for s in services.values())
    assert commands == sorted([*SERVICES, "router"])
    assert len({str(s["environment"]) for s in services.values()}) == 1


def test_the_image_is_slim_and_runs_as_a_user_not_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all(image.endswith("-slim") for image in stages)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["dispatch"\]', text, re.M)


def test_strimzi_topics_match_the_catalog_and_the_routers_partitions() -> None:
    settings_map = of_kind("ConfigMap")[0]["data"]
    settings = Settings(
        **{k.removeprefix("DISPATCH_").lower(): v for k, v in settings_map.items()},
        kafka_sasl_password="from-the-kafka-user-secret",
    )
    expected = catalog_configs(settings.min_insync_replicas)
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind("KafkaTopic")}
    assert set(topics) == set(expected)
    for name, spec in topics.items():
        assert spec["config"] == expected[name], name
        assert spec["partitions"] == settings.partitions
        assert spec["replicas"] == settings.replication_factor == 3
    kafka = of_kind("Kafka")[0]["spec"]["kafka"]
    assert kafka["config"]["min.insync.replicas"] == settings.min_insync_replicas == 2
    assert sum(p["spec"]["replicas"] for p in of_kind("KafkaNodePool")) == 3
    listener = next(lst for lst in kafka["listeners"] if lst["tls"])
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.kafka_bootstrap is not None
    assert settings.kafka_bootstrap.endswith(f":{listener['port']}")


def test_a_deployment_per_service_from_one_image_with_settings_from_configmap_and_secret() -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    assert set(deployments) == {f"dispatch-{name}" for name in SERVICES}
    containers = {n: d["spec"]["template"]["spec"]["containers"][0] for n, d in deployments.items()}
    assert len({c["image"].split(":")[0] for c in containers.values()}) == 1
    for name, container in containers.items():
        assert container["args"] == [name.removeprefix("dispatch-")]
        refs = {next(iter(r)) for r in container["envFrom"]}
        assert refs == {"configMapRef", "secretRef"}
        assert container["securityContext"]["runAsNonRoot"] is True
    for probed in ("dispatch-intake", "dispatch-console"):  # no token needed for either
        for probe in ("readinessProbe", "livenessProbe"):
            assert containers[probed][probe]["httpGet"]["path"] == "/healthz", probed


def test_the_router_scales_on_its_groups_lag_up_to_one_replica_per_partition() -> None:
    scaled = of_kind("ScaledObject")[0]["spec"]
    assert scaled["scaleTargetRef"]["name"] == "dispatch-router"
    trigger = scaled["triggers"][0]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == group_id(Settings())
    partitions = int(of_kind("ConfigMap")[0]["data"]["DISPATCH_PARTITIONS"])
    assert scaled["minReplicaCount"] >= 2
    assert scaled["maxReplicaCount"] == partitions
    auth = of_kind("TriggerAuthentication")[0]["spec"]["secretTargetRef"]
    assert {a["parameter"] for a in auth} >= {"sasl", "username", "password", "tls", "ca"}


@pytest.mark.parametrize(
    "doc", [d for d in k8s() if d["kind"] in CORE_KINDS], ids=lambda d: d["metadata"]["name"]
)
def test_core_kubernetes_objects_pass_the_api_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, "1.30", strict=True)


def compose_client() -> bool:
    if shutil.which("docker") is None:
        return False
    found = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return found.returncode == 0


@pytest.mark.skipif(
    not (compose_client() and docker_answers()), reason="no `docker compose` with a daemon here"
)
def test_docker_compose_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
