//! The rules of a `NatsConnection`: server URLs, TLS and authentication.

use super::*;
use crate::spec::connection::{NatsConnectionSpec, SecretSource};
use crate::spec::names::{self, quoted};
use crate::spec::path::FieldPath;
use crate::spec::server_url::{self, ServerUrl};

impl Checker {
    pub(super) fn connection_profile(&mut self, spec: &NatsConnectionSpec) {
        if spec.servers.is_empty() {
            self.error(at("servers"), "servers is empty")
                .help("list at least one server URL, e.g. `nats://nats.messaging:4222`");
        }
        for (index, url) in spec.servers.iter().enumerate() {
            if let Err((message, help)) = check_server_url(url) {
                self.error(at("servers").index(index), message).help(help);
            }
        }
        if let Some(domain) = &spec.js_domain
            && let Err(message) = names::check_js_domain(domain)
        {
            self.error(at("jsDomain"), message)
                .help("give the JetStream domain as configured on the server, e.g. `hub`");
        }
        if let Some(tls) = &spec.tls {
            let path = at("tls");
            for (field, secret) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)] {
                if let Some(secret) = secret {
                    self.secret_source(&path.field(field), secret);
                }
            }
            match (&tls.cert, &tls.key) {
                (Some(_), None) => {
                    self.error(path.field("cert"), "tls.cert is set without tls.key")
                        .help(
                            "mutual TLS needs both the client certificate and its key: set tls.key",
                        );
                }
                (None, Some(_)) => {
                    self.error(path.field("key"), "tls.key is set without tls.cert")
                        .help("mutual TLS needs both the client certificate and its key: set tls.cert");
                }
                _ => {}
            }
        }
        if let Some(auth) = &spec.auth {
            let path = at("auth");
            let mut methods = Vec::new();
            for (field, secret) in [
                ("creds", &auth.creds),
                ("nkey", &auth.nkey),
                ("token", &auth.token),
            ] {
                if let Some(secret) = secret {
                    methods.push(field);
                    self.secret_source(&path.field(field), secret);
                }
            }
            if let Some(user_password) = &auth.user_password {
                methods.push("userPassword");
                let user_path = path.field("userPassword");
                if user_password.user.trim().is_empty() {
                    self.error(user_path.field("user"), "userPassword.user is empty")
                        .help("set the user name");
                }
                self.secret_source(&user_path.field("password"), &user_password.password);
            }
            if methods.len() > 1 {
                self.error(
                    path,
                    format!(
                        "auth sets {}; a connection authenticates one way",
                        methods.join(" and ")
                    ),
                )
                .help("keep one of creds, nkey, userPassword and token");
            }
        }
    }

    pub(super) fn secret_source(&mut self, path: &FieldPath, secret: &SecretSource) {
        match (&secret.secret_ref, &secret.file) {
            (Some(_), Some(_)) => {
                self.error(path.clone(), "both secretRef and file are set")
                    .help("use secretRef in Kubernetes and file with the CLI; keep one");
            }
            (None, None) => {
                self.error(path.clone(), "neither secretRef nor file is set")
                    .help("set secretRef (a key of a Secret) or file (a path, for the CLI)");
            }
            (Some(reference), None) => {
                let reference_path = path.field("secretRef");
                if let Err(message) = names::check_object_name(&reference.name) {
                    self.error(reference_path.field("name"), message)
                        .help("name a Secret in the same namespace");
                }
                if reference.key.is_empty()
                    || !reference
                        .key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    self.error(
                        reference_path.field("key"),
                        format!("{} is not a Secret key", quoted(&reference.key)),
                    )
                    .help(
                        "Secret keys are non-empty and made of letters, digits, `-`, `_` and `.`",
                    );
                }
            }
            (None, Some(file)) => {
                if file.trim().is_empty() {
                    self.error(path.field("file"), "file is empty")
                        .help("give the path of the file, relative to the manifest's directory");
                }
            }
        }
    }
}

/// Checks one server URL as NATS clients read it; errors never echo credentials.
fn check_server_url(url: &str) -> Result<(), (String, String)> {
    const EXAMPLE: &str = "write a URL like `nats://nats.messaging:4222`";
    const BRACKETS: &str = "write IPv6 addresses as `[::1]:4222`";
    let problem = |message: String, help: &str| Err((message, help.to_string()));
    if server_url::has_user_info(url) {
        return problem(
            format!(
                "the server URL `{}` has credentials in it; credentials must not be written in the URL",
                server_url::redact(url)
            ),
            "use spec.auth with a Secret reference",
        );
    }
    if url.is_empty() {
        return problem("the server URL is empty".to_string(), EXAMPLE);
    }
    if url.contains(',') {
        return problem(
            format!("{} lists several servers in one entry", quoted(url)),
            "put each server URL in its own entry of servers",
        );
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return problem(
            format!("{} contains whitespace", quoted(url)),
            "remove the whitespace from the URL",
        );
    }
    let (written_scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    if let Some(scheme) = written_scheme.filter(|scheme| !is_nats_scheme(scheme)) {
        return problem(
            format!(
                "{} uses the scheme `{scheme}`; NATS servers are reached over nats, tls, ws or wss",
                quoted(url)
            ),
            EXAMPLE,
        );
    }
    // Only for the messages: the host and port as written.
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let port = authority
        .rsplit_once(']')
        .map_or(authority, |(_, after)| after)
        .split_once(':')
        .map(|(_, port)| port);
    let parsed = match ServerUrl::parse(url) {
        Ok(parsed) => parsed,
        Err(_) if !authority.starts_with('[') && authority.matches(':').count() > 1 => {
            return problem(
                format!("{} has more than one `:`", quoted(url)),
                "write IPv6 addresses in brackets, as `[::1]:4222`",
            );
        }
        Err(url::ParseError::InvalidIpv6Address) if !authority.contains(']') => {
            return problem(
                format!(
                    "{} has an unclosed `[` around its IPv6 address",
                    quoted(url)
                ),
                BRACKETS,
            );
        }
        Err(url::ParseError::InvalidIpv6Address) => {
            return problem(
                format!("{} has text after its IPv6 address", quoted(url)),
                BRACKETS,
            );
        }
        Err(url::ParseError::EmptyHost) => {
            return problem(format!("{} names no host", quoted(url)), EXAMPLE);
        }
        Err(url::ParseError::InvalidPort) => {
            return problem(bad_port(url, port.unwrap_or_default()), PORT_HELP);
        }
        Err(error) => {
            return problem(
                format!("{} is not a server URL: {error}", quoted(url)),
                EXAMPLE,
            );
        }
    };
    if parsed.port() == Some(0) {
        return problem(bad_port(url, "0"), PORT_HELP);
    }
    Ok(())
}

const PORT_HELP: &str = "write the port as a number, e.g. `:4222`, or leave it out";

fn is_nats_scheme(scheme: &str) -> bool {
    ["nats", "tls", "ws", "wss"]
        .iter()
        .any(|known| known.eq_ignore_ascii_case(scheme))
}

fn bad_port(url: &str, port: &str) -> String {
    format!(
        "{} has the port `{port}`, which is not a number from 1 to 65535",
        quoted(url)
    )
}
