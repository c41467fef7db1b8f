//! Problems found in what the user gave us, each pointing at its file, line,
//! column and field, rendered with miette for people and as plain data for machines.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

/// How serious a diagnostic is. Only errors make a command fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// The text a diagnostic points into, shared by every diagnostic of that file.
#[derive(Clone, Debug)]
pub struct SourceText {
    pub name: String,
    pub text: Arc<str>,
}

/// One problem (or remark) with where it was found.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub summary: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// The field the problem is about, e.g. `spec.sources[0].name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Byte range of the offending text, for rendering.
    #[serde(skip)]
    pub span: Option<(usize, usize)>,
    #[serde(skip)]
    pub source: Option<SourceText>,
}

impl Diagnostic {
    /// A diagnostic not tied to any place in a file.
    pub fn new(severity: Severity, summary: impl Into<String>) -> Self {
        Self {
            severity,
            summary: summary.into(),
            help: None,
            file: None,
            line: None,
            column: None,
            field: None,
            span: None,
            source: None,
        }
    }

    /// An error not tied to any place in a file.
    pub fn error(summary: impl Into<String>) -> Self {
        Self::new(Severity::Error, summary)
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Names the field the problem is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Points the diagnostic at a line, column and byte range of a source.
    pub fn at(mut self, source: &SourceText, line: u64, column: u64, span: (usize, usize)) -> Self {
        self.file = Some(source.name.clone());
        self.line = Some(line);
        self.column = Some(column);
        self.span = Some(span);
        self.source = Some(source.clone());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column`, as far as known.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_deref()?;
        Some(match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{file}:{line}:{column}"),
            (Some(line), None) => format!("{file}:{line}"),
            _ => file.to_string(),
        })
    }

    /// Renders for a person: miette's report with the offending line and a
    /// label under the value, or a single line when there is no source.
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
        let mut out = String::new();
        if handler.render_report(&mut out, &Report(self)).is_err() {
            out = self.to_string();
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        if let Some(location) = self.location() {
            write!(f, "{location}: ")?;
        }
        write!(f, "{severity}: {}", self.summary)?;
        if let Some(field) = &self.field {
            write!(f, " [{field}]")?;
        }
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// Adapter giving a [`Diagnostic`] to miette's renderer.
struct Report<'a>(&'a Diagnostic);

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let diagnostic = self.0;
        match (&diagnostic.field, &diagnostic.source) {
            (Some(field), _) => write!(f, "{field}: {}", diagnostic.summary),
            (None, Some(_)) | (None, None) => f.write_str(&diagnostic.summary),
        }?;
        if diagnostic.source.is_none()
            && let Some(location) = diagnostic.location()
        {
            write!(f, " (at {location})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.0.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.0
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0
            .source
            .as_ref()
            .map(|_| self as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, length) = self.0.span?;
        self.0.source.as_ref()?;
        let label = self.0.field.clone().unwrap_or_else(|| "here".to_string());
        let span = SourceSpan::new(offset.into(), length.max(1));
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label),
            span,
        ))))
    }
}

impl miette::SourceCode for Report<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let source = self
            .0
            .source
            .as_ref()
            .ok_or(miette::MietteError::OutOfBounds)?;
        let named = NamedSource::new(source.name.clone(), source.text.clone());
        let contents = named.read_span(span, context_lines_before, context_lines_after)?;
        // Re-own the contents: `named` is local, the span contents borrow the shared text.
        let data: &'b [u8] = source.text.as_bytes();
        let start = contents.span().offset();
        let end = start + contents.span().len();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            source.name.clone(),
            &data[start..end],
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// Counts of errors and warnings in a set of diagnostics.
pub fn count_errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics.iter().filter(|d| d.is_error()).count()
}
