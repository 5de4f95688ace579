"""The deploy files say what an operator can trust: pinned images, healthchecks and ordered
start-up in compose; probes, limits, non-root pods, disruption budgets and no credentials beside
the workloads on Kubernetes. (Their syntax is checked against schemas in `make lint`.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "infra" / "deploy"
KUBE = DEPLOY / "kubernetes"
WORKLOADS = ("Deployment", "StatefulSet", "Job")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((KUBE / name).read_text()) if d]
    return docs


def test_compose_images_are_pinned_and_built_once(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), (name, image)
        assert "minio" not in image, "MinIO's community image is gone from Docker Hub"
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["init"]
    vantage = {name for name, s in services.items() if s["image"] == services["init"]["image"]}
    assert vantage == {"init", "api", "ingest", "worker-live", "worker", "reconciler"}


def test_compose_services_wait_for_what_they_need(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for needed, how in service.get("depends_on", {}).items():
            condition = how["condition"]
            if needed == "init":
                assert condition == "service_completed_successfully", name
            else:
                assert condition == "service_healthy", (name, needed)
                assert "healthcheck" in services[needed], needed
    for name in ("seaweedfs", "redis", "postgres", "api", "worker", "worker-live"):
        test = services[name]["healthcheck"]["test"]
        text = " ".join(test) if isinstance(test, list) else test
        # A shell check must fail when its command fails (busybox wget exits 1, say).
        assert "CMD-SHELL" not in text or text.rstrip().endswith("|| exit 1"), name


def test_only_the_s3_port_of_the_store_is_published(compose: dict[str, Any]) -> None:
    ports = compose["services"]["seaweedfs"]["ports"]
    assert ports == ["8333:8333"]


def test_the_kustomization_applies_every_manifest_but_no_secret(
    resources: list[dict[str, Any]],
) -> None:
    listed = set(yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk - listed == {"secret.example.yaml"}
    assert not [d for d in resources if d["kind"] == "Secret"]


def _pods(resources: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in resources
        if d["kind"] in WORKLOADS
    ]


def test_every_pod_runs_as_the_image_user_without_privileges(
    resources: list[dict[str, Any]],
) -> None:
    user = re.search(r"^USER (\d+)$", (DEPLOY / "Dockerfile").read_text(), re.M)
    assert user is not None
    for name, pod in _pods(resources):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == int(user.group(1)), name
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["limits"]["memory"], name


def test_long_running_pods_have_probes_and_disruption_budgets(
    resources: list[dict[str, Any]],
) -> None:
    containers = {name: pod["containers"][0] for name, pod in _pods(resources)}
    api = containers["vantage-api"]
    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(api)
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    for worker in ("vantage-worker", "vantage-worker-live"):
        assert {"startupProbe", "livenessProbe"} <= set(containers[worker]), worker
    budgets = {
        d["spec"]["selector"]["matchLabels"]["app"]
        for d in resources
        if d["kind"] == "PodDisruptionBudget"
    }
    assert {"vantage-api", "vantage-worker", "vantage-worker-live", "vantage-ingest"} <= budgets


def test_vod_workers_scale_on_their_queue_and_storage_admin_ports_are_closed(
    resources: list[dict[str, Any]],
) -> None:
    [scaler] = [d for d in resources if d["kind"] == "ScaledObject"]
    deployments = {d["metadata"]["name"] for d in resources if d["kind"] == "Deployment"}
    assert scaler["spec"]["scaleTargetRef"]["name"] in deployments
    assert scaler["spec"]["triggers"][0]["metadata"]["listName"] == "vod"
    [policy] = [d for d in resources if d["kind"] == "NetworkPolicy"]
    [from_vantage] = [
        rule
        for rule in policy["spec"]["ingress"]
        if rule["from"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/part-of")
    ]
    assert from_vantage["ports"] == [{"protocol": "TCP", "port": 8333}]


def test_the_grafana_dashboard_reads_only_series_vantage_exports(tmp_path: Path) -> None:
    import json

    from prometheus_client import REGISTRY

    import infra.core.metrics  # noqa: F401 - registers the series
    from api.metrics import InstallationCollector
    from catalog.migrate import upgrade
    from infra.core.database import make_engine, make_session_factory
    from infra.core.settings import BrokerSettings, Settings

    exported = {s.name for family in REGISTRY.collect() for s in family.samples}
    exported |= {family.name for family in REGISTRY.collect()}
    # The levels the API reads at scrape time, from a real (empty) catalog; the broker is away.
    config = Settings(
        _env_file=None,
        home=tmp_path,
        broker=BrokerSettings(url="redis://127.0.0.1:9/0"),
    )
    engine = make_engine(config.database_url)
    upgrade(engine)
    collector = InstallationCollector(make_session_factory(engine), config)
    exported |= {family.name for family in collector.collect()}
    engine.dispose()
    # Histograms and counters are queried by their sample names (_bucket, _total, ...).
    exported |= {
        f"{n}_{suffix}" for n in exported for suffix in ("bucket", "count", "sum", "total")
    }

    dashboard = json.loads((DEPLOY / "grafana" / "vantage.json").read_text())
    used = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used |= set(re.findall(r"\bvantage_[a-z_]+", target["expr"]))
    assert used and used <= exported, sorted(used - exported)
    assert "vantage_replay_order_to_downloadable_seconds_bucket" in used
