//! What nats-server and Kubernetes accept as names, subjects and subject
//! mappings, checked offline. Every check returns a user-facing sentence that
//! names the offending value and what is wrong with it.

/// Longest stream or consumer name nats-server accepts, in bytes (`JSMaxNameLen`).
pub const MAX_NAME_BYTES: usize = 255;

/// Longest Kubernetes object name (a DNS-1123 subdomain), in bytes.
pub const MAX_OBJECT_NAME_BYTES: usize = 253;

/// Longest priority group name nats-server accepts, in characters.
pub const MAX_PRIORITY_GROUP_CHARS: usize = 16;

/// Metadata key prefixes the user must not set, with who manages them.
pub const RESERVED_METADATA_PREFIXES: [(&str, &str); 2] =
    [("_nats.", "the NATS server"), ("jetsync.dev/", "jetsync")];

/// How a subject is used, which decides whether wildcards are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectUse {
    /// Matches subjects (stream subjects, filters): `*` and `>` are allowed.
    Filter,
    /// Messages are published to it (`deliverSubject`, prefixes): no wildcards.
    Publish,
}

/// Checks a JetStream stream name: non-empty, at most 255 bytes, printable, and
/// free of whitespace, `.`, `*`, `>`, `\` and `/` (nats-server's asset name rule).
pub fn check_stream_name(name: &str) -> Result<(), String> {
    check_asset_name(name, "stream")
}

/// Checks a durable consumer name; the rules are the same as for streams.
pub fn check_consumer_name(name: &str) -> Result<(), String> {
    check_asset_name(name, "consumer")
}

fn check_asset_name(name: &str, what: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("the {what} name is empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "{} is {} bytes long; {what} names are at most {MAX_NAME_BYTES} bytes",
            quoted(name),
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>' | '\\' | '/'))
    {
        return Err(format!(
            "{} contains {}, which {what} names cannot contain",
            quoted(name),
            describe_char(bad)
        ));
    }
    Ok(())
}

/// Checks a KV or object store bucket name: `^[a-zA-Z0-9_-]+$`.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the bucket name is empty".to_string());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
    {
        return Err(format!(
            "{} contains {}; bucket names may only contain letters, digits, `_` and `-`",
            quoted(name),
            describe_char(bad)
        ));
    }
    Ok(())
}

/// Checks a Kubernetes object name (`metadata.name`, Secret names): a DNS-1123
/// subdomain of lowercase letters, digits, `-` and `.`, each dot-separated part
/// starting and ending with a letter or digit, at most 253 bytes.
pub fn check_object_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".to_string());
    }
    if name.len() > MAX_OBJECT_NAME_BYTES {
        return Err(format!(
            "{} is {} bytes long; Kubernetes names are at most {MAX_OBJECT_NAME_BYTES} bytes",
            quoted(name),
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')))
    {
        let reason = if bad.is_ascii_uppercase() {
            format!("the uppercase letter `{bad}`")
        } else {
            describe_char(bad)
        };
        return Err(format!(
            "{} contains {reason}; Kubernetes names may only contain lowercase letters, digits, `-` and `.`",
            quoted(name)
        ));
    }
    for part in name.split('.') {
        let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if part.is_empty() {
            return Err(format!(
                "{} has an empty part between dots; Kubernetes names must start and end with a letter or digit, also around each `.`",
                quoted(name)
            ));
        }
        if !alphanumeric(part.chars().next()) || !alphanumeric(part.chars().last()) {
            return Err(format!(
                "{} has the part `{part}`, which does not start and end with a letter or digit; Kubernetes names must, also around each `.`",
                quoted(name)
            ));
        }
    }
    Ok(())
}

/// Checks a subject: `.`-separated non-empty tokens, no whitespace or control
/// characters, `*` and `>` only as whole tokens and `>` only last. For
/// [`SubjectUse::Publish`] wildcards are refused altogether.
pub fn check_subject(subject: &str, usage: SubjectUse) -> Result<(), String> {
    if subject.is_empty() {
        return Err("the subject is empty".to_string());
    }
    if let Some(bad) = subject
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{} contains {}; subjects cannot contain whitespace or control characters",
            quoted(subject),
            describe_char(bad)
        ));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (position, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(format!("{} has an empty token", quoted(subject)));
        }
        if token.len() > 1 && token.contains(['*', '>']) {
            return Err(format!(
                "{} has the token `{token}` with a wildcard inside it; `*` and `>` only work as whole tokens, as in `orders.*`",
                quoted(subject)
            ));
        }
        let is_wildcard = *token == "*" || *token == ">";
        if is_wildcard && usage == SubjectUse::Publish {
            return Err(format!(
                "{} contains the wildcard `{token}`; messages are published to this subject, so it must name one subject exactly",
                quoted(subject)
            ));
        }
        if *token == ">" && position + 1 != tokens.len() {
            return Err(format!(
                "{} has `>` before its last token; `>` may only end a subject",
                quoted(subject)
            ));
        }
    }
    Ok(())
}

