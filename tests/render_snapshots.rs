//! What users see of a plan, snapshot-tested so that a change in any output
//! is a reviewed change: the human plan, the PR comment (markdown) and the
//! GitHub Actions annotations, over one plan holding every action kind,
//! drift and diagnostics. Also: folding to fit GitHub's comment limit, and
//! escaping names and values that would break the markup.

use jetsync::diagnostics::SourceText;
use jetsync::diagnostics::{Diagnostic, Severity};
use jetsync::nats::ServerIdentity;
use jetsync::plan::LiveAsset;
use jetsync::plan::classify::{Action, Change, FieldChange, Plan};
use jetsync::plan::normalise::comparable;
use jetsync::plan::{Address, ConsumerFate, DeclaredAt, Holdings, LostConsumer};
use jetsync::render::{github, human, json as plan_json, markdown};
use serde_json::{Value, json};

const TARGET: &str = "nats://nats.example.com:4222 (nats-server 2.11.4, account APP)";
const SECOND: u64 = 1_000_000_000;
const DAY: u64 = 86_400 * SECOND;
const MIB: u64 = 1024 * 1024;

/// Builders for hand-made changes: `Change::test("stream/ORDERS", Action::Update)`.
trait ChangeFixture: Sized {
    fn test(address: &str, action: Action) -> Self;
    fn reason(self, reason: &str) -> Self;
    fn drift(self) -> Self;
    fn reported(self) -> Self;
    fn with_consumers(self, consumers: Vec<LostConsumer>) -> Self;
    fn with_ephemeral_consumers(self, count: u64) -> Self;
    fn refused(self, why: &str) -> Self;
    fn field(self, path: &str, json_field: &str, before: Value, after: Value) -> Self;
    fn forcing(self, path: &str, json_field: &str, before: Value, after: Value, why: &str) -> Self;
    fn after(self, config: Value) -> Self;
    fn loses(self, holdings: Holdings) -> Self;
    fn declared_at(self, file: &str, line: u64) -> Self;
}

impl ChangeFixture for Change {
    fn test(address: &str, action: Action) -> Self {
        Change::new(
            Address::parse(address).expect("a valid address"),
            action,
            "",
        )
    }

    fn reason(mut self, reason: &str) -> Self {
        self.reason = reason.to_string();
        self
    }

    fn drift(mut self) -> Self {
        self.drift = true;
        self
    }

    fn reported(mut self) -> Self {
        self.drift = true;
        self.reported = true;
        self
    }

    fn with_consumers(mut self, consumers: Vec<LostConsumer>) -> Self {
        self.loses.get_or_insert_with(Default::default).consumers = consumers;
        self
    }

    fn with_ephemeral_consumers(mut self, count: u64) -> Self {
        self.loses
            .get_or_insert_with(Default::default)
            .ephemeral_consumers = count;
        self
    }

    fn refused(mut self, why: &str) -> Self {
        self.refused = Some(why.to_string());
        self
    }

    fn field(mut self, path: &str, json_field: &str, before: Value, after: Value) -> Self {
        self.diff.push(FieldChange {
            path: path.to_string(),
            json_field: json_field.to_string(),
            before,
            after,
            forces_replacement: false,
            reason: None,
        });
        self
    }

    fn forcing(
        mut self,
        path: &str,
        json_field: &str,
        before: Value,
        after: Value,
        why: &str,
    ) -> Self {
        self = self.field(path, json_field, before, after);
        let field = self.diff.last_mut().unwrap();
        field.forces_replacement = true;
        field.reason = Some(why.to_string());
        self
    }

    fn after(mut self, config: Value) -> Self {
        let kind = self.address.kind;
        self.after = Some(comparable(kind, &config, None));
        self
    }

    fn loses(mut self, holdings: Holdings) -> Self {
        self.loses = Some(holdings.into());
        self
    }

    fn declared_at(mut self, file: &str, line: u64) -> Self {
        self.declared_at = Some(DeclaredAt::document(file, line, 1));
        self
    }
}

fn stored(messages: u64, bytes: u64) -> Holdings {
    Holdings {
        messages,
        bytes,
        ..Holdings::default()
    }
}

fn position(delivered_stream_seq: u64, pending: u64, ack_pending: u64) -> Holdings {
    Holdings {
        delivered_stream_seq,
        pending,
        ack_pending,
        ..Holdings::default()
    }
}

