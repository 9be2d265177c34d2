"""The deployment artefacts: the Helm chart (rendered and linted by the genuine Helm, every
manifest validated against Kubernetes' own schemas), docker-compose.dev.yml and the Dockerfile.

No cluster and no Docker engine are needed: what can be checked without them is checked here.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from sqlalchemy.engine import make_url

from quancheng.common.auth import BuiltinIssuer, Role
from quancheng.common.settings import (
    SERVICES,
    BusKind,
    Mode,
    ObjectStoreKind,
    Settings,
    TelemetrySettings,
    env_names,
)
from quancheng.common.telemetry import span_exporters, tracer_provider
from quancheng.common.testing.helm import HELM_VERSION, helm_binary, installed_version

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "quancheng"
COMPOSE = ROOT / "docker-compose.dev.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
KUBERNETES_VERSION = "1.34.0"
RELEASE = "qc"
NAMESPACE = "records"
GATEWAY = "access-gateway"
BACKENDS = tuple(s for s in SERVICES if s != GATEWAY)
PORT = 8000
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (what the containers listen on)
TMP = "/tmp"  # noqa: S108  (the containers' writable scratch space)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DATABASE_URL_NAMES = frozenset(
    f"QUANCHENG_DATABASE__{s.upper().replace('-', '_')}" for s in SERVICES
)

Manifest = dict[str, Any]

# A values file that sets every option the chart has.
EVERY_OPTION: dict[str, Any] = {
    # 63 characters: every name must still fit in a DNS label, the service's part uncut.
    "fullnameOverride": "district-emergency-management-bureau-quancheng-records-platform",
    "image": {"registry": "registry.bureau.internal:5000", "tag": "1.2.3", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "bureau-registry"}],
    "serviceAccount": {"create": True, "name": "quancheng-runner", "annotations": {"a": "b"}},
    "telemetry": {"otlpEndpoint": "http://otel-collector.observability:4318"},
    "config": {
        "logLevel": "DEBUG",
        "jsonLogs": False,
        "defaultRetentionDays": 3660,
        "databasePoolSize": 20,
        "relayIntervalSeconds": 0.5,
    },
    "kafka": {
        "bootstrapServers": "kafka-0.kafka.events:9092,kafka-1.kafka.events:9092",
        "clientId": "quancheng-prod",
        "partitions": 6,
        "replicationFactor": 3,
        "deadLetterTopic": "quancheng.dlq",
    },
    "minio": {
        "endpoint": "minio.storage.svc:9000",
        "secure": True,
        "region": "cn-north-1",
        "bucket": "bureau-originals",
    },
    "existingSecret": "quancheng-operator-credentials",
    "identity": {
        "issuer": "quancheng-bureau",
        "audience": "quancheng-bureau",
        "defaultTokenTtlSeconds": 1800,
        "jwksCacheSeconds": 600,
        "leewaySeconds": 10,
        "externalIssuers": [
            {
                "issuer": "https://idp.district.example",
                "jwks_url": "https://idp.district.example/.well-known/jwks.json",
                "audience": "quancheng",
            }
        ],
        "builtin": {"enabled": True, "existingSecret": "quancheng-operator-issuer"},
    },
    "probes": {
        "startup": {"periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 90},
        "liveness": {"periodSeconds": 30, "timeoutSeconds": 20, "failureThreshold": 4},
        "readiness": {"periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2},
    },
    "services": {
        "ingest": {
            "image": {"repository": "bureau/quancheng-ingest", "tag": "1.2.4"},
            "autoscaling": {
                "enabled": True,
                "minReplicas": 3,
                "maxReplicas": 20,
                "targetCPUUtilizationPercentage": 60,
                "targetMemoryUtilizationPercentage": 80,
            },
            "resources": {
                "requests": {"cpu": "500m", "memory": "512Mi"},
                "limits": {"cpu": 4, "memory": "2Gi"},
            },
            "tmpSizeLimit": "8Gi",
            "podDisruptionBudget": {"enabled": True, "maxUnavailable": "25%"},
            "podAnnotations": {"prometheus.io/scrape": "true"},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "tolerations": [
                {"key": "campaign", "operator": "Exists", "effect": "NoSchedule"},
            ],
            "affinity": {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {
                                    "matchLabels": {"app.kubernetes.io/component": "ingest"}
                                },
                            },
                        }
                    ]
                }
            },
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {"app.kubernetes.io/component": "ingest"}},
                }
            ],
            "extraEnv": [{"name": "QUANCHENG_DATABASE__POOL_SIZE", "value": "40"}],
        },
        "accessGateway": {"replicaCount": 3},
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "host": "records.bureau.example",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "0"},
        "tls": {"enabled": True, "secretName": "records-bureau-example-tls"},
    },
    "networkPolicy": {
        "enabled": True,
        "gateway": {
            "allowFromAnywhere": False,
            "allowedFrom": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "ingress-system"}
                    },
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
                }
            ],
        },
        "metricsFrom": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        ],
        "egress": {
            "restricted": True,
            "allowed": [
                {
                    "to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
                    "ports": [{"port": 5432, "protocol": "TCP"}, {"port": 9092}],
                }
            ],
        },
    },
}

# The other side of each switch.
ALTERNATIVES: dict[str, Any] = {
    "nameOverride": "records",
    "postgresql": {"password": "p@ss word+/:", "sslmode": "verify-full"},
    "minio": {"accessKey": "quancheng", "secretKey": "s3cr3t"},
    "serviceAccount": {"create": False},
    "identity": {
        "builtin": {"enabled": False},
        "externalIssuers": [
            {"issuer": "https://idp.example", "jwks_url": "https://idp.example/jwks.json"}
        ],
    },
    "services": {"ingest": {"autoscaling": {"enabled": False}, "replicaCount": 4}},
    "ingress": {"enabled": False},
    "networkPolicy": {"gateway": {"allowFromAnywhere": True}},
}

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "every-option": EVERY_OPTION,
    "alternatives": ALTERNATIVES,
}


@functools.cache
def _helm() -> Path:
    binary = helm_binary()
    version = installed_version(binary)
    if version != HELM_VERSION:
        found = f"version {version}" if version else "nothing"
        pytest.fail(
            f"Helm {HELM_VERSION} is needed at {binary}, found {found}: build it with "
            "`.venv/bin/python -m quancheng.common.testing.helm` (make test does this first)"
        )
    return binary


def _run(command: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _values_args(values: dict[str, Any], directory: Path, name: str) -> list[str]:
    if not values:
        return []
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return ["--values", str(path)]


def helm_template(*args: str) -> subprocess.CompletedProcess[str]:
    return _run(
        [
            str(_helm()),
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--kube-version",
            KUBERNETES_VERSION,
            *args,
        ]
    )


@dataclass
class Rendered:
    variant: str
    values: dict[str, Any]
    path: Path
    manifests: list[Manifest]

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] == kind]

    def named(self, kind: str, name: str) -> Manifest:
        matches = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
        return matches[0]

    def by_component(self, kind: str) -> dict[str, Manifest]:
        found: dict[str, Manifest] = {}
        for manifest in self.of_kind(kind):
            component = manifest["metadata"]["labels"]["app.kubernetes.io/component"]
            assert component not in found, f"two {kind}s for {component}"
            found[component] = manifest
        return found


@pytest.fixture(scope="module", params=list(VARIANTS))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    variant: str = request.param
    directory = tmp_path_factory.mktemp(f"chart-{variant}")
    values = VARIANTS[variant]
    result = helm_template(*_values_args(values, directory, variant))
    assert result.returncode == 0, result.stderr
    path = directory / "manifests.yaml"
    path.write_text(result.stdout)
    manifests = [m for m in yaml.safe_load_all(result.stdout) if m]
    return Rendered(variant, values, path, manifests)


def _only(rendered: Rendered, *variants: str) -> None:
    if rendered.variant not in variants:
        pytest.skip(f"about the {' and '.join(variants)} values")


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors are expected"
    match_labels: dict[str, str] = selector.get("matchLabels", {})
    return all(labels.get(k) == v for k, v in match_labels.items())


def _pod_labels(deployment: Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def _container(deployment: Manifest) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


# --- settings: the names a QUANCHENG_* variable may have -------------------------------------


SETTING_NAMES = env_names()
# The OpenTelemetry SDK's own variables that the chart sets.
OTEL_NAMES = frozenset({"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"})


def _settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process with exactly these QUANCHENG_* variables reads."""
    for name in list(os.environ):
        if name.startswith("QUANCHENG_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_setting_names_are_the_environment_variables() -> None:
    assert {
        "QUANCHENG_MODE",
        "QUANCHENG_DATABASE__INGEST",
        "QUANCHENG_IDENTITY__EXTERNAL_ISSUERS",
        "QUANCHENG_SERVICES__CATALOG",
    } <= SETTING_NAMES
    assert not {"QUANCHENG_IDENTITY", "QUANCHENG_IDENTITY__EXTERNAL_ISSUERS__ISSUER"} & (
        SETTING_NAMES
    )


# --- the chart ----------------------------------------------------------------------------------


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((ROOT / "libs" / "common" / "pyproject.toml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["type"] == "application"
    assert chart["appVersion"] == project["project"]["version"], "the chart ships this release"
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", chart["version"])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_chart_passes_helm_lint_strict(variant: str, tmp_path: Path) -> None:
    result = _run(
        [
            str(_helm()),
            "lint",
            "--strict",
            "--kube-version",
            KUBERNETES_VERSION,
            *_values_args(VARIANTS[variant], tmp_path, variant),
            str(CHART),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_every_manifest_validates_against_kubernetes_schemas(rendered: Rendered) -> None:
    validator = Path(sys.executable).parent / "kubernetes-validate"
    result = _run(
        [
            str(validator),
            "--strict",
            "--quiet",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            str(rendered.path),
        ]
    )
    # --quiet prints only problems; a WARN (e.g. an unknown kind) would pass silently otherwise.
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_names_are_dns_labels_and_unique(rendered: Rendered) -> None:
    seen: set[tuple[str, str]] = set()
    for manifest in rendered.manifests:
        name = manifest["metadata"]["name"]
        assert len(name) <= 63, f"{manifest['kind']}/{name} is {len(name)} characters long"
        assert DNS_LABEL.match(name), name
        key = (manifest["kind"], name)
        assert key not in seen, f"{key} twice"
        seen.add(key)


def test_every_object_carries_the_helm_labels(rendered: Rendered) -> None:
    name = "records" if rendered.variant == "alternatives" else "quancheng"
    for manifest in rendered.manifests:
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "quancheng-0.1.0"


def test_one_deployment_and_service_per_service(rendered: Rendered) -> None:
    deployments = rendered.by_component("Deployment")
    services = rendered.by_component("Service")
    assert set(deployments) == set(SERVICES)
    assert set(services) == set(SERVICES)
    for component, deployment in deployments.items():
        service = services[component]
        assert deployment["metadata"]["name"] == service["metadata"]["name"]
        assert component in service["metadata"]["name"]
        assert _selects({"matchLabels": service["spec"]["selector"]}, _pod_labels(deployment))
        assert _selects(deployment["spec"]["selector"], _pod_labels(deployment))
        # No other service's pods behind this Service.
        for other, other_deployment in deployments.items():
            if other != component:
                labels = _pod_labels(other_deployment)
                assert not _selects({"matchLabels": service["spec"]["selector"]}, labels)
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["ports"] == [
            {"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}
        ]
        container = _container(deployment)
        assert container["command"] == [
            "quancheng",
            "serve",
            component,
            "--host",
            ALL_INTERFACES,
            "--port",
            str(PORT),
        ]
        assert container["ports"] == [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]


def test_probes_and_hardening(rendered: Rendered) -> None:
    for deployment in rendered.of_kind("Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        container = _container(deployment)
        for probe, path in [
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ]:
            assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        volumes = {v["name"]: v for v in pod["volumes"]}
        tmp = [m for m in container["volumeMounts"] if m["mountPath"] == TMP]
        assert len(tmp) == 1
        assert "emptyDir" in volumes[tmp[0]["name"]]
        assert set(container["resources"]) == {"requests", "limits"}


def test_images_come_from_the_values(rendered: Rendered) -> None:
    deployments = rendered.by_component("Deployment")
    images = {c: _container(d)["image"] for c, d in deployments.items()}
    if rendered.variant == "every-option":
        assert images["ingest"] == "registry.bureau.internal:5000/bureau/quancheng-ingest:1.2.4"
        assert images["catalog"] == "registry.bureau.internal:5000/quancheng/catalog:1.2.3"
        for deployment in deployments.values():
            pod = deployment["spec"]["template"]["spec"]
            assert pod["imagePullSecrets"] == [{"name": "bureau-registry"}]
            assert _container(deployment)["imagePullPolicy"] == "Always"
    else:
        assert images == {c: f"quancheng/{c}:0.1.0" for c in SERVICES}


def _environment(rendered: Rendered, deployment: Manifest) -> dict[str, str]:
    """The container's environment, with the values of the chart's own ConfigMap and Secret
    (placeholders for an operator's Secret)."""
    container = _container(deployment)
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        config_map = rendered.named("ConfigMap", source["configMapRef"]["name"])
        env.update(config_map["data"])
    secrets = {s["metadata"]["name"]: s for s in rendered.of_kind("Secret")}
    for entry in container["env"]:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        secret = secrets.get(ref["name"])
        if secret is None:
            assert ref["name"] == rendered.values.get("existingSecret"), ref
            placeholder = "postgresql://u:p@db.example:5432/x" if "database" in ref["key"] else "k"
            env[entry["name"]] = placeholder
        else:
            env[entry["name"]] = secret["stringData"][ref["key"]]
    return env


def test_the_environment_is_made_of_real_settings(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = rendered.by_component("Service")
    for component, deployment in rendered.by_component("Deployment").items():
        env = _environment(rendered, deployment)
        assert set(env) <= SETTING_NAMES | OTEL_NAMES, set(env) - SETTING_NAMES - OTEL_NAMES
        own_database = f"QUANCHENG_DATABASE__{component.upper().replace('-', '_')}"
        database_urls = set(env) & DATABASE_URL_NAMES
        assert database_urls == {own_database}, "each service gets its own database URL only"
        settings = _settings_from(env, monkeypatch)
        assert settings.mode is Mode.DISTRIBUTED
        assert settings.bus.kind is BusKind.KAFKA
        assert settings.object_store.kind is ObjectStoreKind.MINIO
        assert settings.database_url(component).startswith("postgresql://")
        for backend in BACKENDS:
            url = settings.services.url_for(backend)
            assert url is not None
            assert url.host == services[backend]["metadata"]["name"]
            assert url.port == services[backend]["spec"]["ports"][0]["port"]
        if rendered.variant == "every-option":
            assert settings.identity.external_issuers[0].issuer == "https://idp.district.example"
            assert settings.telemetry.log_level == "DEBUG"
            assert settings.object_store.default_retention_days == 3660
            assert settings.bus.kafka.bootstrap_servers.startswith("kafka-0.kafka.events:9092,")
        if rendered.variant == "alternatives":
            assert settings.identity.builtin_enabled is False
            # The password is percent-encoded into the URL and comes back intact.
            database = make_url(settings.database_url(component))
            assert database.password == "p@ss word+/:"
            assert database.query == {"sslmode": "verify-full"}


def test_traces_go_to_the_collector_the_values_name(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The services' own telemetry code, given a pod's environment, exports over OTLP exactly
    when telemetry.otlpEndpoint is set, each service under its own name."""
    endpoint = rendered.values.get("telemetry", {}).get("otlpEndpoint")
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    for component, deployment in rendered.by_component("Deployment").items():
        env = _environment(rendered, deployment)
        assert env["OTEL_SERVICE_NAME"] == component
        assert env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == endpoint
        for name in OTEL_NAMES:
            monkeypatch.delenv(name, raising=False)
            if name in env:
                monkeypatch.setenv(name, env[name])
        exporters = span_exporters(TelemetrySettings())
        assert [type(e) for e in exporters] == ([OTLPSpanExporter] if endpoint else [])
        for exporter in exporters:
            exporter.shutdown()
        provider = tracer_provider(TelemetrySettings(), "quancheng")
        assert provider.resource.attributes["service.name"] == component
        provider.shutdown()


def test_secrets_come_from_the_chart_or_the_operator(rendered: Rendered) -> None:
    secrets = {s["metadata"]["name"] for s in rendered.of_kind("Secret")}
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for d in rendered.of_kind("Deployment")
        for e in _container(d)["env"]
        if "valueFrom" in e
    }
    if rendered.variant == "every-option":
        assert refs == {"quancheng-operator-credentials"}
        assert secrets == set(), "the operator's Secrets replace the chart's"
    else:
        assert len(refs) == 1
        assert refs <= secrets


def test_the_built_in_issuer_key(rendered: Rendered, tmp_path: Path) -> None:
    deployments = rendered.of_kind("Deployment")
    mounts = [
        m
        for d in deployments
        for m in _container(d)["volumeMounts"]
        if m["mountPath"] == "/var/lib/quancheng/identity"
    ]
    if rendered.variant == "alternatives":
        assert mounts == [], "no key without the built-in issuer"
        return
    assert len(mounts) == len(SERVICES)
    assert all(m["readOnly"] for m in mounts)
    secret_names = {
        v["secret"]["secretName"]
        for d in deployments
        for v in d["spec"]["template"]["spec"]["volumes"]
        if "secret" in v
    }
    if rendered.variant == "every-option":
        assert secret_names == {"quancheng-operator-issuer"}
        return
    (name,) = secret_names
    secret = rendered.named("Secret", name)
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # The key the chart makes is one the platform loads and signs with.
    identity = tmp_path / "identity"
    identity.mkdir()
    (identity / "signing-key.pem").write_bytes(base64.b64decode(secret["data"]["signing-key.pem"]))
    issuer = BuiltinIssuer.from_directory(identity, issuer="quancheng", audience="quancheng")
    assert issuer.mint("office-1", [Role.OFFICE]).count(".") == 2


def test_exactly_one_ingress_and_it_targets_the_gateway(rendered: Rendered) -> None:
    ingresses = rendered.of_kind("Ingress")
    if rendered.variant == "alternatives":
        assert ingresses == []
        return
    (ingress,) = ingresses
    gateway = rendered.by_component("Service")[GATEWAY]
    backends = [
        path["backend"]["service"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == [{"name": gateway["metadata"]["name"], "port": {"name": "http"}}]
    if rendered.variant == "every-option":
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["spec"]["rules"][0]["host"] == "records.bureau.example"
        assert ingress["spec"]["tls"] == [
            {"hosts": ["records.bureau.example"], "secretName": "records-bureau-example-tls"}
        ]
        assert ingress["metadata"]["annotations"] == {
            "nginx.ingress.kubernetes.io/proxy-body-size": "0"
        }


def test_ingest_autoscales(rendered: Rendered) -> None:
    hpas = rendered.of_kind("HorizontalPodAutoscaler")
    deployments = rendered.by_component("Deployment")
    if rendered.variant == "alternatives":
        assert hpas == []
        assert deployments["ingest"]["spec"]["replicas"] == 4
        return
    (hpa,) = hpas
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployments["ingest"]["metadata"]["name"],
    }
    assert "replicas" not in deployments["ingest"]["spec"], "the HPA owns the replica count"
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
        for m in hpa["spec"]["metrics"]
    }
    if rendered.variant == "every-option":
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 20)
        assert targets == {"cpu": 60, "memory": 80}
    else:
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
        assert targets == {"cpu": 70}


def test_a_disruption_budget_per_service(rendered: Rendered) -> None:
    budgets = rendered.by_component("PodDisruptionBudget")
    deployments = rendered.by_component("Deployment")
    assert set(budgets) == set(SERVICES)
    for component, budget in budgets.items():
        assert budget["apiVersion"] == "policy/v1"
        for other, deployment in deployments.items():
            assert _selects(budget["spec"]["selector"], _pod_labels(deployment)) == (
                other == component
            )


def _ingress_rules(policies: list[Manifest], labels: dict[str, str]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for policy in policies:
        spec = policy["spec"]
        if "Ingress" in spec["policyTypes"] and _selects(spec["podSelector"], labels):
            rules.extend(spec.get("ingress", []))
    return rules


def test_network_policies_admit_only_the_gateway_to_the_services(rendered: Rendered) -> None:
    policies = rendered.of_kind("NetworkPolicy")
    deployments = rendered.by_component("Deployment")
    gateway_labels = _pod_labels(deployments[GATEWAY])
    network_policy = rendered.values.get("networkPolicy", {})
    metrics_peers: list[dict[str, Any]] = network_policy.get("metricsFrom", [])
    http_only = [{"port": "http", "protocol": "TCP"}]
    # Every pod is isolated: a policy without rules (deny) selects all of the release's pods.
    deny = [p for p in policies if "ingress" not in p["spec"]]
    assert len(deny) == 1
    for deployment in deployments.values():
        assert _selects(deny[0]["spec"]["podSelector"], _pod_labels(deployment))

    for backend in BACKENDS:
        rules = _ingress_rules(policies, _pod_labels(deployments[backend]))
        assert rules, backend
        for rule in rules:
            assert rule["ports"] == http_only
            assert rule.get("from"), f"{backend}: a rule without 'from' admits everyone"
            for peer in rule["from"]:
                if peer in metrics_peers:
                    continue
                assert set(peer) == {"podSelector"}, f"{backend}: {peer} (other namespaces?)"
                assert _selects(peer["podSelector"], gateway_labels)
                for other in BACKENDS:
                    assert not _selects(peer["podSelector"], _pod_labels(deployments[other]))

    gateway_rules = [
        r for r in _ingress_rules(policies, gateway_labels) if r.get("from") != metrics_peers
    ]
    assert len(gateway_rules) == 1
    assert gateway_rules[0]["ports"] == http_only
    if rendered.variant == "alternatives":
        assert "from" not in gateway_rules[0], "allowFromAnywhere"
    else:
        expected = network_policy.get("gateway", {}).get("allowedFrom") or [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        ]
        assert gateway_rules[0]["from"] == expected

    # Egress is open unless restricted; then DNS and the operator's rules for all pods, and the
    # gateway's calls to the services.
    egress = {p["metadata"]["name"] for p in policies if "Egress" in p["spec"]["policyTypes"]}
    if rendered.variant == "every-option":
        gateway_policy = _gateway_policy(policies, gateway_labels)
        assert egress == {deny[0]["metadata"]["name"], gateway_policy["metadata"]["name"]}
        (to_services,) = gateway_policy["spec"]["egress"]
        assert to_services["ports"] == http_only
        allowed = network_policy["egress"]["allowed"]
        assert deny[0]["spec"]["egress"][1:] == allowed
    else:
        assert egress == set()


def _gateway_policy(policies: list[Manifest], gateway_labels: dict[str, str]) -> Manifest:
    (policy,) = [
        p
        for p in policies
        if "ingress" in p["spec"]
        and p["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == GATEWAY
    ]
    assert _selects(policy["spec"]["podSelector"], gateway_labels)
    return policy


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--set", "services.ingest.replicas=3"], "additional properties 'replicas'"),
        (["--set", "config.defaultRetentionDays=30"], "defaultRetentionDays"),
        (["--set", "minio.endpoint=https://minio:9000"], "endpoint"),
        (["--set", "services.ingest.autoscaling.maxReplicas=many"], "maxReplicas"),
        (["--set-json", "networkPolicy.gateway.allowedFrom=[]"], "allowedFrom"),
        (["--set-json", 'identity.externalIssuers=[{"issuer": "https://idp"}]'], "jwks_url"),
        (["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
        (["--set", "telemetry.otlpEndpoint=otel-collector:4318"], "otlpEndpoint"),
    ],
)
def test_the_schema_rejects_bad_values(args: list[str], complaint: str) -> None:
    result = helm_template(*args)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr
    assert complaint in result.stderr, result.stderr


def test_tls_needs_a_host() -> None:
    result = helm_template("--set", "ingress.tls.enabled=true", "--set", "ingress.tls.secretName=x")
    assert result.returncode != 0
    assert "ingress.tls.enabled needs ingress.host" in result.stderr


# --- docker-compose.dev.yml ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def _compose_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def test_compose_names_every_service(compose: dict[str, Any]) -> None:
    assert set(_compose_services(compose)) == {"kafka", "minio", "postgres", *SERVICES}


def test_compose_uses_official_pinned_images(compose: dict[str, Any]) -> None:
    services = _compose_services(compose)
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert re.fullmatch(r"minio/minio:RELEASE\.[0-9TZ-]+", services["minio"]["image"])
    assert re.fullmatch(r"postgres:1[6-9](\.[0-9]+)?", services["postgres"]["image"])


def test_only_the_gateway_is_published_and_only_on_loopback(compose: dict[str, Any]) -> None:
    for name, service in _compose_services(compose).items():
        ports = service.get("ports", [])
        if name == GATEWAY:
            assert ports == [f"127.0.0.1:{PORT}:{PORT}"]
        else:
            assert ports == [], f"{name} publishes {ports}"


def _environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "environment as a mapping"
    return {str(k): str(v) for k, v in environment.items()}


def test_compose_sets_only_real_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _compose_services(compose)
    for name in SERVICES:
        env = _environment_of(services[name])
        quancheng = {k: v for k, v in env.items() if k.startswith("QUANCHENG_")}
        assert set(quancheng) <= SETTING_NAMES, set(quancheng) - SETTING_NAMES
        settings = _settings_from(quancheng, monkeypatch)
        assert settings.mode is Mode.DISTRIBUTED
        assert settings.bus.kind is BusKind.KAFKA
        assert settings.object_store.kind is ObjectStoreKind.MINIO
        url = urlsplit(settings.database_url(name))
        assert url.scheme == "postgresql"
        assert url.hostname in services, url.hostname
        assert url.port == 5432
        for kind, address in [
            ("kafka", settings.bus.kafka.bootstrap_servers),
            ("minio", settings.object_store.minio.endpoint),
        ]:
            host, _, port = address.partition(":")
            assert host == kind
            assert port == ("9092" if kind == "kafka" else "9000")


def test_the_gateway_reaches_every_service_in_compose(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = _compose_services(compose)
    env = _environment_of(services[GATEWAY])
    settings = _settings_from(
        {k: v for k, v in env.items() if k.startswith("QUANCHENG_")}, monkeypatch
    )
    for backend in BACKENDS:
        url = settings.services.url_for(backend)
        assert url is not None, f"QUANCHENG_SERVICES__{backend.upper().replace('-', '_')} unset"
        assert url.host == backend
        assert url.host in services
        assert str(url.port) in [str(p) for p in services[backend]["expose"]]
        assert services[backend]["build"]["args"]["SERVICE"] == backend
    for name in SERVICES:
        if name != GATEWAY:
            assert not any(
                k.startswith("QUANCHENG_SERVICES__") for k in _environment_of(services[name])
            )


def test_postgres_has_a_database_for_each_service(compose: dict[str, Any]) -> None:
    services = _compose_services(compose)
    mounts = [v for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    (mount,) = mounts
    init = ROOT / mount.split(":")[0]
    assert init.is_file(), init
    created = set(re.findall(r"CREATE DATABASE (\w+);", init.read_text()))
    for name in SERVICES:
        env = _environment_of(services[name])
        url = env[f"QUANCHENG_DATABASE__{name.upper().replace('-', '_')}"]
        assert urlsplit(url).path.lstrip("/") in created


def test_compose_health_checks_and_start_order(compose: dict[str, Any]) -> None:
    services = _compose_services(compose)
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no health check"
        assert test[0] in {"CMD", "CMD-SHELL"}
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            assert condition == {"condition": "service_healthy"}, (name, dependency)
    for name in SERVICES:
        assert {"kafka", "minio", "postgres"} <= set(services[name]["depends_on"])
    assert set(BACKENDS) <= set(services[GATEWAY]["depends_on"])


# --- the Dockerfile -----------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    arguments: str


def _instructions(dockerfile: Path) -> list[Instruction]:
    lines: list[str] = []
    for line in dockerfile.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        lines.append(line)
    logical = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            result.append(Instruction(keyword.upper(), arguments.strip()))
    return result


def _final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    return instructions[starts[-1] :]


def test_compose_builds_each_service_from_the_dockerfile(compose: dict[str, Any]) -> None:
    registered = {e.name for e in entry_points(group="quancheng.services")}
    assert registered == set(SERVICES)
    services = _compose_services(compose)
    for name in SERVICES:
        build = services[name]["build"]
        dockerfile = ROOT / build["context"] / build["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        assert build["args"]["SERVICE"] == name
        assert services[name]["image"] == f"quancheng/{name}:dev"
        stage = _final_stage(_instructions(dockerfile))
        assert any(i.keyword == "ARG" and i.arguments == "SERVICE" for i in stage)
        (cmd,) = [json.loads(i.arguments) for i in stage if i.keyword == "CMD"]
        # The build's SERVICE, substituted by the shell at start, names the service to serve.
        assert cmd[:2] == ["/bin/sh", "-c"]
        assert cmd[2].replace("${SERVICE}", name).split() == [
            "exec",
            "quancheng",
            "serve",
            f'"{name}"',
            "--host",
            ALL_INTERFACES,
            "--port",
            str(PORT),
        ]
        env = next(i.arguments for i in stage if i.keyword == "ENV")
        assert "SERVICE=${SERVICE}" in env.split()


def test_the_image_is_hardened_and_health_checked() -> None:
    dockerfile = ROOT / "deploy" / "docker" / "Dockerfile"
    instructions = _instructions(dockerfile)
    froms = [i.arguments for i in instructions if i.keyword == "FROM"]
    assert froms == [
        "${NODE_IMAGE} AS console",
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE} AS runtime",
    ], "the console's build, the wheels' build and a slim runtime stage"
    assert any(
        i.keyword == "ARG" and i.arguments == "PYTHON_IMAGE=python:3.11-slim" for i in instructions
    )
    build_run = " ".join(i.arguments for i in instructions if i.keyword == "RUN")
    assert "pip wheel" in build_run
    assert any(
        i.keyword == "ENV" and "PIP_CONSTRAINT=/src/constraints.txt" in i.arguments
        for i in instructions
    )
    stage = _final_stage(instructions)
    (user,) = [i.arguments for i in stage if i.keyword == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit(), "a numeric uid, so that runAsNonRoot can verify it"
    assert int(uid) >= 10000
    assert [i.arguments for i in stage if i.keyword == "EXPOSE"] == [str(PORT)]
    (healthcheck,) = [i.arguments for i in stage if i.keyword == "HEALTHCHECK"]
    assert f"http://127.0.0.1:{PORT}/healthz" in healthcheck
    assert "urllib.request" in healthcheck


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last pattern that matches the path or one of its parent
    directories decides; "!" re-includes."""

    def matches(pattern: str, candidate: str) -> bool:
        regex = "".join(
            ".*"
            if part == "**"
            else "[^/]*"
            if part == "*"
            else "[^/]"
            if part == "?"
            else (re.escape(part))
            for part in re.split(r"(\*\*|\*|\?)", pattern.strip("/"))
        )
        return re.fullmatch(regex, candidate) is not None

    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw[1:] if negated else raw
        if any(matches(pattern, prefix) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_the_build_context_holds_what_the_image_needs_and_nothing_else() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = ["constraints.txt", "libs/common/pyproject.toml"]
    needed += [
        str(p.relative_to(ROOT))
        for p in (ROOT / "libs/common/src").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    for name in SERVICES:
        service = ROOT / "services" / name
        needed.append(str((service / "pyproject.toml").relative_to(ROOT)))
        needed += [
            str(p.relative_to(ROOT))
            for p in (service / "src").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    for path in needed:
        assert not _ignored(path, patterns), f"{path} is left out of the build context"
    for path in [
        ".venv/bin/python",
        "var/db/ingest.sqlite3",
        ".git/HEAD",
        "tests/test_deploy.py",
        "services/ingest/tests/test_x.py",
        "libs/common/src/quancheng/common/__pycache__/settings.cpython-311.pyc",
        "deploy/helm/quancheng/values.yaml",
    ]:
        assert _ignored(path, patterns), f"{path} is in the build context"
