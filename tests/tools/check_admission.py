"""What a Kubernetes API server would refuse at admission of jetsync's
resources: the CRDs' openAPIV3Schema value constraints (types, enums,
patterns, ranges, lengths; `jsonschema`), their CEL rules
(`x-kubernetes-validations`, evaluated with cel-python at the node they sit
on, with `self` bound to the value there), `x-kubernetes-list-type: set`
(no repeated items), integers beyond int64, unknown fields (server-side
field validation `Strict`, kubectl's default), the served apiVersion, and
the API server's own ObjectMeta checks (name required, a DNS-1123
subdomain; labels and annotations map to strings).

Usage: check_admission.py CRD_DIR YAML_FILE...
Prints a JSON object: for each file, the list of refusals of its jetsync
documents (empty: admitted), or {"unreadable": reason} when the file is not
YAML a client could send.
"""

import json
import pathlib
import re
import sys

import celpy
import jsonschema
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from check_schemas import openapi_to_json_schema  # noqa: E402


ENVIRONMENT = celpy.Environment()
PROGRAMS = {}


def cel(rule, value):
    program = PROGRAMS.get(rule)
    if program is None:
        program = ENVIRONMENT.program(ENVIRONMENT.compile(rule))
        PROGRAMS[rule] = program
    try:
        return "" if program.evaluate({"self": celpy.json_to_cel(value)}) else "refused"
    except Exception as error:  # an evaluation error refuses, as the API server does
        return f"could not be evaluated ({error})"


SERVED = set()
INT64 = 2**63 - 1
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def object_meta(metadata, out):
    if not isinstance(metadata, dict):
        out.append("metadata: not an object")
        return
    name = metadata.get("name")
    if not isinstance(name, str) or len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        out.append(f"metadata.name: {name!r} is not a DNS-1123 subdomain")
    for field in ("labels", "annotations"):
        values = metadata.get(field, {})
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            out.append(f"metadata.{field}: values must be strings")
    known = {"name", "namespace", "labels", "annotations", "generateName", "finalizers", "ownerReferences", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"}
    for field in metadata:
        if field not in known:
            out.append(f"metadata.{field}: unknown field")


def beyond_int64(value, path):
    """Paths of integers the API server cannot hold (it decodes to int64)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [path] if abs(value) > INT64 else []
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in beyond_int64(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in beyond_int64(item, f"{path}[{index}]")]
    return []


def walk(schema, value, path, out):
    if value is None or not isinstance(schema, dict):
        return
    for validation in schema.get("x-kubernetes-validations", []):
        verdict = cel(validation["rule"], value)
        if verdict == "refused":
            out.append(f"{path}: {validation['message']}")
        elif verdict:
            out.append(f"{path}: rule {validation['rule']!r} {verdict}")
    if schema.get("x-kubernetes-list-type") == "set" and isinstance(value, list):
        seen = []
        for item in value:
            if item in seen:
                out.append(f"{path}: duplicate item {json.dumps(item)}")
            seen.append(item)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                walk(properties[key], item, f"{path}.{key}", out)
            elif isinstance(extra, dict):
                walk(extra, item, f"{path}.{key}", out)
            elif properties and not extra and not schema.get("x-kubernetes-preserve-unknown-fields"):
                out.append(f"{path}.{key}: unknown field")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            walk(schema["items"], item, f"{path}[{index}]", out)


class NoAliasLoader(yaml.SafeLoader):
    """Refuses aliases, as the API server's JSON does not have them (and
    an alias bomb would not finish)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not sent to the API server")
        return super().compose_node(parent, index)


def main():
    schemas = {}
    served = set()
    for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        schemas[crd["spec"]["names"]["kind"]] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        served.add(f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}")
    global SERVED
    SERVED = served
    verdicts = {}
    for file in sys.argv[2:]:
        try:
            documents = list(yaml.load_all(pathlib.Path(file).read_bytes(), Loader=NoAliasLoader))
        except Exception as error:
            verdicts[file] = {"unreadable": str(error).splitlines()[0]}
            continue
        refusals = []
        for index, document in enumerate(documents):
            if not isinstance(document, dict):
                refusals.append(f"document {index}: not an object")
                continue
            if not str(document.get("apiVersion", "")).startswith("jetsync.dev/"):
                continue
            if document.get("apiVersion") not in SERVED:
                refusals.append(f"document {index}: apiVersion {document.get('apiVersion')!r} is not served")
            object_meta(document.get("metadata"), refusals)
            kind = document.get("kind")
            schema = schemas.get(kind) if isinstance(kind, str) else None
            if schema is None:
                refusals.append(f"document {index}: no CRD for kind {document.get('kind')!r}")
                continue
            try:
                validator = jsonschema.Draft7Validator(openapi_to_json_schema(schema))
                for error in validator.iter_errors(document):
                    refusals.append(f"document {index}: {error.json_path}: {error.message[:200]}")
            except Exception as error:
                refusals.append(f"document {index}: schema check failed: {error}")
            # apiVersion, kind and metadata are the API server's, not the schema's.
            body = {key: value for key, value in document.items() if key not in ("apiVersion", "kind", "metadata")}
            huge = beyond_int64(body, f"document {index}")
            if huge:
                refusals += [f"{where}: beyond int64" for where in huge]
                continue
            walk(schema, body, f"document {index}", refusals)
        verdicts[file] = refusals
    json.dump(verdicts, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