fn diagnostic(
    severity: Severity,
    summary: &str,
    help: &str,
    (file, line, column): (&str, u64, u64),
    field: &str,
) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(severity, summary)
        .with_help(help)
        .with_field(field);
    diagnostic.file = Some(file.to_string());
    diagnostic.line = Some(line);
    diagnostic.column = Some(column);
    diagnostic
}

/// A plan holding every action kind: creates, an update with a long value,
/// A consumer that goes with a replaced stream: `owner` None for one made by
/// another application, `managed` when it is this owner's.
fn lost(name: &str, owner: Option<&str>, fate: ConsumerFate) -> LostConsumer {
    let managed = fate == ConsumerFate::Recreated;
    LostConsumer {
        name: name.into(),
        pending: 40,
        ack_pending: 3,
        owner: if managed {
            Some("jetsync".into())
        } else {
            owner.map(str::to_string)
        },
        managed,
        fate,
    }
}

/// replacements allowed and refused (with what they lose), deletions allowed
/// and refused, a refused adoption, and drift; plus an error and a warning.
fn every_action_kind() -> Plan {
    let changes = vec![
        Change::test("stream/ORDERS", Action::Create)
            .reason("declared, not on the server")
            .after(json!({
                "name": "ORDERS",
                "subjects": ["orders.>"],
                "max_age": 7 * DAY,
                "max_bytes": 1024 * MIB,
                "num_replicas": 3,
            }))
            .declared_at("streams/orders.yaml", 1),
        Change::test("stream/EVENTS", Action::Update)
            .reason("declared config changed")
            .field(
                "maxAge",
                "max_age",
                json!(7 * DAY),
                json!(30 * DAY),
            )
            .field("maxBytes", "max_bytes", json!(512 * MIB), json!(-1))
            .field(
                "metadata",
                "metadata",
                json!({"team": "payments", "runbook": "https://wiki.example.com/events", "tier": "gold"}),
                json!({"team": "payments", "runbook": "https://wiki.example.com/runbooks/events", "tier": "platinum", "pager": "events-oncall"}),
            )
            .declared_at("streams/events.yaml", 1),
        Change::test("stream/AUDIT", Action::Replace)
            .reason("forces replacement (storage: the server cannot change a stream's storage type)")
            .forcing(
                "storage",
                "storage",
                json!("file"),
                json!("memory"),
                "the server cannot change a stream's storage type",
            )
            .field("replicas", "num_replicas", json!(1), json!(3))
            .loses(stored(1200, 5 * MIB))
            .with_consumers(vec![
                lost("archiver", None, ConsumerFate::Recreated),
                lost("audit-tail", None, ConsumerFate::Restored),
                lost("audit-replay", None, ConsumerFate::Deleted),
            ])
            .with_ephemeral_consumers(1)
            .declared_at("streams/audit.yaml", 1),
        Change::test("stream/SHARED", Action::Adopt)
            .reason("exists, not managed by jetsync")
            .refused("taking over an existing asset needs --adopt (or spec.adopt: true)")
            .field("maxMsgs", "max_msgs", json!(-1), json!(100_000))
            .declared_at("streams/shared.yaml", 1),
        Change::test("kv/config", Action::Update)
            .reason("changed outside jetsync")
            .drift()
            .field("history", "max_msgs_per_subject", json!(1), json!(5))
            .declared_at("kv/config.yaml", 1),
        Change::test("stream/METRICS", Action::Update)
            .reason("changed outside jetsync; left as it is (driftPolicy: Report)")
            .reported()
            .field("maxAge", "max_age", json!(DAY), json!(7 * DAY))
            .declared_at("streams/metrics.yaml", 1),
        Change::test("consumer/ORDERS/worker", Action::Create)
            .reason("declared, not on the server")
            .after(json!({
                "name": "worker",
                "durable_name": "worker",
                "ack_policy": "explicit",
                "filter_subject": "orders.created",
                "ack_wait": 60 * SECOND,
                "max_deliver": 5,
            }))
            .declared_at("consumers/worker.yaml", 1),
        Change::test("consumer/AUDIT/archiver", Action::Replace)
            .reason("its stream `AUDIT` is replaced")
            .loses(position(812, 40, 3))
            .declared_at("consumers/archiver.yaml", 1),
        Change::test("consumer/EVENTS/billing", Action::Replace)
            .reason("forces replacement (ackPolicy: a consumer's ack policy cannot change)")
            .refused("`ackPolicy` cannot change in place; replacing needs --allow-replace (or spec.onImmutableChange: Recreate)")
            .forcing(
                "ackPolicy",
                "ack_policy",
                json!("explicit"),
                json!("none"),
                "a consumer's ack policy cannot change",
            )
            .loses(position(10_554, 0, 12))
            .declared_at("consumers/billing.yaml", 7),
        Change::test("stream/OLD", Action::Delete)
            .reason("managed by `jetsync` and no longer declared")
            .loses(stored(10, 2048)),
        Change::test("stream/LEGACY", Action::Delete)
            .reason("managed by `jetsync` and no longer declared")
            .refused("deleting undeclared assets needs --prune")
            .loses(stored(48_213, 96 * MIB)),
    ];
    Plan {
        changes,
        unchanged: 4,
        diagnostics: vec![diagnostic(
            Severity::Error,
            "stream/ORDERS: allowMsgTtl needs nats-server 2.11 (connected: nats-server 2.10.22)",
            "upgrade the server or leave the field out",
            ("streams/orders.yaml", 14, 3),
            "spec.allowMsgTtl",
        )],
    }
}

