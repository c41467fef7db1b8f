"""Lints, renders and validates the Helm chart with Helm's own library.

Helm is the PyPI package helm-python-sdk (Helm v4's Go SDK behind a C ABI,
no helm binary); manifests are checked with kubernetes-validate (strict:
unknown fields fail) and jetsync's custom resources with their CRD's schema.

Usage:
  check_chart.py check CHART_DIR VALUES_DIR CRD_DIR
      Lints the chart and renders it with its defaults, every VALUES_DIR/*.yaml
      and the edge cases below; validates every rendered object against the
      oldest Kubernetes the chart supports and the newest kubernetes-validate
      knows. One line per check, then `N passed, N failed`; exit 1 on failure.
  check_chart.py render CHART_DIR VALUES_JSON
      Prints {"objects": [...], "notes": "..."} for the values (JSON), or
      {"error": "..."} and exit 1 when Helm refuses them.
  check_chart.py schema CHART_DIR VALUES_JSON
      Prints {"valid": true} or {"valid": false, "error": "..."}: the values
      against values.schema.json alone.
"""

import json
import pathlib
import re
import sys

import helm_python as helm
import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import yaml

RELEASE = "jetsync"
NAMESPACE = "jetsync-system"

# Values that exercise what the defaults and the examples leave off.
EDGE_CASES = {
    "three replicas (leader election on)": {"replicaCount": 3},
    "leader election forced with one replica": {"leaderElection": {"force": True, "leaseName": "jetsync-leader"}},
    "namespaced, two namespaces": {"namespaced": True, "watchNamespaces": ["team-a", "team-b"]},
    "namespaced, release namespace only": {"namespaced": True},
    "cluster mode watching two namespaces": {"watchNamespaces": ["team-a", "team-b"]},
    "without CRDs": {"crds": {"enabled": False}},
    "CRDs not kept": {"crds": {"keep": False}},
    "read-only": {"controller": {"readOnly": True}},
    "nkey and a client certificate": {
        "nats": {
            "url": "tls://nats-0.nats:4222,tls://nats-1.nats:4222",
            "nkey": {"secretName": "nats-nkey"},
            "tls": {
                "ca": {"secretName": "nats-ca"},
                "clientCert": {"secretName": "jetsync-client-tls"},
                "handshakeFirst": True,
            },
            "jsDomain": "hub",
            "timeout": "10s",
        }
    },
    "user and password": {"nats": {"url": "nats://nats:4222", "user": {"secretName": "nats-user"}}},
    "token": {"nats": {"url": "nats://nats:4222", "token": {"secretName": "nats-token", "key": "t"}}},
    "everything optional on": {
        "replicaCount": 2,
        "image": {"digest": "sha256:" + "a" * 64},
        "imagePullSecrets": [{"name": "regcred"}],
        "commonLabels": {"team": "platform"},
        "serviceAccount": {"annotations": {"example.com/role": "jetsync"}},
        "metrics": {
            "service": {"annotations": {"prometheus.io/scrape": "true"}},
            "serviceMonitor": {
                "enabled": True,
                "labels": {"release": "prometheus"},
                "interval": "30s",
                "scrapeTimeout": "10s",
                "relabelings": [{"action": "replace", "targetLabel": "cluster", "replacement": "eu1"}],
            },
        },
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "networkPolicy": {
            "enabled": True,
            "metricsFrom": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "natsTo": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nats"}}}],
            "extraEgress": [{"ports": [{"port": 7422, "protocol": "TCP"}]}],
        },
        "podAnnotations": {"example.com/a": "b"},
        "podLabels": {"example.com/c": "d"},
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}]}
        ]}}},
        "topologySpreadConstraints": [{
            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "jetsync"}},
        }],
        "extraEnv": [{"name": "TZ", "value": "UTC"}],
        "extraVolumes": [{"name": "extra", "configMap": {"name": "extra"}}],
        "extraVolumeMounts": [{"name": "extra", "mountPath": "/etc/extra", "readOnly": True}],
        "controller": {"ownerPrefix": "eu1", "logFormat": "text", "logLevel": "info,jetsync=debug", "extraArgs": ["--concurrency=8"]},
        "connections": [{"name": "prod", "spec": {"servers": ["nats://nats:4222"], "auth": {"token": {"secretRef": {"name": "t", "key": "token"}}}}}],
    },
}


def kube_versions(chart_dir):
    """The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and the newest known."""
    declared = yaml.safe_load((pathlib.Path(chart_dir) / "Chart.yaml").read_text())["kubeVersion"]
    oldest = re.search(r"(\d+\.\d+)", declared).group(1)
    return [oldest, kubernetes_validate.utils.latest_version()]


