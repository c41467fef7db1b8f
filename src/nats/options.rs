//! Where the connection settings come from: flags, environment, the nats
//! CLI's contexts and defaults, merged into [`ResolvedOptions`], and the
//! authentication methods they name.
//!
//! Secrets (passwords, tokens, key material) never appear in any `Display` or
//! `Debug` output: they are held in [`Secret`], URLs are shown redacted, and
//! credential files are named by path only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::auth::{Auth, REDACTED, Secret};
use super::connect_error::ConnectError;
use super::context::{self, LoadedContext, NatsContext};
use crate::spec::server_url::{self, UserInfo};

/// The server jetsync talks to when nothing else is configured.
pub const DEFAULT_SERVER: &str = "nats://127.0.0.1:4222";

/// Connect and request timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to connect to and how to authenticate, as given on the command line.
///
/// Each unset field falls back to the environment (`NATS_URL`, `NATS_USER`,
/// `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CREDS`, `NATS_NKEY`, `NATS_CA`,
/// `NATS_CERT`, `NATS_KEY`, `NATS_CONTEXT`), then to the nats CLI context
/// (`context`, else the one `context.txt` selects), then to the defaults.
/// Authentication is taken whole from the first of those layers that sets
/// any, never mixed across layers.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Server URLs (`--server`); an entry may hold a comma-separated list.
    pub servers: Vec<String>,
    /// A nats CLI context name (`--context`).
    pub context: Option<String>,
    /// A `.creds` file: user JWT and nkey seed (`--creds`).
    pub creds: Option<PathBuf>,
    /// A file holding an nkey seed (`--nkey`).
    pub nkey: Option<PathBuf>,
    /// User name (`--user`); without a password it is sent as a token, as
    /// the nats CLI does.
    pub user: Option<String>,
    /// Password (`--password`).
    pub password: Option<String>,
    /// Token (`--token`).
    pub token: Option<String>,
    /// CA certificate(s) to verify the server with (`--tls-ca`).
    pub tls_ca: Option<PathBuf>,
    /// Client certificate for mutual TLS (`--tls-cert`).
    pub tls_cert: Option<PathBuf>,
    /// Client key for mutual TLS (`--tls-key`).
    pub tls_key: Option<PathBuf>,
    /// TLS before the NATS handshake, for servers with `handshake_first` (`--tls-first`).
    pub tls_first: bool,
    /// JetStream domain (`--js-domain`): the API is then `$JS.<domain>.API`.
    pub js_domain: Option<String>,
    /// Connect timeout per server and timeout of each API request.
    pub timeout: Duration,
    /// The directory holding `nats/context/` (the role of `$XDG_CONFIG_HOME`);
    /// `None` means `$XDG_CONFIG_HOME`, else `~/.config`. Tests point it at a
    /// temporary directory.
    pub config_home: Option<PathBuf>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            context: None,
            creds: None,
            nkey: None,
            user: None,
            password: None,
            token: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            tls_first: false,
            js_domain: None,
            timeout: DEFAULT_TIMEOUT,
            config_home: None,
        }
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|s| server_url::redact_list(s))
            .collect();
        f.debug_struct("ConnectOptions")
            .field("servers", &servers)
            .field("context", &self.context)
            .field("creds", &self.creds)
            .field("nkey", &self.nkey)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("token", &self.token.as_ref().map(|_| REDACTED))
            .field("tls_ca", &self.tls_ca)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_first", &self.tls_first)
            .field("js_domain", &self.js_domain)
            .field("timeout", &self.timeout)
            .field("config_home", &self.config_home)
            .finish()
    }
}

/// Connection settings after flags, environment, context and defaults were
/// merged: what [`connect_resolved`](super::connect_resolved) uses. Server
/// URLs carry no credentials.
#[derive(Clone, Debug)]
pub struct ResolvedOptions {
    /// Server URLs, user info removed (it became [`Self::auth`]).
    pub servers: Vec<String>,
    /// The authentication method.
    pub auth: Auth,
    /// CA certificate(s).
    pub tls_ca: Option<PathBuf>,
    /// Client certificate.
    pub tls_cert: Option<PathBuf>,
    /// Client key.
    pub tls_key: Option<PathBuf>,
    /// TLS before the NATS handshake.
    pub tls_first: bool,
    /// JetStream domain.
    pub js_domain: Option<String>,
    /// Connect timeout per server and API request timeout.
    pub timeout: Duration,
    /// The nats CLI context that contributed settings, if any.
    pub context: Option<String>,
}

