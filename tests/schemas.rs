//! The published schemas: `crds/` and `manifests/crds.yaml` are exactly what
//! `jetsync crds` generates, the CRDs are structural and pass
//! kubernetes-validate, and every example is valid against its CRD and
//! against `jetsync schema`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool installed by `scripts/test`; under `CI=true` a missing tool fails
/// the test, elsewhere the test says it skipped.
fn tool(variable: &str) -> Option<PathBuf> {
    match std::env::var_os(variable).map(PathBuf::from) {
        Some(path) if path.exists() => Some(path),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{variable} is not set to an installed tool; scripts/test installs it")
        }
        _ => {
            eprintln!("SKIPPED: {variable} not set (run scripts/test to install the tools)");
            None
        }
    }
}

#[test]
fn committed_crds_equal_the_generated_ones() {
    let dir = repo().join("crds");
    let generated = jetsync::schema::crds();
    for crd in &generated {
        let name = jetsync::schema::crd_file_name(crd);
        let committed = std::fs::read_to_string(dir.join(&name)).unwrap_or_else(|e| {
            panic!("crds/{name} missing ({e}); run `jetsync crds --out-dir crds`")
        });
        assert_eq!(
            committed,
            jetsync::schema::crd_yaml(crd),
            "crds/{name} differs from the generated CRD; run `jetsync crds --out-dir crds`"
        );
    }
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        files,
        generated.len(),
        "crds/ holds files that are not generated CRDs"
    );
}

#[test]
fn install_manifests_carry_the_generated_crds() {
    let committed = std::fs::read_to_string(repo().join("manifests/crds.yaml")).unwrap();
    assert_eq!(
        committed,
        jetsync::schema::crds_yaml(),
        "manifests/crds.yaml differs; run `jetsync crds > manifests/crds.yaml`"
    );
}

/// The rules an API server applies to CRD schemas ("structural schemas"):
/// every node has a type (or is int-or-string / preserves unknown fields),
/// no `$ref`, no `additionalProperties` beside `properties`, and nothing but
/// value validation inside `anyOf`/`allOf`/`oneOf`/`not`.
fn structural_violations(node: &Value, path: &str, nested: bool, out: &mut Vec<String>) {
    let Some(object) = node.as_object() else {
        return;
    };
    if object.contains_key("$ref") {
        out.push(format!("{path}: $ref is not allowed"));
    }
    if object.contains_key("properties") && object.contains_key("additionalProperties") {
        out.push(format!(
            "{path}: properties and additionalProperties together"
        ));
    }
    let int_or_string = object.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if nested {
        for forbidden in [
            "type",
            "description",
            "default",
            "nullable",
            "additionalProperties",
        ] {
            if object.contains_key(forbidden) {
                out.push(format!(
                    "{path}: `{forbidden}` inside anyOf/allOf/oneOf/not"
                ));
            }
        }
    } else if !object.contains_key("type") && !int_or_string && !preserve {
        out.push(format!("{path}: no type"));
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        if !nested && object.get("type") != Some(&Value::String("object".into())) {
            out.push(format!("{path}: properties without type object"));
        }
        for (name, child) in properties {
            structural_violations(child, &format!("{path}.{name}"), nested, out);
        }
    }
    if let Some(items) = object.get("items") {
        structural_violations(items, &format!("{path}[]"), nested, out);
    }
    if let Some(Value::Object(_)) = object.get("additionalProperties") {
        structural_violations(
            &object["additionalProperties"],
            &format!("{path}{{}}"),
            nested,
            out,
        );
    }
    for combinator in ["anyOf", "allOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get(combinator) {
            for (index, branch) in branches.iter().enumerate() {
                structural_violations(branch, &format!("{path}.{combinator}[{index}]"), true, out);
            }
        }
    }
    if let Some(not) = object.get("not") {
        structural_violations(not, &format!("{path}.not"), true, out);
    }
}

#[test]
fn crd_schemas_are_structural() {
    for crd in jetsync::schema::crds() {
        let value = serde_json::to_value(&crd).unwrap();
        for version in value["spec"]["versions"].as_array().unwrap() {
            let schema = &version["schema"]["openAPIV3Schema"];
            let mut violations = Vec::new();
            structural_violations(schema, "openAPIV3Schema", false, &mut violations);
            assert!(
                violations.is_empty(),
                "{} is not structural:\n{}",
                crd.metadata.name.as_deref().unwrap_or_default(),
                violations.join("\n")
            );
            assert!(
                version["subresources"]["status"].is_object(),
                "status subresource enabled"
            );
        }
    }
}

