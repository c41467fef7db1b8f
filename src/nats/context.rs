//! The nats CLI's context files: `<config>/nats/context/<NAME>.json`, with
//! `<config>/nats/context.txt` naming the selected one. `<config>` is
//! `$XDG_CONFIG_HOME`, else `~/.config` (as in natscli's `natscontext`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The part of a nats CLI context jetsync uses. Unknown keys are ignored
/// (natscli writes many more: description, inbox prefix, colours, …).
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NatsContext {
    pub url: String,
    pub user: String,
    pub password: String,
    pub token: String,
    pub creds: String,
    pub nkey: String,
    pub cert: String,
    pub key: String,
    pub ca: String,
    pub jetstream_domain: String,
    pub tls_first: bool,
    /// `nsc://…` lookups need the `nsc` tool: refused with a clear message.
    pub nsc: String,
    pub user_jwt: String,
    pub user_seed: String,
}

impl fmt::Debug for NatsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsContext")
            .field("url", &crate::spec::server_url::redact_list(&self.url))
            .field("user", &self.user)
            .field("password", &redacted(&self.password))
            .field("token", &redacted(&self.token))
            .field("creds", &self.creds)
            .field("nkey", &self.nkey)
            .field("jetstream_domain", &self.jetstream_domain)
            .field("tls_first", &self.tls_first)
            .finish_non_exhaustive()
    }
}

fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() { "" } else { "[redacted]" }
}

/// A context that was found and read.
#[derive(Debug, Clone)]
pub(crate) struct LoadedContext {
    pub name: String,
    pub path: PathBuf,
    pub settings: NatsContext,
}

/// Why a context could not be used. Never carries file content.
#[derive(Debug, Clone)]
pub(crate) struct ContextProblem {
    pub name: String,
    pub path: PathBuf,
    pub reason: String,
}

/// `<config>/nats`, given the config home (`$XDG_CONFIG_HOME` or `~/.config`).
pub(crate) fn nats_dir(config_home: &Path) -> PathBuf {
    config_home.join("nats")
}

/// The context named by `context.txt`, if the file exists and is not empty.
pub(crate) fn selected_context(config_home: &Path) -> Option<String> {
    let text = std::fs::read_to_string(nats_dir(config_home).join("context.txt")).ok()?;
    let name = text.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Reads context `name` from `<config_home>/nats/context/<name>.json`.
pub(crate) fn load_context(
    config_home: &Path,
    name: &str,
) -> Result<LoadedContext, ContextProblem> {
    let path = nats_dir(config_home)
        .join("context")
        .join(format!("{name}.json"));
    let problem = |reason: String| ContextProblem {
        name: name.to_string(),
        path: path.clone(),
        reason,
    };
    if name.is_empty() || name.contains("..") || name.contains(['/', '\\']) {
        return Err(problem("not a valid context name".to_string()));
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(problem(
                "no such context (the file does not exist)".to_string(),
            ));
        }
        Err(e) => return Err(problem(format!("cannot read the file: {e}"))),
    };
    let settings: NatsContext = serde_json::from_str(&text).map_err(|e| {
        // serde_json's message can quote a value (a password given as a
        // number, say): report only the position and the kind of problem.
        let kind = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "not valid JSON"
            }
            _ => "a value has the wrong type",
        };
        problem(format!("{kind} at line {} column {}", e.line(), e.column()))
    })?;
    if !settings.nsc.is_empty() {
        return Err(problem(
            "uses an `nsc` lookup, which jetsync does not support: point `creds` at a file"
                .to_string(),
        ));
    }
    if !settings.user_jwt.is_empty() || !settings.user_seed.is_empty() {
        return Err(problem(
            "uses an inline `user_jwt`/`user_seed`, which jetsync does not support: \
             point `creds` at a credentials file"
                .to_string(),
        ));
    }
    Ok(LoadedContext {
        name: name.to_string(),
        path,
        settings,
    })
}

/// A file reference from a context: `~/` expanded, `file://` accepted, other
/// URL schemes (`nsc://`, `op://`, `env://`) refused.
pub(crate) fn context_file_path(value: &str, home: Option<&Path>) -> Result<PathBuf, String> {
    let value = value.strip_prefix("file://").unwrap_or(value);
    if let Some((scheme, _)) = value.split_once("://") {
        return Err(format!(
            "the reference scheme `{scheme}://` is not supported: use a file path"
        ));
    }
    if let Some(rest) = value.strip_prefix("~/")
        && let Some(home) = home
    {
        return Ok(home.join(rest));
    }
    Ok(PathBuf::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_context_file_is_read_and_unknown_keys_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "nats/context/dev.json",
            r#"{"description":"d","url":"nats://h:4222","user":"u","password":"p",
               "jetstream_domain":"hub","tls_first":true,"color_scheme":"dark"}"#,
        );
        write(dir.path(), "nats/context.txt", "dev\n");

        assert_eq!(selected_context(dir.path()).as_deref(), Some("dev"));
        let ctx = load_context(dir.path(), "dev").unwrap();
        assert_eq!(ctx.settings.url, "nats://h:4222");
        assert_eq!(ctx.settings.jetstream_domain, "hub");
        assert!(ctx.settings.tls_first);
        assert!(!format!("{ctx:?}").contains("\"p\""), "{ctx:?}");
    }

    #[test]
    fn a_broken_context_file_is_reported_without_quoting_its_values() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "nats/context/bad.json",
            r#"{"password": 123456789}"#,
        );

        let problem = load_context(dir.path(), "bad").unwrap_err();

        assert!(problem.reason.contains("line 1"), "{problem:?}");
        assert!(!problem.reason.contains("123456789"), "{problem:?}");
    }

    #[test]
    fn a_missing_context_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let problem = load_context(dir.path(), "nope").unwrap_err();
        assert!(problem.reason.contains("no such context"), "{problem:?}");
        assert!(selected_context(dir.path()).is_none());
    }

    #[test]
    fn context_file_references_expand_home_and_refuse_other_schemes() {
        let home = Path::new("/home/me");
        assert_eq!(
            context_file_path("~/x.creds", Some(home)).unwrap(),
            PathBuf::from("/home/me/x.creds")
        );
        assert_eq!(
            context_file_path("file:///etc/x.creds", Some(home)).unwrap(),
            PathBuf::from("/etc/x.creds")
        );
        assert!(context_file_path("nsc://op/acc/user", Some(home)).is_err());
    }
}