impl ResolvedOptions {
    /// The server list for messages: redacted, comma-separated.
    pub fn servers_redacted(&self) -> String {
        self.servers
            .iter()
            .map(|s| server_url::redact(s))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Why jetsync could not connect. Each cause has its own variant so the CLI
impl ConnectOptions {
    /// Merges flags, process environment, nats CLI context and defaults.
    pub fn resolve(&self) -> Result<ResolvedOptions, ConnectError> {
        self.resolve_with(&|name| std::env::var(name).ok())
    }

    /// Like [`Self::resolve`] with `env` in place of the process environment
    /// (so tests need not touch process-global variables).
    pub fn resolve_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedOptions, ConnectError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let home = var("HOME").map(PathBuf::from);
        let config_home = self
            .config_home
            .clone()
            .or_else(|| var("XDG_CONFIG_HOME").map(PathBuf::from))
            .or_else(|| home.as_ref().map(|h| h.join(".config")));

        let loaded = self.load_context(&var, config_home.as_deref())?;
        let ctx = loaded.as_ref().map(|c| &c.settings);
        let ctx_value = |get: fn(&NatsContext) -> &String| {
            ctx.map(get).filter(|v| !v.trim().is_empty()).cloned()
        };
        let ctx_path = |what: &'static str, get: fn(&NatsContext) -> &String| match ctx_value(get) {
            None => Ok(None),
            Some(value) => context::context_file_path(&value, home.as_deref())
                .map(Some)
                .map_err(|reason| context_error(loaded.as_ref(), format!("{what}: {reason}"))),
        };

        // Servers: flags > NATS_URL > context > default.
        let raw_servers: Vec<String> = if self.servers.iter().any(|s| !s.trim().is_empty()) {
            split_server_list(&self.servers.join(","))
        } else if let Some(url) = var("NATS_URL") {
            split_server_list(&url)
        } else if let Some(url) = ctx_value(|c| &c.url) {
            split_server_list(&url)
        } else {
            vec![DEFAULT_SERVER.to_string()]
        };
        let mut servers = Vec::with_capacity(raw_servers.len());
        let mut url_auth = None;
        for raw in &raw_servers {
            let (url, user_info) = server_url::split_user_info(raw);
            if url_auth.is_none() {
                url_auth = user_info.map(auth_in_url);
            }
            servers.push(url);
        }

        // Authentication: the first layer that sets any wins, whole.
        let auth = match self.explicit_auth(&var)? {
            Some(auth) => auth,
            None => match env_auth(&var) {
                Some(auth) => auth,
                None => match context_auth(ctx, &ctx_path)? {
                    Some(auth) => auth,
                    None => url_auth.unwrap_or(Auth::None),
                },
            },
        };

        let tls_ca = match self
            .tls_ca
            .clone()
            .or_else(|| var("NATS_CA").map(PathBuf::from))
        {
            Some(path) => Some(path),
            None => ctx_path("ca", |c| &c.ca)?,
        };
        let tls_cert = match self
            .tls_cert
            .clone()
            .or_else(|| var("NATS_CERT").map(PathBuf::from))
        {
            Some(path) => Some(path),
            None => ctx_path("cert", |c| &c.cert)?,
        };
        let tls_key = match self
            .tls_key
            .clone()
            .or_else(|| var("NATS_KEY").map(PathBuf::from))
        {
            Some(path) => Some(path),
            None => ctx_path("key", |c| &c.key)?,
        };
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(ConnectError::InvalidConfig {
                reason: "a TLS client certificate and its key go together: give both \
                         --tls-cert and --tls-key, or neither"
                    .to_string(),
            });
        }

        let js_domain = self
            .js_domain
            .clone()
            .filter(|d| !d.trim().is_empty())
            .or_else(|| ctx_value(|c| &c.jetstream_domain));