fn manifest_warning() -> Diagnostic {
    diagnostic(
        Severity::Warning,
        "allowMsgTtl is false, but subjectDeleteMarkerTtl makes the server turn it on",
        "set allowMsgTtl: true or leave it out",
        ("streams/events.yaml", 12, 3),
        "spec.allowMsgTtl",
    )
}

#[test]
fn human_output_shows_every_action_kind() {
    let plan = every_action_kind();
    insta::assert_snapshot!("human", human::render_plan(&plan, TARGET, false));
}

#[test]
fn markdown_output_shows_every_action_kind() {
    let plan = every_action_kind();
    let body = markdown::render_markdown(&[(TARGET.to_string(), &plan)], &[manifest_warning()]);
    insta::assert_snapshot!("markdown", body);
}

#[test]
fn json_output_shows_every_action_kind() {
    let plan = every_action_kind();
    let server = ServerIdentity {
        url_redacted: "nats://nats.example.com:4222".into(),
        name: "n1".into(),
        version: "2.11.4".into(),
        api_level: 1,
        domain: None,
        account: Some("APP".into()),
        usage: Default::default(),
        standalone: false,
    };
    let live = [LiveAsset {
        address: Address::stream("AUDIT"),
        config: json!({"name": "AUDIT", "subjects": ["audit.>"]}).into(),
        holdings: Holdings::default(),
    }];
    let sources = [SourceText {
        name: "streams/events.yaml".into(),
        text: "apiVersion: jetsync.dev/v1alpha1\n".into(),
    }];
    let document = plan_json::document(
        &[plan_json::GroupInput {
            connection: None,
            server: &server,
            live: &live,
            plan: &plan,
            declared: &[],
        }],
        &sources,
        plan_json::Options {
            owner: "jetsync".into(),
            ..plan_json::Options::default()
        },
        &[manifest_warning()],
    );
    let text = serde_json::to_string_pretty(&document).unwrap();
    insta::assert_snapshot!("json", text.replace(env!("CARGO_PKG_VERSION"), "VERSION"));
    let back = plan_json::PlanDocument::from_json(&text).unwrap();
    assert_eq!(back, document, "the document reads back as written");
}

#[test]
fn github_output_annotates_every_action_kind() {
    let plan = every_action_kind();
    let commands = github::annotations(&[(TARGET.to_string(), &plan)], &[manifest_warning()]);
    insta::assert_snapshot!("github", commands);
}

#[test]
fn a_plan_without_changes_says_so_first() {
    let plan = Plan {
        unchanged: 7,
        ..Plan::default()
    };
    let plans = [(TARGET.to_string(), &plan)];
    let body = markdown::render_markdown(&plans, &[]);
    insta::assert_snapshot!("markdown_no_changes", body);
    assert!(
        body.starts_with("### ✅ jetsync plan: no changes"),
        "{body}"
    );
    assert_eq!(github::annotations(&plans, &[]), "");
}

#[test]
fn plans_of_two_targets_are_shown_apart_and_counted_together() {
    let first = Plan {
        changes: vec![
            Change::test("stream/ORDERS", Action::Create)
                .reason("declared, not on the server")
                .after(json!({"name": "ORDERS", "subjects": ["orders.>"]})),
        ],
        unchanged: 1,
        diagnostics: Vec::new(),
    };
    let second = Plan {
        changes: vec![
            Change::test("stream/ORDERS", Action::Delete)
                .reason("managed by `jetsync` and no longer declared")
                .loses(stored(3, 300)),
        ],
        unchanged: 2,
        diagnostics: Vec::new(),
    };
    let plans = [
        ("nats://east:4222 (nats-server 2.11.4)".to_string(), &first),
        (
            "nats://west:4222 (nats-server 2.10.22)".to_string(),
            &second,
        ),
    ];
    let body = markdown::render_markdown(&plans, &[]);
    insta::assert_snapshot!("markdown_two_targets", body);
    let commands = github::annotations(&plans, &[]);
    assert!(
        commands.contains("%0Atarget: nats://west:4222 (nats-server 2.10.22)"),
        "{commands}"
    );
}

