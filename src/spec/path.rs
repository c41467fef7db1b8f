//! Field paths inside a manifest document (`spec.sources[0].name`), used to
//! point diagnostics at the exact place in the YAML.

use std::fmt;

/// One step of a [`FieldPath`]: a mapping key or a sequence index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathSegment {
    Field(String),
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
        Self::root().field("spec")
    }

    /// This path extended by a mapping key.
    pub fn field(&self, name: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Field(name.to_string()));
        Self(segments)
    }

    /// This path extended by a sequence index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Index(index));
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
}