        Ok(ResolvedOptions {
            servers,
            auth,
            tls_ca,
            tls_cert,
            tls_key,
            tls_first: self.tls_first || ctx.is_some_and(|c| c.tls_first),
            js_domain,
            timeout: if self.timeout.is_zero() {
                DEFAULT_TIMEOUT
            } else {
                self.timeout
            },
            context: loaded.map(|c| c.name),
        })
    }

    /// The context named by the flag, `NATS_CONTEXT`, or `context.txt`.
    fn load_context(
        &self,
        var: &dyn Fn(&str) -> Option<String>,
        config_home: Option<&Path>,
    ) -> Result<Option<LoadedContext>, ConnectError> {
        let named = self
            .context
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| var("NATS_CONTEXT"));
        let Some(config_home) = config_home else {
            return match named {
                Some(name) => Err(ConnectError::Context {
                    path: PathBuf::from(format!("nats/context/{name}.json")),
                    name,
                    reason: "no config directory: neither HOME nor XDG_CONFIG_HOME is set"
                        .to_string(),
                }),
                None => Ok(None),
            };
        };
        let Some(name) = named.or_else(|| context::selected_context(config_home)) else {
            return Ok(None);
        };
        context::load_context(config_home, &name)
            .map(Some)
            .map_err(|p| ConnectError::Context {
                name: p.name,
                path: p.path,
                reason: p.reason,
            })
    }

    /// Authentication from the flags alone; an error when two methods are given.
    fn explicit_auth(
        &self,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Auth>, ConnectError> {
        let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        let user = given(&self.user);
        let password = given(&self.password);
        let token = given(&self.token);
        let mut methods = Vec::new();
        if user.is_some() || password.is_some() {
            methods.push("--user/--password");
        }
        if token.is_some() {
            methods.push("--token");
        }
        if self.creds.is_some() {
            methods.push("--creds");
        }
        if self.nkey.is_some() {
            methods.push("--nkey");
        }
        if methods.len() > 1 {
            return Err(ConnectError::InvalidConfig {
                reason: format!(
                    "{} are different ways to authenticate: give only one",
                    methods.join(" and ")
                ),
            });
        }
        Ok(match (user, password, token) {
            (Some(user), Some(password), _) => Some(Auth::UserPassword {
                user,
                password: Secret::new(password),
            }),
            (Some(user), None, _) => Some(match var("NATS_PASSWORD") {
                Some(password) => Auth::UserPassword {
                    user,
                    password: Secret::new(password),
                },
                // As in the nats CLI: a user without a password is a token.
                None => Auth::Token(Secret::new(user)),
            }),
            (None, Some(_), _) => {
                return Err(ConnectError::InvalidConfig {
                    reason: "--password needs --user".to_string(),
                });
            }
            (None, None, Some(token)) => Some(Auth::Token(Secret::new(token))),
            (None, None, None) => self
                .creds
                .clone()
                .map(Auth::CredsFile)
                .or_else(|| self.nkey.clone().map(Auth::NkeySeedFile)),
        })
    }
}

/// Authentication from the environment, in the nats CLI's order: user
/// (a token when there is no password), creds, nkey, token.
fn env_auth(var: &dyn Fn(&str) -> Option<String>) -> Option<Auth> {
    if let Some(user) = var("NATS_USER") {
        return Some(match var("NATS_PASSWORD") {
            Some(password) => Auth::UserPassword {
                user,
                password: Secret::new(password),
            },
            None => Auth::Token(Secret::new(user)),
        });
    }
    if let Some(creds) = var("NATS_CREDS") {
        return Some(Auth::CredsFile(PathBuf::from(creds)));
    }
    if let Some(nkey) = var("NATS_NKEY") {
        return Some(Auth::NkeySeedFile(PathBuf::from(nkey)));
    }
    var("NATS_TOKEN").map(|token| Auth::Token(Secret::new(token)))
}