/// Checks a subject mapping as nats-server builds it for stream subject
/// transforms, source transforms and republish: `source` (`>` when omitted)
/// must be a valid filter, and `destination` valid tokens or mapping functions
/// (`{{wildcard(1)}}`, `$1`, …) that refer only to wildcards the source has,
/// with `>` in both or in neither. An empty destination means "no mapping".
pub fn check_subject_mapping(source: Option<&str>, destination: &str) -> Result<(), String> {
    let source = source.unwrap_or(">");
    check_subject(source, SubjectUse::Filter)?;
    if destination.is_empty() {
        return Ok(());
    }
    let source_tokens: Vec<&str> = source.split('.').collect();
    let source_wildcards = source_tokens.iter().filter(|token| **token == "*").count();
    let source_has_tail = source_tokens.last() == Some(&">");

    let tokens: Vec<&str> = destination.split('.').collect();
    let mut destination_has_tail = false;
    for (position, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(format!("{} has an empty token", quoted(destination)));
        }
        if let Some(function) = MappingFunction::parse(token) {
            let function = function.map_err(|reason| {
                format!(
                    "{} has the mapping `{token}`, which {reason}",
                    quoted(destination)
                )
            })?;
            function.check_against(token, source, source_wildcards, source_has_tail)?;
            continue;
        }
        if let Some(bad) = token.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{} contains {}; subjects cannot contain whitespace or control characters",
                quoted(destination),
                describe_char(bad)
            ));
        }
        match *token {
            "*" => {
                return Err(format!(
                    "{} contains `*`; a mapping destination refers to the source's wildcards with `{{{{wildcard(1)}}}}` instead",
                    quoted(destination)
                ));
            }
            ">" if position + 1 != tokens.len() => {
                return Err(format!(
                    "{} has `>` before its last token; `>` may only end a subject",
                    quoted(destination)
                ));
            }
            ">" => destination_has_tail = true,
            _ if token.len() > 1 && token.contains(['*', '>']) => {
                return Err(format!(
                    "{} has the token `{token}` with a wildcard inside it; `*` and `>` only work as whole tokens",
                    quoted(destination)
                ));
            }
            _ => {}
        }
    }
    match (source_has_tail, destination_has_tail) {
        (true, false) => Err(format!(
            "the mapping from {} to {} drops the source's `>`; a destination must end in `>` exactly when its source does",
            quoted(source),
            quoted(destination)
        )),
        (false, true) => Err(format!(
            "the mapping from {} to {} ends in `>` but its source does not; a destination must end in `>` exactly when its source does",
            quoted(source),
            quoted(destination)
        )),
        _ => Ok(()),
    }
}

/// A `{{function(args)}}` or legacy `$N` token of a mapping destination.
struct MappingFunction {
    name: &'static str,
    /// 1-based indexes of the source's `*` wildcards the function reads.
    wildcard_indexes: Vec<i64>,
    /// Whether the function may be used when the source has no wildcards.
    works_without_wildcards: bool,
}