#[test]
fn crds_pass_kubernetes_validate_strictly() {
    let Some(validator) = tool("KUBERNETES_VALIDATE") else {
        return;
    };
    let files: Vec<PathBuf> = std::fs::read_dir(repo().join("crds"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    let output = Command::new(validator)
        .arg("--strict")
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubernetes-validate refused the CRDs:\n{stdout}\n{stderr}"
    );
    let passed = stdout
        .matches(" passed for resource customresourcedefinition/")
        .count();
    assert_eq!(passed, files.len(), "kubernetes-validate output: {stdout}");
}

#[test]
fn kubernetes_validate_refuses_a_crd_with_an_unknown_field() {
    let Some(validator) = tool("KUBERNETES_VALIDATE") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let crd = jetsync::schema::crd_yaml(&jetsync::schema::crds()[0]);
    std::fs::write(
        &broken,
        crd.replace(
            "  scope: Namespaced",
            "  scope: Namespaced\n  scopes: Cluster",
        ),
    )
    .unwrap();
    let output = Command::new(validator)
        .arg("--strict")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "an unknown CRD field must be refused"
    );
}

fn example_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("examples"), &mut files);
    files.sort();
    files
}

/// Runs tests/tools/check_schemas.py on `files` against `jetsync schema` and
/// the CRDs in crds/; None when the venv is not installed (outside CI).
fn check_schemas(files: &[PathBuf]) -> Option<std::process::Output> {
    let venv = tool("JETSYNC_VENV")?;
    let dir = tempfile::tempdir().unwrap();
    let schema_file = dir.path().join("manifest.schema.json");
    std::fs::write(
        &schema_file,
        serde_json::to_string(&jetsync::schema::manifest_schema()).unwrap(),
    )
    .unwrap();
    let output = Command::new(venv.join("bin/python"))
        .arg(repo().join("tests/tools/check_schemas.py"))
        .arg(&schema_file)
        .arg(repo().join("crds"))
        .args(files)
        .output()
        .expect("python runs");
    Some(output)
}

#[test]
fn every_example_is_valid_against_its_crd_and_the_editor_schema() {
    let Some(output) = check_schemas(&example_files()) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "examples fail schema validation:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ok   "), "no example was checked: {stdout}");
}

#[test]
fn the_editor_schema_names_every_kind() {
    let schema = jetsync::schema::manifest_schema();
    let kinds: Vec<&str> = schema["properties"]["kind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kind| kind.as_str().unwrap())
        .collect();
    for kind in [
        "Stream",
        "Consumer",
        "KeyValue",
        "ObjectStore",
        "NatsConnection",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from the schema");
    }
    for definition in [
        "StreamSpec",
        "ConsumerSpec",
        "KeyValueSpec",
        "ObjectStoreSpec",
        "NatsConnectionSpec",
    ] {
        assert!(
            schema["definitions"][definition].is_object(),
            "{definition} missing"
        );
    }
}

#[test]
fn the_structural_check_catches_untyped_and_ref_nodes() {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {
            "a": { "description": "no type" },
            "b": { "$ref": "#/definitions/B", "type": "object" },
            "c": { "anyOf": [{ "type": "string" }], "type": "string" },
        }
    });
    let mut violations = Vec::new();
    structural_violations(&schema, "root", false, &mut violations);
    assert_eq!(violations.len(), 3, "{violations:?}");
}

#[test]
fn the_schema_check_refuses_a_document_with_an_unknown_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata: {name: s}\nspec: {maxAgee: 1h}\n",
    )
    .unwrap();
    let Some(output) = check_schemas(&[bad]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("maxAgee"), "{stdout}");
}

#[test]
fn the_plan_document_schema_is_a_reviewed_snapshot() {
    let schema = jetsync::render::json::plan_schema();
    insta::assert_snapshot!(
        "plan_document_schema",
        serde_json::to_string_pretty(&schema).unwrap()
    );
}