/// A change whose metadata diff is about `keys` lines long.
fn large_update(index: usize, keys: usize) -> Change {
    let before: serde_json::Map<String, Value> = (0..keys)
        .map(|key| {
            (
                format!("key-{key:03}"),
                json!(format!("old value {key} of asset {index}")),
            )
        })
        .collect();
    let after: serde_json::Map<String, Value> = (0..keys)
        .map(|key| {
            (
                format!("key-{key:03}"),
                json!(format!("new value {key} of asset {index}")),
            )
        })
        .collect();
    Change::test(&format!("stream/S{index:04}"), Action::Update)
        .reason("declared config changed")
        .field(
            "metadata",
            "metadata",
            Value::Object(before),
            Value::Object(after),
        )
}

/// The number in "N diffs folded", if the body says it.
fn folded_count(body: &str) -> Option<usize> {
    let end = body
        .find(" diffs folded")
        .or_else(|| body.find(" diff folded"))?;
    let start = body[..end].rfind(|c: char| !c.is_ascii_digit())? + 1;
    body[start..end].parse().ok()
}

#[test]
fn two_thousand_large_diffs_fit_a_github_comment_and_say_how_many_were_folded() {
    let plan = Plan {
        changes: (0..2000).map(|index| large_update(index, 20)).collect(),
        ..Plan::default()
    };
    let body = markdown::render_markdown(&[(TARGET.to_string(), &plan)], &[]);
    assert!(
        body.chars().count() < 65_536,
        "{} characters",
        body.chars().count()
    );
    assert!(
        body.len() <= markdown::COMMENT_BUDGET,
        "{} bytes",
        body.len()
    );
    let folded =
        folded_count(&body).unwrap_or_else(|| panic!("no fold note in:\n{}", &body[..2000]));
    let shown = body.matches("<details>").count();
    assert_eq!(
        folded + shown,
        2000,
        "every diff is either shown or counted as folded"
    );
    assert!(folded > 0);
    assert!(body.starts_with("### 📝 jetsync plan: 0 to add, 2000 to change"));
    assert!(
        body.contains("run `jetsync plan` for all"),
        "{}",
        &body[..2000]
    );
}

#[test]
fn the_longest_diffs_are_folded_first() {
    // Ten small diffs and three huge ones; only the huge ones need folding.
    let mut changes: Vec<Change> = (0..10).map(|index| large_update(index, 3)).collect();
    changes.extend((10..13).map(|index| large_update(index, 300)));
    let plan = Plan {
        changes,
        ..Plan::default()
    };
    let body = markdown::render_markdown_within(&[(TARGET.to_string(), &plan)], &[], 20_000);
    assert!(body.len() <= 20_000, "{} bytes", body.len());
    let folded = folded_count(&body).expect("a fold note");
    assert!((1..=3).contains(&folded), "{folded} folded");
    for index in 0..10 {
        assert!(
            body.contains(&format!("<code>~ stream/S{index:04}</code> update")),
            "small diff {index} was folded"
        );
    }
    for index in 10..10 + folded {
        assert!(
            body.contains(&format!(
                "- `stream/S{index:04}` update: 1 field, diff folded"
            )),
            "huge diff {index} is not noted as folded:\n{body}"
        );
    }
}

#[test]
fn a_plan_that_fits_is_not_folded() {
    let plan = every_action_kind();
    let body = markdown::render_markdown(&[(TARGET.to_string(), &plan)], &[]);
    assert_eq!(folded_count(&body), None);
    assert!(!body.contains("[!NOTE]"));
}