/// The mapping functions nats-server knows, by their words (each word's first
/// letter may be either case, as in nats-server's patterns).
const MAPPING_FUNCTIONS: [(&str, &[&str]); 10] = [
    ("partition", &["partition"]),
    ("wildcard", &["wildcard"]),
    ("splitFromLeft", &["split", "from", "left"]),
    ("splitFromRight", &["split", "from", "right"]),
    ("sliceFromLeft", &["slice", "from", "left"]),
    ("sliceFromRight", &["slice", "from", "right"]),
    ("split", &["split"]),
    ("left", &["left"]),
    ("right", &["right"]),
    ("random", &["random"]),
];

impl MappingFunction {
    /// `None` for a plain token; otherwise the function or why it is malformed.
    fn parse(token: &str) -> Option<Result<Self, String>> {
        if let Some(index) = token.strip_prefix('$') {
            // `$1` is the legacy form of `{{wildcard(1)}}`; other `$` tokens are literal.
            return index.parse::<i64>().ok().map(|index| {
                Ok(Self {
                    name: "wildcard",
                    wildcard_indexes: vec![index],
                    works_without_wildcards: false,
                })
            });
        }
        let inner = token.strip_prefix("{{")?.strip_suffix("}}")?;
        if token.len() <= 4 {
            return None;
        }
        Some(Self::parse_call(inner.trim()))
    }

    fn parse_call(call: &str) -> Result<Self, String> {
        let Some((name, rest)) = call.split_once('(') else {
            return Err("is not a function call like `wildcard(1)`".to_string());
        };
        let Some(arguments) = rest.trim_end().strip_suffix(')') else {
            return Err("is not a function call like `wildcard(1)`".to_string());
        };
        let name = MAPPING_FUNCTIONS
            .iter()
            .find(|(_, words)| matches_words(name.trim_end(), words))
            .map(|(name, _)| *name)
            .ok_or_else(|| {
                "uses an unknown function; nats-server knows wildcard, partition, split, splitFromLeft, splitFromRight, sliceFromLeft, sliceFromRight, left, right and random".to_string()
            })?;
        // Like nats-server, split at commas and drop the whitespace that follows them.
        let arguments: Vec<&str> = arguments.split(',').map(str::trim_start).collect();
        let integer = |text: &str| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| format!("has the argument `{text}` where a number belongs"))
        };
        let count = |expected: usize| {
            if arguments.len() == expected {
                Ok(())
            } else {
                Err(format!(
                    "has {} argument(s) but `{name}` takes {expected}",
                    arguments.len()
                ))
            }
        };
        let function = |wildcard_indexes, works_without_wildcards| Self {
            name,
            wildcard_indexes,
            works_without_wildcards,
        };
        match name {
            "wildcard" => {
                count(1)?;
                Ok(function(vec![integer(arguments[0])?], false))
            }
            "random" => {
                count(1)?;
                integer(arguments[0])?;
                Ok(function(Vec::new(), true))
            }
            "partition" => {
                integer(arguments[0])?;
                let indexes = arguments[1..]
                    .iter()
                    .map(|argument| integer(argument))
                    .collect::<Result<_, _>>()?;
                Ok(function(indexes, true))
            }
            "split" => {
                count(2)?;
                let index = integer(arguments[0])?;
                if arguments[1].is_empty() || arguments[1].contains([' ', '.']) {
                    return Err(format!(
                        "has the delimiter `{}`; a split delimiter must be non-empty without spaces or `.`",
                        arguments[1]
                    ));
                }
                Ok(function(vec![index], false))
            }
            _ => {
                count(2)?;
                let index = integer(arguments[0])?;
                integer(arguments[1])?;
                Ok(function(vec![index], false))
            }
        }
    }

    /// The function may only read wildcards the source has.
    fn check_against(
        &self,
        token: &str,
        source: &str,
        source_wildcards: usize,
        source_has_tail: bool,
    ) -> Result<(), String> {
        if source_wildcards == 0 && !source_has_tail {
            if self.works_without_wildcards {
                return Ok(());
            }
            return Err(format!(
                "the mapping `{token}` reads a wildcard, but its source {} has none; `{}` needs a source with `*`",
                quoted(source),
                self.name
            ));
        }
        for index in &self.wildcard_indexes {
            if *index < 1 || *index > source_wildcards as i64 {
                return Err(format!(
                    "the mapping `{token}` reads wildcard {index}, but its source {} has {source_wildcards} `*` wildcard(s), numbered from 1",
                    quoted(source)
                ));
            }
        }
        Ok(())
    }
}