def render(chart, values):
    """Renders the chart as an install; returns (objects with their template, NOTES.txt)."""
    manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects = []
    notes = ""
    for template, text in sorted(manifests.items()):
        if template.endswith("NOTES.txt"):
            notes = text
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append({"template": template, "object": document})
    return objects, notes


def openapi_to_json_schema(node):
    """A CRD's schema as the API server applies it with strict field
    validation (kubectl's default): `nullable: true` accepts null, and an
    unknown field is an error unless the node preserves unknown fields."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_json_schema(value) for key, value in node.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def crd_validators(crd_dir):
    validators = {}
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group = crd["spec"]["group"]
        for version in crd["spec"]["versions"]:
            schema = openapi_to_json_schema(version["schema"]["openAPIV3Schema"])
            # The API server supplies these to every kind.
            for field, kind in (("apiVersion", "string"), ("kind", "string"), ("metadata", "object")):
                schema["properties"].setdefault(field, {"type": kind})
            key = (f"{group}/{version['name']}", crd["spec"]["names"]["kind"])
            validators[key] = jsonschema.Draft7Validator(schema)
    return validators


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, errors):
        if errors:
            self.failed += 1
            print(f"FAIL {name}")
            for error in errors:
                print(f"  {error}")
        else:
            self.passed += 1
            print(f"ok   {name}")


def lint_errors(chart_dir, values, kube_version):
    report = helm.lint(chart_dir, values, strict=True, namespace=NAMESPACE, kube_version=f"v{kube_version}.0")
    # Severity 1 is information ("icon is recommended"); 2 warning, 3 error.
    return [f"{m['path']}: {m['error'].strip()}" for m in report["messages"] if m["severity"] >= 2] + [
        e.strip() for e in report["errors"] if not any(e.strip() in m["error"] for m in report["messages"])
    ]


def validate_objects(objects, versions, crds):
    """Every object against Kubernetes' schemas, or its CRD's; returns (errors, skipped kinds)."""
    errors = []
    skipped = set()
    for item in objects:
        obj = item["object"]
        where = f"{item['template']}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        api_version = obj.get("apiVersion", "")
        crd = crds.get((api_version, obj.get("kind")))
        if crd is not None:
            errors += [f"{where}: CRD schema: {e.json_path}: {e.message}" for e in crd.iter_errors(obj)]
            continue
        if api_version.startswith("monitoring.coreos.com/"):
            skipped.add(obj["kind"])  # prometheus-operator's own CRDs; not shipped here
            continue
        for version in versions:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                errors.append(f"{where}: Kubernetes {version}: {path}: {e.message}")
            except kubernetes_validate.SchemaNotFoundError as e:
                errors.append(f"{where}: {e.message}")
    return errors, skipped


def check(chart_dir, values_dir, crd_dir):
    report = Report()
    versions = kube_versions(chart_dir)
    crds = crd_validators(crd_dir)
    cases = {"default values": {}}
    for path in sorted(pathlib.Path(values_dir).glob("*.yaml")):
        # Helm's own reading of a values file (`-f`).
        cases[f"values {path.name}"] = helm.values_from_yaml(path.read_text())
    cases.update(EDGE_CASES)
    with helm.Chart.load(chart_dir) as chart:
        for name, values in cases.items():
            for version in versions:
                report.check(f"lint ({name}, Kubernetes {version})", lint_errors(chart_dir, values, version))
            try:
                objects, notes = render(chart, values)
            except helm.HelmError as e:
                report.check(f"render ({name})", [str(e)])
                continue
            problems = [] if objects else ["nothing rendered"]
            if not notes.strip():
                problems.append("NOTES.txt rendered empty")
            report.check(f"render ({name}): {len(objects)} objects", problems)
            errors, skipped = validate_objects(objects, versions, crds)
            note = f", skipped {', '.join(sorted(skipped))} (no schema)" if skipped else ""
            report.check(f"validate ({name}) against Kubernetes {' and '.join(versions)}{note}", errors)
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "check" and len(sys.argv) == 5:
        return check(*sys.argv[2:5])
    if command == "render" and len(sys.argv) == 4:
        with helm.Chart.load(sys.argv[2]) as chart:
            try:
                objects, notes = render(chart, json.loads(sys.argv[3]))
            except helm.HelmError as e:
                print(json.dumps({"error": str(e)}))
                return 1
        print(json.dumps({"objects": objects, "notes": notes}))
        return 0
    if command == "schema" and len(sys.argv) == 4:
        with helm.Chart.load(sys.argv[2]) as chart:
            try:
                chart.validate_schema(json.loads(sys.argv[3]))
            except helm.HelmValuesError as e:
                print(json.dumps({"valid": False, "error": str(e)}))
                return 0
        print(json.dumps({"valid": True}))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
