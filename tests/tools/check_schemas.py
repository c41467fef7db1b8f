"""Validates manifests against jetsync's published schemas.

Usage: check_schemas.py MANIFEST_SCHEMA CRD_DIR YAML_FILE...

Every jetsync document in the YAML files must be valid against the JSON
Schema printed by `jetsync schema` and against the openAPIV3Schema of its
kind's CRD in CRD_DIR. Prints one line per document; exits 1 on any failure.
Uses `jsonschema` and `yaml`, which kubernetes-validate brings along.
"""

import json
import pathlib
import sys

import jsonschema
import yaml


def crd_schemas(crd_dir):
    schemas = {}
    for path in sorted(pathlib.Path(crd_dir).glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        kind = crd["spec"]["names"]["kind"]
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        schemas[kind] = openapi_to_json_schema(schema)
    return schemas


def openapi_to_json_schema(node):
    """OpenAPI's `nullable: true` becomes a null-accepting type."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_json_schema(value) for key, value in node.items()}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def main():
    manifest_schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
    crds = crd_schemas(sys.argv[2])
    jsonschema.Draft7Validator.check_schema(manifest_schema)
    manifest_validator = jsonschema.Draft7Validator(manifest_schema)
    failures = 0
    checked = 0
    for file in sys.argv[3:]:
        for index, document in enumerate(yaml.safe_load_all(pathlib.Path(file).read_text())):
            if not document or not str(document.get("apiVersion", "")).startswith("jetsync.dev/"):
                continue
            checked += 1
            where = f"{file} document {index} ({document.get('kind')})"
            errors = [f"jetsync schema: {e.json_path}: {e.message}" for e in manifest_validator.iter_errors(document)]
            crd = crds.get(document.get("kind"))
            if crd is None:
                errors.append("no CRD for this kind")
            else:
                errors += [f"CRD schema: {e.json_path}: {e.message}" for e in jsonschema.Draft7Validator(crd).iter_errors(document)]
            if errors:
                failures += 1
                print(f"FAIL {where}")
                for error in errors:
                    print(f"  {error}")
            else:
                print(f"ok   {where}")
    print(f"{checked - failures} passed, {failures} failed")
    sys.exit(1 if failures or not checked else 0)


if __name__ == "__main__":
    main()