/// True when `text` is `words` run together, each word's first letter in
/// either case and the rest lowercase.
fn matches_words(text: &str, words: &[&str]) -> bool {
    let mut rest = text;
    for word in words {
        if rest.len() < word.len() || !rest.is_char_boundary(word.len()) {
            return false;
        }
        let (head, tail) = rest.split_at(word.len());
        let (first, others) = head.split_at(1);
        if !first.eq_ignore_ascii_case(&word[..1]) || others != &word[1..] {
            return false;
        }
        rest = tail;
    }
    rest.is_empty()
}

/// True when some literal subject matches both `first` and `second`
/// (nats-server's `SubjectsCollide`). Both must be valid filter subjects.
pub fn subjects_collide(first: &str, second: &str) -> bool {
    let mut first_tokens = first.split('.');
    let mut second_tokens = second.split('.');
    loop {
        match (first_tokens.next(), second_tokens.next()) {
            (None, None) => return true,
            (Some(">"), Some(_)) | (Some(_), Some(">")) => return true,
            (Some(a), Some(b)) if a == "*" || b == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// True when every subject `subject` matches is also matched by `of`
/// (nats-server's `subjectIsSubsetMatch`). Both must be valid filter subjects.
pub fn subject_is_subset(subject: &str, of: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    let mut of_tokens = of.split('.');
    loop {
        match (subject_tokens.next(), of_tokens.next()) {
            (None, None) => return true,
            (Some(_), Some(">")) => return true,
            (Some(">"), Some(_)) => return false,
            (Some("*"), Some(b)) if b != "*" => return false,
            (Some(a), Some(b)) if b == "*" || a == b => {}
            _ => return false,
        }
    }
}

/// Checks a priority group name of a pull consumer: `^[a-zA-Z0-9/_=-]{1,16}$`.
pub fn check_priority_group(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the priority group name is empty".to_string());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '=' | '-')))
    {
        return Err(format!(
            "{} contains {}; priority group names may only contain letters, digits, `/`, `_`, `=` and `-`",
            quoted(name),
            describe_char(bad)
        ));
    }
    if name.chars().count() > MAX_PRIORITY_GROUP_CHARS {
        return Err(format!(
            "{} is {} characters long; priority group names are at most {MAX_PRIORITY_GROUP_CHARS}",
            quoted(name),
            name.chars().count()
        ));
    }
    Ok(())
}

/// Checks that a metadata key is not one the server (`_nats.`) or jetsync
/// (`jetsync.dev/`) writes itself.
pub fn check_metadata_key(key: &str) -> Result<(), String> {
    for (prefix, owner) in RESERVED_METADATA_PREFIXES {
        if key.starts_with(prefix) {
            return Err(format!(
                "the metadata key {} uses the prefix `{prefix}`, which is reserved for {owner}",
                quoted(key)
            ));
        }
    }
    Ok(())
}

/// Checks a JetStream domain: it becomes one token of `$JS.<domain>.API`, so it
/// must be non-empty and free of whitespace, `.`, `*` and `>`.
pub fn check_js_domain(domain: &str) -> Result<(), String> {
    if domain.is_empty() {
        return Err("the JetStream domain is empty".to_string());
    }
    if let Some(bad) = domain
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>'))
    {
        return Err(format!(
            "{} contains {}; a JetStream domain is one subject token, without whitespace, `.`, `*` or `>`",
            quoted(domain),
            describe_char(bad)
        ));
    }
    Ok(())
}

/// A value for a message: in backticks, control characters escaped, long
/// values shortened.
pub(crate) fn quoted(text: &str) -> String {
    const MAX_SHOWN_CHARS: usize = 60;
    let mut shown = String::with_capacity(text.len() + 2);
    shown.push('`');
    for (position, character) in text.chars().enumerate() {
        if position == MAX_SHOWN_CHARS {
            shown.push('…');
            break;
        }
        if character.is_control() {
            shown.extend(character.escape_debug());
        } else {
            shown.push(character);
        }
    }
    shown.push('`');
    shown
}

/// A character as a message names it: `.`, "a space", "the control character U+0007".
fn describe_char(character: char) -> String {
    match character {
        ' ' => "a space".to_string(),
        '\t' => "a tab".to_string(),
        '\r' => "a carriage return".to_string(),
        '\n' => "a line feed".to_string(),
        c if c.is_whitespace() => format!("the whitespace character U+{:04X}", c as u32),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<(), String>) -> String {
        result.expect_err("expected the value to be refused")
    }

    #[test]
    fn stream_names_follow_the_jetstream_asset_rule() {
        assert_eq!(check_stream_name("ORDERS"), Ok(()));
        assert_eq!(check_stream_name("orders"), Ok(()));
        assert_eq!(check_stream_name(&"a".repeat(255)), Ok(()));
        for bad in [
            "", "a.b", "a*", "a>", "a\\b", "a/b", "a b", "a\tb", "a\rb", "a\nb",
        ] {
            refused(check_stream_name(bad));
        }
        refused(check_stream_name(&"a".repeat(256)));
        refused(check_stream_name("a\u{7}b"));
    }

    #[test]
    fn stream_name_errors_name_the_offending_character() {
        assert_eq!(
            refused(check_stream_name("orders.v1")),
            "`orders.v1` contains `.`, which stream names cannot contain"
        );
        assert_eq!(
            refused(check_stream_name("my orders")),
            "`my orders` contains a space, which stream names cannot contain"
        );
        assert!(refused(check_stream_name("a\u{7}")).contains("`a\\u{7}`"));
    }

    #[test]
    fn consumer_names_follow_the_same_rule_as_streams() {
        assert_eq!(check_consumer_name("worker-1"), Ok(()));
        assert!(refused(check_consumer_name("worker/1")).contains("consumer names"));
        refused(check_consumer_name(""));
    }

    #[test]
    fn bucket_names_are_letters_digits_underscores_and_dashes() {
        assert_eq!(check_bucket_name("config_v2-EU"), Ok(()));
        for bad in ["", "my.bucket", "my bucket", "bücket", "a/b"] {
            refused(check_bucket_name(bad));
        }
    }

    #[test]
    fn object_names_are_dns_1123_subdomains() {
        assert_eq!(check_object_name("orders"), Ok(()));
        assert_eq!(check_object_name("orders.v1-eu"), Ok(()));
        assert_eq!(check_object_name("0rders"), Ok(()));
        for bad in [
            "",
            "Orders",
            "-orders",
            "orders-",
            "orders..v1",
            "orders.-v1",
            "a_b",
        ] {
            refused(check_object_name(bad));
        }
        refused(check_object_name(&"a".repeat(254)));
        assert!(refused(check_object_name("Orders")).contains("uppercase letter `O`"));
    }

    #[test]
    fn filter_subjects_allow_whole_token_wildcards() {
        for good in [
            "orders",
            "orders.*",
            "orders.>",
            ">",
            "*.new.>",
            "$KV.config.>",
        ] {
            assert_eq!(check_subject(good, SubjectUse::Filter), Ok(()), "{good}");
        }
    }

    #[test]
    fn malformed_subjects_are_refused_with_the_reason() {
        assert_eq!(
            refused(check_subject("orders..new", SubjectUse::Filter)),
            "`orders..new` has an empty token"
        );
        refused(check_subject("", SubjectUse::Filter));
        refused(check_subject(".orders", SubjectUse::Filter));
        refused(check_subject("orders.", SubjectUse::Filter));
        refused(check_subject("orders new", SubjectUse::Filter));
        assert!(refused(check_subject("orders.new*", SubjectUse::Filter)).contains("`new*`"));
        assert!(
            refused(check_subject("orders.>.new", SubjectUse::Filter)).contains("may only end")
        );
    }

    #[test]
    fn publish_subjects_refuse_wildcards() {
        assert_eq!(check_subject("deliver.orders", SubjectUse::Publish), Ok(()));
        refused(check_subject("deliver.*", SubjectUse::Publish));
        refused(check_subject("deliver.>", SubjectUse::Publish));
    }

    #[test]
    fn subject_mappings_follow_nats_server_transform_rules() {
        assert_eq!(check_subject_mapping(None, "archive.>"), Ok(()));
        assert_eq!(
            check_subject_mapping(Some("orders.*"), "copy.{{wildcard(1)}}"),
            Ok(())
        );
        assert_eq!(
            check_subject_mapping(Some("orders.*.*"), "copy.$2.$1"),
            Ok(())
        );
        assert_eq!(
            check_subject_mapping(Some("orders.*"), "copy.{{ Partition(3, 1) }}"),
            Ok(())
        );
        assert_eq!(
            check_subject_mapping(Some("orders"), "copy.{{random(10)}}"),
            Ok(())
        );
        assert_eq!(check_subject_mapping(Some("orders"), ""), Ok(()));
        assert_eq!(
            check_subject_mapping(Some("orders.*"), "copy.{{SplitFromLeft(1,2)}}"),
            Ok(())
        );
    }

    #[test]
    fn malformed_subject_mappings_are_refused() {
        refused(check_subject_mapping(None, "archive.orders"));
        refused(check_subject_mapping(Some("orders"), "archive.>"));
        refused(check_subject_mapping(Some("orders.*"), "copy.*"));
        refused(check_subject_mapping(
            Some("orders.*"),
            "copy.{{wildcard(2)}}",
        ));
        refused(check_subject_mapping(
            Some("orders.*"),
            "copy.{{wildcard(0)}}",
        ));
        refused(check_subject_mapping(
            Some("orders"),
            "copy.{{wildcard(1)}}",
        ));
        refused(check_subject_mapping(Some("orders.*"), "copy.{{nope(1)}}"));
        refused(check_subject_mapping(
            Some("orders.*"),
            "copy.{{SPLITFROMLEFT(1,2)}}",
        ));
        refused(check_subject_mapping(
            Some("orders.*"),
            "copy.{{split(1,a b)}}",
        ));
        refused(check_subject_mapping(Some("orders..x"), "copy"));
        refused(check_subject_mapping(Some("orders"), "copy..x"));
    }

    #[test]
    fn subjects_collide_when_one_literal_subject_matches_both() {
        assert!(subjects_collide("orders.>", "orders.new"));
        assert!(subjects_collide("orders.*", "*.new"));
        assert!(subjects_collide(">", "anything.at.all"));
        assert!(!subjects_collide("orders.>", "orders"));
        assert!(!subjects_collide("orders.*", "orders.new.eu"));
        assert!(!subjects_collide("orders.new", "orders.old"));
    }

    #[test]
    fn subset_matches_only_when_every_match_is_covered() {
        assert!(subject_is_subset("orders.new", "orders.*"));
        assert!(subject_is_subset("orders.*", "orders.>"));
        assert!(subject_is_subset("$JS.EVENT.x.>", "$JS.EVENT.>"));
        assert!(!subject_is_subset("orders.>", "orders.*"));
        assert!(!subject_is_subset("orders.*", "orders.new"));
        assert!(!subject_is_subset("$JS.EVENT", "$JS.EVENT.>"));
    }

    #[test]
    fn priority_groups_are_short_and_plain() {
        assert_eq!(check_priority_group("jobs/high_=-1"), Ok(()));
        assert_eq!(check_priority_group(&"g".repeat(16)), Ok(()));
        refused(check_priority_group(""));
        refused(check_priority_group(&"g".repeat(17)));
        refused(check_priority_group("jobs.high"));
    }

    #[test]
    fn reserved_metadata_prefixes_are_refused() {
        assert_eq!(check_metadata_key("team"), Ok(()));
        assert_eq!(check_metadata_key("example.com/owner"), Ok(()));
        assert!(refused(check_metadata_key("_nats.req.level")).contains("NATS server"));
        assert!(refused(check_metadata_key("jetsync.dev/owner")).contains("jetsync"));
    }

    #[test]
    fn js_domains_are_single_tokens() {
        assert_eq!(check_js_domain("hub"), Ok(()));
        for bad in ["", "hub.eu", "hub eu", "*", ">"] {
            refused(check_js_domain(bad));
        }
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let message = refused(check_stream_name(&"a".repeat(300)));
        assert!(message.contains('…'));
        assert!(message.len() < 200);
    }
}
