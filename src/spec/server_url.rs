//! NATS server URLs as the NATS clients read them: parsed by the `url`
//! crate, with `nats://` in front when no scheme is written
//! (`host:4222`), as async-nats does. The one place that finds, takes apart
//! and hides a URL's user info (`nats://user:password@host`,
//! `nats://token@host`).

use url::{Position, Url};

/// The scheme clients assume for a URL written without one.
const DEFAULT_SCHEME: &str = "nats://";
/// What stands in for the user info of a URL that is shown.
const REDACTED_USER_INFO: &str = "***";

/// The user info of a server URL, percent-decoded: `user:password`, or a
/// lone user (a token, to NATS).
#[derive(Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user: String,
    pub password: Option<String>,
}

/// A server URL with its user info taken apart.
pub struct ServerUrl {
    url: Url,
    /// Whether the text had a scheme of its own.
    scheme_written: bool,
}

impl ServerUrl {
    /// Parses `text` as clients do; the `url` crate's error otherwise.
    pub fn parse(text: &str) -> Result<Self, url::ParseError> {
        let scheme_written = text.contains("://");
        let url = if scheme_written {
            Url::parse(text)?
        } else {
            Url::parse(&format!("{DEFAULT_SCHEME}{text}"))?
        };
        Ok(Self {
            url,
            scheme_written,
        })
    }

    /// The port, if one is written.
    pub fn port(&self) -> Option<u16> {
        self.url.port()
    }

    /// The user info, if the URL has any.
    pub fn user_info(&self) -> Option<UserInfo> {
        let user = self.url.username();
        let password = self.url.password();
        if user.is_empty() && password.is_none() {
            return None;
        }
        Some(UserInfo {
            user: percent_decode(user),
            password: password.map(percent_decode),
        })
    }

    /// The URL without its user info, written as it was (no scheme added).
    pub fn without_user_info(&self) -> String {
        self.rewrite_user_info("")
    }

    /// The URL with `***` for its user info, safe to show anywhere.
    pub fn redacted(&self) -> String {
        self.rewrite_user_info(REDACTED_USER_INFO)
    }

    fn rewrite_user_info(&self, replacement: &str) -> String {
        let scheme = match self.scheme_written {
            true => &self.url[..Position::BeforeUsername],
            false => "",
        };
        let host_onwards = &self.url[Position::BeforeHost..];
        match replacement {
            "" => format!("{scheme}{host_onwards}"),
            _ => format!("{scheme}{replacement}@{host_onwards}"),
        }
    }
}

/// True when `text` is a URL with user info. A text the `url` crate cannot
/// read counts when it has an `@`: whatever it is, it may hold a secret.
pub fn has_user_info(text: &str) -> bool {
    match ServerUrl::parse(text) {
        Ok(url) => url.user_info().is_some(),
        Err(_) => text.contains('@'),
    }
}

/// `text` with its user info replaced by `***`, safe to show anywhere; a
/// text the `url` crate cannot read loses everything before its last `@`.
pub fn redact(text: &str) -> String {
    match ServerUrl::parse(text) {
        Ok(url) if url.user_info().is_some() => url.redacted(),
        Ok(_) => text.to_string(),
        Err(_) => match text.rfind('@') {
            Some(at) => format!("{REDACTED_USER_INFO}{}", &text[at..]),
            None => text.to_string(),
        },
    }
}

/// [`redact`] over a comma-separated list of URLs.
pub fn redact_list(list: &str) -> String {
    list.split(',').map(redact).collect::<Vec<_>>().join(",")
}

/// `text` without its user info, and the user info, when it has any that
/// the `url` crate can read; otherwise `text` as it is.
pub fn split_user_info(text: &str) -> (String, Option<UserInfo>) {
    match ServerUrl::parse(text) {
        Ok(url) => match url.user_info() {
            Some(user_info) => (url.without_user_info(), Some(user_info)),
            None => (text.to_string(), None),
        },
        Err(_) => (text.to_string(), None),
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_user_and_password_and_keeps_the_rest() {
        assert_eq!(
            redact("nats://alice:s3cret@host:4222"),
            "nats://***@host:4222"
        );
        assert_eq!(redact("tls://tok3n@host"), "tls://***@host");
        assert_eq!(redact("alice:s3cret@host:4222"), "***@host:4222");
        assert_eq!(redact("nats://host:4222/path@x"), "nats://host:4222/path@x");
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
        assert_eq!(
            redact("wss://u:p@nats.example.com/ws"),
            "wss://***@nats.example.com/ws"
        );
        assert_eq!(
            redact_list("nats://a:b@h1:4222,nats://h2:4222"),
            "nats://***@h1:4222,nats://h2:4222"
        );
    }

    #[test]
    fn a_url_the_url_crate_cannot_read_is_redacted_up_to_its_last_at_sign() {
        assert_eq!(redact("nats://user:pw@[bad"), "***@[bad");
        assert!(has_user_info("nats://user:pw@[bad"));
        assert_eq!(redact("nats://[bad"), "nats://[bad");
    }

    #[test]
    fn user_info_is_percent_decoded_and_leaves_the_url() {
        let (url, user_info) = split_user_info("nats://al%40ice:p%3Ass@h:4222");
        assert_eq!(url, "nats://h:4222");
        let user_info = user_info.expect("user info");
        assert_eq!(user_info.user, "al@ice");
        assert_eq!(user_info.password.as_deref(), Some("p:ss"));

        let (url, user_info) = split_user_info("tok3n@h");
        assert_eq!(url, "h");
        let user_info = user_info.expect("user info");
        assert_eq!(
            (user_info.user.as_str(), user_info.password),
            ("tok3n", None)
        );

        assert_eq!(split_user_info("nats://h:4222").0, "nats://h:4222");
        assert!(split_user_info("nats://h:4222/a@b").1.is_none());
    }

    #[test]
    fn user_info_is_found_in_the_authority_only() {
        assert!(has_user_info("nats://admin:s3cr3t@nats:4222"));
        assert!(has_user_info("bob:hunter2@nats"));
        assert!(!has_user_info("nats://nats:4222/path@x"));
        assert!(!has_user_info("nats://nats:4222"));
    }
}