#[test]
fn names_and_values_that_would_break_markdown_are_escaped() {
    let plan = Plan {
        changes: vec![
            Change::test("stream/A`B|C<script>", Action::Delete)
                .reason("managed by `te`am` and no longer declared | <img src=x> *bold* [link](x)")
                .refused("deleting undeclared assets needs --prune"),
            Change::test("stream/META", Action::Update)
                .reason("declared config changed")
                .field(
                    "metadata",
                    "metadata",
                    json!({"note": "short"}),
                    json!({"note": "```\n</details>\n<b>break out</b> | pipe | and a very long tail to force a line diff"}),
                ),
        ],
        ..Plan::default()
    };
    let body = markdown::render_markdown(&[(TARGET.to_string(), &plan)], &[]);
    insta::assert_snapshot!("markdown_escaping", body);
    // The name with a backtick sits in a code span that outlasts it.
    assert!(body.contains("``stream/A`B|C<script>``"), "{body}");
    // Outside code, HTML and table/list punctuation are inert.
    assert!(!body.contains("<img"), "{body}");
    assert_eq!(
        body.matches("<script>").count(),
        body.matches("``stream/A`B|C<script>``").count(),
        "{body}"
    );
    assert!(
        body.contains("\\| &lt;img src=x&gt; \\*bold\\* \\[link\\](x)"),
        "{body}"
    );
    // A value holding a fence cannot close the diff block: the fence is longer.
    assert!(body.contains("````diff"), "{body}");
    assert!(body.contains("\n````\n\n</details>"), "{body}");
}

#[test]
fn annotation_properties_and_messages_are_escaped_as_the_runner_requires() {
    assert_eq!(github::escape_data("100%\r\nnext"), "100%25%0D%0Anext");
    assert_eq!(github::escape_property("a:b,c%d\ne"), "a%3Ab%2Cc%25d%0Ae");
    let plan = Plan {
        changes: vec![
            Change::test("stream/ORDERS", Action::Replace)
                .reason("forces replacement (storage: 100% certain)\n::error::injected")
                .refused("`storage` cannot change in place")
                .declared_at("dir,with:odd/orders.yaml", 3),
        ],
        ..Plan::default()
    };
    let commands = github::annotations(&[(TARGET.to_string(), &plan)], &[]);
    assert_eq!(
        commands,
        "::error file=dir%2Cwith%3Aodd/orders.yaml,line=3,col=1,title=jetsync%3A replacement of stream/ORDERS refused::`storage` cannot change in place%0Aforces replacement (storage: 100%25 certain)%0A::error::injected\n"
    );
    assert_eq!(
        commands.lines().count(),
        1,
        "a message cannot start a new command"
    );
}

#[test]
fn diagnostics_without_a_file_are_annotated_without_a_location() {
    let commands = github::annotations(&[], &[Diagnostic::error("no manifests given")]);
    assert_eq!(commands, "::error title=jetsync::no manifests given\n");
}

#[test]
fn the_step_summary_is_appended_to_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.md");
    std::fs::write(&path, "## an earlier step\n").unwrap();
    github::append_step_summary(&path, "### ✅ jetsync plan: no changes\n").unwrap();
    github::append_step_summary(&path, "second").unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "## an earlier step\n### ✅ jetsync plan: no changes\n\nsecond\n\n"
    );
}

#[test]
fn every_annotation_is_one_workflow_command_a_line() {
    let plan = every_action_kind();
    let commands = github::annotations(&[(TARGET.to_string(), &plan)], &[manifest_warning()]);
    for line in commands.lines() {
        assert!(
            line.starts_with("::error ")
                || line.starts_with("::warning ")
                || line.starts_with("::notice "),
            "{line}"
        );
        let (properties, _) = line[2..].split_once("::").unwrap();
        let (_, properties) = properties.split_once(' ').unwrap();
        for property in properties.split(',') {
            let (key, _) = property.split_once('=').unwrap();
            assert!(["file", "line", "col", "title"].contains(&key), "{line}");
        }
    }
    // Errors first: the runner shows only the first few of each level.
    let levels: Vec<&str> = commands
        .lines()
        .map(|line| line[2..].split(' ').next().unwrap())
        .collect();
    let mut sorted = levels.clone();
    sorted.sort_by_key(|level| {
        ["error", "warning", "notice"]
            .iter()
            .position(|l| l == level)
    });
    assert_eq!(levels, sorted);
}

