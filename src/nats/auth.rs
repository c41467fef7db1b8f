//! How a connection authenticates, and secrets that never print.

use std::fmt;
use std::path::PathBuf;

pub(super) const REDACTED: &str = "[redacted]";

/// A secret string (password, token) whose `Debug` and `Display` print
/// `[redacted]`; [`Secret::expose`] is the only way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value, for handing to the client library only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// How the connection authenticates, after resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// User name and password.
    UserPassword {
        /// The user name (not a secret).
        user: String,
        /// The password.
        password: Secret,
    },
    /// A token.
    Token(Secret),
    /// A `.creds` file (user JWT and nkey seed), named by path.
    CredsFile(PathBuf),
    /// A file holding an nkey seed, named by path.
    NkeySeedFile(PathBuf),
}

impl fmt::Display for Auth {
    /// Describes the method without its secret, e.g. `user and password (user "a")`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("no credentials"),
            Auth::UserPassword { user, .. } => write!(f, "user and password (user {user:?})"),
            Auth::Token(_) => f.write_str("a token"),
            Auth::CredsFile(path) => write!(f, "the credentials file {}", path.display()),
            Auth::NkeySeedFile(path) => write!(f, "the nkey seed file {}", path.display()),
        }
    }
}
