//! Field paths inside a manifest document (`spec.sources[0].name`), used to
//! point diagnostics at the exact place in the YAML.

use std::borrow::Cow;
use std::fmt;

/// One step of a [`FieldPath`]: a mapping key or a sequence index. A key
/// is mostly one of the schema's own field names, held without a copy.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathSegment {
    Field(Cow<'static, str>),
    Index(usize),
}

/// A path from a document's root to one of its values, in the document's own
/// (camelCase) field names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The document root.
    pub fn root() -> Self {
        Self::default()
    }

    /// `spec`, the usual starting point.
    pub fn spec() -> Self {
        Self(vec![PathSegment::Field(Cow::Borrowed("spec"))])
    }

    /// `spec.<name>` for a field name of the schema (`spec.maxAge`), built
    /// without copying the name: validation builds one for most fields it
    /// checks.
    pub fn spec_field(name: &'static str) -> Self {
        Self(vec![
            PathSegment::Field(Cow::Borrowed("spec")),
            PathSegment::Field(Cow::Borrowed(name)),
        ])
    }

    /// This path extended by a mapping key.
    pub fn field(&self, name: &str) -> Self {
        self.extended(PathSegment::Field(Cow::Owned(name.to_string())))
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        self.extended(PathSegment::Index(index))
    }

    fn extended(&self, segment: PathSegment) -> Self {
        let mut segments = Vec::with_capacity(self.0.len() + 1);
        segments.extend_from_slice(&self.0);
        segments.push(segment);
        Self(segments)
    }

    /// The steps from the root.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// Builds a path from its steps.
    pub fn from_segments(segments: Vec<PathSegment>) -> Self {
        Self(segments)
    }

    /// True for the document root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Field(name) if position == 0 => write!(f, "{name}")?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_displays_as_dotted_fields_with_indices() {
        let path = FieldPath::spec().field("sources").index(0).field("name");
        assert_eq!(path.to_string(), "spec.sources[0].name");
    }

    #[test]
    fn a_schema_field_path_equals_the_one_built_step_by_step() {
        assert_eq!(
            FieldPath::spec_field("maxAge"),
            FieldPath::spec().field("maxAge")
        );
        assert_eq!(FieldPath::spec(), FieldPath::root().field("spec"));
    }
}