type CtxPath<'a> =
    dyn Fn(&'static str, fn(&NatsContext) -> &String) -> Result<Option<PathBuf>, ConnectError> + 'a;

/// Authentication from a context, in natscontext's order: user, creds, nkey, token.
fn context_auth(
    ctx: Option<&NatsContext>,
    ctx_path: &CtxPath<'_>,
) -> Result<Option<Auth>, ConnectError> {
    let Some(ctx) = ctx else { return Ok(None) };
    if !ctx.user.is_empty() {
        return Ok(Some(Auth::UserPassword {
            user: ctx.user.clone(),
            password: Secret::new(ctx.password.clone()),
        }));
    }
    if let Some(path) = ctx_path("creds", |c| &c.creds)? {
        return Ok(Some(Auth::CredsFile(path)));
    }
    if let Some(path) = ctx_path("nkey", |c| &c.nkey)? {
        return Ok(Some(Auth::NkeySeedFile(path)));
    }
    Ok((!ctx.token.is_empty()).then(|| Auth::Token(Secret::new(ctx.token.clone()))))
}

fn context_error(loaded: Option<&LoadedContext>, reason: String) -> ConnectError {
    ConnectError::Context {
        name: loaded.map(|c| c.name.clone()).unwrap_or_default(),
        path: loaded.map(|c| c.path.clone()).unwrap_or_default(),
        reason,
    }
}

/// Splits a comma-separated server list, dropping empty entries.
fn split_server_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// User info written in a server URL, as the authentication it stands for:
/// `user:password`, or a lone token.
fn auth_in_url(user_info: UserInfo) -> Auth {
    match user_info.password {
        Some(password) => Auth::UserPassword {
            user: user_info.user,
            password: Secret::new(password),
        },
        None => Auth::Token(Secret::new(user_info.user)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn user_info_in_a_url_becomes_authentication_and_leaves_the_url() {
        let opts = ConnectOptions {
            servers: vec!["nats://al%40ice:p%3Ass@h:4222".into()],
            ..Default::default()
        };

        let resolved = opts.resolve_with(&env(&[])).unwrap();

        assert_eq!(resolved.servers, vec!["nats://h:4222"]);
        assert_eq!(
            resolved.auth,
            Auth::UserPassword {
                user: "al@ice".into(),
                password: Secret::new("p:ss")
            }
        );
    }

    #[test]
    fn nothing_configured_means_the_local_default_server() {
        let resolved = ConnectOptions::default().resolve_with(&env(&[])).unwrap();

        assert_eq!(resolved.servers, vec![DEFAULT_SERVER]);
        assert_eq!(resolved.auth, Auth::None);
        assert_eq!(resolved.timeout, DEFAULT_TIMEOUT);
        assert_eq!(resolved.context, None);
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_context() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "nats/context/dev.json",
            r#"{"url":"nats://ctx:4222","user":"ctxuser","password":"ctxpw",
               "jetstream_domain":"ctxdomain","ca":"/ctx/ca.pem"}"#,
        );
        write(dir.path(), "nats/context.txt", "dev");
        let base = ConnectOptions {
            config_home: Some(dir.path().to_path_buf()),
            ..Default::default()
        };

        let from_context = base.resolve_with(&env(&[])).unwrap();
        assert_eq!(from_context.servers, vec!["nats://ctx:4222"]);
        assert_eq!(from_context.context.as_deref(), Some("dev"));
        assert_eq!(from_context.js_domain.as_deref(), Some("ctxdomain"));
        assert_eq!(from_context.tls_ca, Some(PathBuf::from("/ctx/ca.pem")));
        assert!(
            matches!(from_context.auth, Auth::UserPassword { ref user, .. } if user == "ctxuser")
        );

        let from_env = base
            .resolve_with(&env(&[
                ("NATS_URL", "nats://env1:4222, nats://env2:4222"),
                ("NATS_TOKEN", "envtoken"),
                ("NATS_CA", "/env/ca.pem"),
            ]))
            .unwrap();
        assert_eq!(
            from_env.servers,
            vec!["nats://env1:4222", "nats://env2:4222"]
        );
        assert_eq!(from_env.auth, Auth::Token(Secret::new("envtoken")));
        assert_eq!(from_env.tls_ca, Some(PathBuf::from("/env/ca.pem")));

        let from_flags = ConnectOptions {
            servers: vec!["nats://flag:4222".into()],
            creds: Some("/flag/user.creds".into()),
            js_domain: Some("flagdomain".into()),
            ..base.clone()
        }
        .resolve_with(&env(&[
            ("NATS_URL", "nats://env:4222"),
            ("NATS_TOKEN", "t"),
        ]))
        .unwrap();
        assert_eq!(from_flags.servers, vec!["nats://flag:4222"]);
        assert_eq!(from_flags.auth, Auth::CredsFile("/flag/user.creds".into()));
        assert_eq!(from_flags.js_domain.as_deref(), Some("flagdomain"));
    }

    #[test]
    fn the_context_flag_beats_nats_context_and_context_txt() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "nats/context/a.json", r#"{"url":"nats://a:1"}"#);
        write(dir.path(), "nats/context/b.json", r#"{"url":"nats://b:2"}"#);
        write(dir.path(), "nats/context/c.json", r#"{"url":"nats://c:3"}"#);
        write(dir.path(), "nats/context.txt", "a");
        let opts = ConnectOptions {
            config_home: Some(dir.path().to_path_buf()),
            ..Default::default()
        };

        let selected = opts.resolve_with(&env(&[])).unwrap();
        let by_env = opts.resolve_with(&env(&[("NATS_CONTEXT", "b")])).unwrap();
        let by_flag = ConnectOptions {
            context: Some("c".into()),
            ..opts.clone()
        }
        .resolve_with(&env(&[("NATS_CONTEXT", "b")]))
        .unwrap();

        assert_eq!(selected.servers, vec!["nats://a:1"]);
        assert_eq!(by_env.servers, vec!["nats://b:2"]);
        assert_eq!(by_flag.servers, vec!["nats://c:3"]);
    }

    #[test]
    fn xdg_config_home_locates_the_contexts_when_no_directory_is_injected() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "nats/context/x.json", r#"{"url":"nats://x:1"}"#);
        let xdg = dir.path().to_str().unwrap();

        let resolved = ConnectOptions {
            context: Some("x".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[("XDG_CONFIG_HOME", xdg), ("HOME", "/nonexistent")]))
        .unwrap();

        assert_eq!(resolved.servers, vec!["nats://x:1"]);
    }

    #[test]
    fn an_unknown_context_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = ConnectOptions {
            context: Some("prod".into()),
            config_home: Some(dir.path().to_path_buf()),
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap_err();

        assert!(matches!(err, ConnectError::Context { ref name, .. } if name == "prod"));
        assert!(err.to_string().contains("prod.json"), "{err}");
    }

    #[test]
    fn a_user_without_a_password_is_a_token_as_in_the_nats_cli() {
        let resolved = ConnectOptions::default()
            .resolve_with(&env(&[("NATS_USER", "tok")]))
            .unwrap();
        assert_eq!(resolved.auth, Auth::Token(Secret::new("tok")));

        let resolved = ConnectOptions {
            user: Some("alice".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[("NATS_PASSWORD", "pw")]))
        .unwrap();
        assert_eq!(
            resolved.auth,
            Auth::UserPassword {
                user: "alice".into(),
                password: Secret::new("pw")
            }
        );
    }

    #[test]
    fn two_authentication_flags_at_once_are_refused() {
        let err = ConnectOptions {
            token: Some("t".into()),
            creds: Some("/x.creds".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap_err();

        assert!(matches!(err, ConnectError::InvalidConfig { .. }), "{err}");
        assert!(err.to_string().contains("--token and --creds"), "{err}");
    }

    #[test]
    fn a_client_certificate_without_its_key_is_refused() {
        let err = ConnectOptions {
            tls_cert: Some("/c.pem".into()),
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap_err();

        assert!(matches!(err, ConnectError::InvalidConfig { .. }), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let opts = ConnectOptions {
            servers: vec!["nats://bob:pw-in-url@h:4222".into()],
            user: Some("alice".into()),
            password: Some("hunter2-password".into()),
            token: Some("tok-value".into()),
            ..Default::default()
        };
        let shown = format!("{opts:?}");
        assert!(!shown.contains("hunter2-password"), "{shown}");
        assert!(!shown.contains("tok-value"), "{shown}");
        assert!(!shown.contains("pw-in-url"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");

        let resolved = ConnectOptions {
            servers: vec!["nats://bob:pw-in-url@h:4222".into()],
            ..Default::default()
        }
        .resolve_with(&env(&[]))
        .unwrap();
        let shown = format!("{resolved:?} {}", resolved.auth);
        assert!(!shown.contains("pw-in-url"), "{shown}");
        assert!(shown.contains("bob"), "{shown}");
    }
}