/// Manifests as a user writes them: units of their choice, fields equal to
/// the server's defaults, a consumer whose stream exists nowhere, and a
/// storage change that is refused.
const WRITTEN: &str = "\
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: orders
spec:
  name: ORDERS
  subjects: [\"orders.>\"]
  storage: file
  maxAge: 24h
  maxBytes: 1GiB
  replicas: 1
---
apiVersion: jetsync.dev/v1alpha1
kind: KeyValue
metadata:
  name: config
spec:
  ttl: 7d
  maxValueSize: 64KiB
---
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: events
spec:
  name: EVENTS
  subjects: [\"events.>\"]
  maxAge: 36h
  maxBytes: 512MiB
---
apiVersion: jetsync.dev/v1alpha1
kind: Stream
metadata:
  name: audit
spec:
  name: AUDIT
  subjects: [\"audit.>\"]
  storage: memory
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: worker
spec:
  streamName: ORDERS
  ackPolicy: explicit
  ackWait: 90s
  maxDeliver: 5
---
apiVersion: jetsync.dev/v1alpha1
kind: Consumer
metadata:
  name: lost
spec:
  streamName: NOWHERE
  ackPolicy: explicit
";

/// The plan of [`WRITTEN`] against a server holding EVENTS (with other
/// limits) and AUDIT (on file), both managed by jetsync.
fn written_plan() -> Plan {
    use jetsync::plan::capabilities::ServerVersion;
    use jetsync::plan::classify::{PlanOptions, plan};
    use jetsync::plan::desired::desired_assets;
    use jetsync::plan::ownership;

    let sources = [SourceText {
        name: "infra/streams.yaml".into(),
        text: WRITTEN.into(),
    }];
    let manifests = jetsync::manifest::load_sources(&sources);
    assert!(manifests.is_valid(), "{:?}", manifests.diagnostics);
    let desired = desired_assets(&manifests.documents);
    let managed = |config: Value| {
        let kind = Address::from_stream_name(config["name"].as_str().unwrap()).kind;
        let hash = ownership::config_hash(&comparable(kind, &config, None));
        ownership::with_markers(&config, "jetsync", &hash)
    };
    let live = [
        LiveAsset {
            address: Address::stream("EVENTS"),
            config: managed(json!({
                "name": "EVENTS", "subjects": ["events.>"],
                "max_age": 7 * DAY, "max_bytes": 1024 * MIB
            }))
            .into(),
            holdings: Holdings::default(),
        },
        LiveAsset {
            address: Address::stream("AUDIT"),
            config: managed(json!({"name": "AUDIT", "subjects": ["audit.>"], "storage": "file"}))
                .into(),
            holdings: stored(3, 3 * 1024),
        },
    ];
    let options = PlanOptions::new("jetsync", ServerVersion::parse("2.15.1").unwrap());
    plan(&desired, &live, &options)
}

#[test]
fn the_plan_shows_values_as_written_and_server_values_in_the_declared_unit() {
    let plan = written_plan();
    let text = human::render_plan(&plan, TARGET, false);
    insta::assert_snapshot!("human_in_the_users_words", text);
    // As written, not canonical: no `1d`, `1w`; the server's 7 days in hours.
    assert!(text.contains("maxAge: 24h\n"), "{text}");
    assert!(text.contains("ttl: 7d\n"), "{text}");
    assert!(text.contains("maxAge: 168h → 36h"), "{text}");
    assert!(text.contains("maxBytes: 1024MiB → 512MiB"), "{text}");
    // Declared with the default value: shown; never written: not shown.
    assert!(
        text.contains("replicas: 1\n") && text.contains("storage: file\n"),
        "{text}"
    );
    assert!(!text.contains("history"), "{text}");
}

#[test]
fn markdown_shows_values_as_written_too() {
    let plan = written_plan();
    let body = markdown::render_markdown(&[(TARGET.to_string(), &plan)], &[]);
    insta::assert_snapshot!("markdown_in_the_users_words", body);
}

#[test]
fn diagnostics_and_annotations_point_at_the_field_that_causes_them() {
    let plan = written_plan();
    let missing = plan
        .diagnostics
        .iter()
        .find(|d| d.summary.contains("NOWHERE"))
        .expect("the consumer of a stream that exists nowhere is an error");
    let line_of =
        |needle: &str| WRITTEN.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1;
    assert_eq!(
        (missing.line, missing.column),
        (Some(line_of("streamName: NOWHERE")), Some(15)),
        "at the value of spec.streamName"
    );
    let annotations = github::annotations(&[(TARGET.to_string(), &plan)], &[]);
    insta::assert_snapshot!("github_in_the_users_words", annotations);
    let storage = format!("line={},col=12", line_of("storage: memory"));
    assert!(
        annotations
            .lines()
            .any(|l| l.contains("stream/AUDIT refused") && l.contains(&storage)),
        "the refused replacement is annotated at `storage`:\n{annotations}"
    );
}
