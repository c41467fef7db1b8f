//! Typed values read straight from a located YAML tree, without building a
//! `serde_json::Value` first.
//!
//! This is the fast way for valid documents only. It succeeds exactly where
//! deserializing the tree's JSON form (`Node::to_json`, then `&Value`) would
//! succeed without a diagnostic, and yields the same value: it makes the same
//! visitor calls as serde_json's `&Value` deserializer. Anything else, from
//! a value of the wrong type to a list where a mapping belongs, is [`Unfit`],
//! and the caller reads the document the slow way, which says what is wrong
//! and where.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::node::{Node, NodeValue};

/// The tree does not decode into the type without a problem. Carries no
/// message: the slow way describes the problem.
#[derive(Debug)]
pub struct Unfit;

impl fmt::Display for Unfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the document does not fit its kind's schema")
    }
}

impl std::error::Error for Unfit {}

impl de::Error for Unfit {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        Unfit
    }
}

impl Node {
    /// True when the tree has a JSON form: every key a string, every
    /// integer within `i64` or `u64`, every number finite.
    fn fits_json(&self) -> bool {
        match &self.value {
            NodeValue::Null | NodeValue::Bool(_) | NodeValue::String(_) => true,
            NodeValue::Integer(value) => json_integer(*value).is_some(),
            NodeValue::Float(value) => value.is_finite(),
            NodeValue::Sequence(items) => items.iter().all(Node::fits_json),
            NodeValue::Mapping(entries) => entries
                .iter()
                .all(|(key, value)| key.as_str().is_some() && value.fits_json()),
        }
    }
}

/// An integer as serde_json holds it: `u64` from 0 up, `i64` below.
enum JsonInteger {
    Unsigned(u64),
    Negative(i64),
}

fn json_integer(value: i128) -> Option<JsonInteger> {
    match u64::try_from(value) {
        Ok(unsigned) => Some(JsonInteger::Unsigned(unsigned)),
        Err(_) => i64::try_from(value).ok().map(JsonInteger::Negative),
    }
}

/// Every numeric type reads a number as serde_json's `&Value` gives it.
macro_rules! deserialize_numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
            self.deserialize_number(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for &'de Node {
    type Error = Unfit;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match &self.value {
            NodeValue::Null => visitor.visit_unit(),
            NodeValue::Bool(value) => visitor.visit_bool(*value),
            NodeValue::Integer(value) => match json_integer(*value).ok_or(Unfit)? {
                JsonInteger::Unsigned(value) => visitor.visit_u64(value),
                JsonInteger::Negative(value) => visitor.visit_i64(value),
            },
            NodeValue::Float(value) if value.is_finite() => visitor.visit_f64(*value),
            NodeValue::Float(_) => Err(Unfit),
            NodeValue::String(text) => visitor.visit_borrowed_str(text),
            NodeValue::Sequence(items) => visit_sequence(items, visitor),
            NodeValue::Mapping(entries) => visit_mapping(entries, visitor),
        }
    }

    deserialize_numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match self.value {
            NodeValue::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unfit> {
        match &self.value {
            NodeValue::String(variant) => visitor.visit_enum(UnitVariant(variant)),
            _ => Err(Unfit),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unfit> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match self.value {
            NodeValue::Bool(value) => visitor.visit_bool(value),
            _ => Err(Unfit),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match &self.value {
            NodeValue::String(text) => visitor.visit_borrowed_str(text),
            _ => Err(Unfit),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match &self.value {
            NodeValue::String(text) => visitor.visit_borrowed_str(text),
            NodeValue::Sequence(items) => visit_sequence(items, visitor),
            _ => Err(Unfit),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match self.value {
            NodeValue::Null => visitor.visit_unit(),
            _ => Err(Unfit),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unfit> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match &self.value {
            NodeValue::Sequence(items) => visit_sequence(items, visitor),
            _ => Err(Unfit),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _length: usize,
        visitor: V,
    ) -> Result<V::Value, Unfit> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _length: usize,
        visitor: V,
    ) -> Result<V::Value, Unfit> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        match &self.value {
            NodeValue::Mapping(entries) => visit_mapping(entries, visitor),
            _ => Err(Unfit),
        }
    }

    /// A struct from a mapping only: serde_json would read one from a list
    /// by position, which the slow way reports as a list where a mapping
    /// belongs.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unfit> {
        self.deserialize_map(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        self.deserialize_str(visitor)
    }

    /// Ignored, but checked: the JSON form of the whole document must exist.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unfit> {
        if !self.fits_json() {
            return Err(Unfit);
        }
        visitor.visit_unit()
    }
}

impl<'de> IntoDeserializer<'de, Unfit> for &'de Node {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl Node {
    /// A number as serde_json's `&Value` gives it to a visitor for any
    /// numeric type.
    fn deserialize_number<'de, V: Visitor<'de>>(&'de self, visitor: V) -> Result<V::Value, Unfit> {
        match self.value {
            NodeValue::Integer(_) | NodeValue::Float(_) => self.deserialize_any(visitor),
            _ => Err(Unfit),
        }
    }
}

/// Items of a list; all of them must be taken.
fn visit_sequence<'de, V: Visitor<'de>>(items: &'de [Node], visitor: V) -> Result<V::Value, Unfit> {
    let mut items = Items(items.iter());
    let value = visitor.visit_seq(&mut items)?;
    match items.0.len() {
        0 => Ok(value),
        _ => Err(Unfit),
    }
}

/// Entries of a mapping, whose keys must all be strings; all of them must
/// be taken.
fn visit_mapping<'de, V: Visitor<'de>>(
    entries: &'de [(Node, Node)],
    visitor: V,
) -> Result<V::Value, Unfit> {
    let mut entries = Entries {
        entries: entries.iter(),
        value: None,
    };
    let value = visitor.visit_map(&mut entries)?;
    match entries.entries.len() {
        0 => Ok(value),
        _ => Err(Unfit),
    }
}

struct Items<'de>(std::slice::Iter<'de, Node>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Unfit;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unfit> {
        self.0.next().map(|item| seed.deserialize(item)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'de> {
    entries: std::slice::Iter<'de, (Node, Node)>,
    value: Option<&'de Node>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Unfit;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unfit> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let key = key.as_str().ok_or(Unfit)?;
        self.value = Some(value);
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Unfit> {
        seed.deserialize(self.value.take().ok_or(Unfit)?)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum written as its variant's name.
struct UnitVariant<'de>(&'de str);

impl<'de> EnumAccess<'de> for UnitVariant<'de> {
    type Error = Unfit;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Unfit> {
        let name: StrDeserializer<'_, Unfit> = self.0.into_deserializer();
        seed.deserialize(name).map(|variant| (variant, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'de> {
    type Error = Unfit;

    fn unit_variant(self) -> Result<(), Unfit> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Unfit> {
        Err(Unfit)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _length: usize,
        _visitor: V,
    ) -> Result<V::Value, Unfit> {
        Err(Unfit)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Unfit> {
        Err(Unfit)
    }
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::spec::path::FieldPath;
    use crate::spec::{ConsumerSpec, StreamSpec};

    /// The value read from the tree, and the one read from its JSON form
    /// (None where either fails).
    fn both<T: DeserializeOwned>(yaml: &str) -> (Option<T>, Option<T>) {
        let root = super::super::node::parse_documents(yaml).unwrap().remove(0);
        let direct = T::deserialize(&root).ok();
        let through_json = root
            .to_json(&FieldPath::root())
            .ok()
            .and_then(|json| T::deserialize(&json).ok());
        (direct, through_json)
    }

    #[test]
    fn a_valid_spec_reads_the_same_from_the_tree_as_from_json() {
        let (direct, through_json) = both::<StreamSpec>(
            "subjects: [a.>, b.*]\nmaxAge: 24h\nmaxBytes: 1GiB\nmaxMsgs: 5\nstorage: memory\nplacement:\n  cluster: east\n  tags: [ssd]\nmetadata:\n  team: a\n",
        );
        assert!(direct.is_some());
        assert_eq!(direct, through_json);
        let (direct, through_json) = both::<ConsumerSpec>(
            "streamName: S\nackPolicy: explicit\nbackoff: [1s, 5s]\nmaxDeliver: 3\n",
        );
        assert!(direct.is_some());
        assert_eq!(direct, through_json);
    }

    #[test]
    fn every_example_and_fixture_document_reads_the_same_from_the_tree_as_from_json() {
        use super::super::decode::{decode_reported, decode_valid};
        use super::super::{Origin, read_sources};
        use crate::spec::Kind;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let (sources, _) = read_sources(&[root.join("examples"), root.join("tests/fixtures")]);
        let mut decoded = 0;
        for source in &sources {
            let Ok(documents) = super::super::node::parse_documents(&source.text) else {
                continue;
            };
            for (index, document) in documents.into_iter().enumerate() {
                let Some(kind) = document.get("kind").and_then(Node::as_str) else {
                    continue;
                };
                let Some(kind) = Kind::from_name(kind) else {
                    continue;
                };
                let direct = decode_valid(&document, kind);
                let origin = Origin::new(source.clone(), index, document);
                let reported = decode_reported(&origin, kind).ok();
                assert_eq!(direct, reported, "{} #{index}", source.name);
                decoded += usize::from(direct.is_some());
            }
        }
        assert!(decoded > 50, "only {decoded} documents decoded");
    }

    #[test]
    fn an_ignored_value_with_a_key_that_is_not_a_string_is_unfit_as_json_reports_it() {
        use super::super::decode::decode_valid;
        use crate::spec::Kind;
        let document = |status: &str| {
            let text = format!(
                "apiVersion: jetsync.dev/v1alpha1\nkind: Stream\nmetadata:\n  name: s\nspec:\n  subjects: [a]\nstatus: {status}\n"
            );
            super::super::node::parse_documents(&text)
                .unwrap()
                .remove(0)
        };
        assert!(decode_valid(&document("{ready: true}"), Kind::Stream).is_some());
        for status in ["{1: b}", "{a: [{true: c}]}"] {
            let root = document(status);
            assert!(root.to_json(&FieldPath::root()).is_err(), "{status}");
            assert!(decode_valid(&root, Kind::Stream).is_none(), "{status}");
        }
    }

    #[test]
    fn a_list_where_a_mapping_belongs_is_unfit_though_json_reads_it_by_position() {
        let (direct, _) = both::<StreamSpec>("subjects: [a]\nplacement: [east]\n");
        assert!(direct.is_none());
    }

    #[test]
    fn wrong_types_unknown_fields_and_numbers_without_json_form_are_unfit() {
        for yaml in [
            "subjects: [a]\nreplicas: three\n",
            "subjects: [a]\nmaxAge: 5\n",
            "subjects: [a]\nbogus: 1\n",
            "subjects: [a]\nstorage: tape\n",
            "subjects: [a]\nreplicas: 99999999999999999999\n",
            "subjects: [a]\nmaxBytes: -3\n",
        ] {
            let (direct, through_json) = both::<StreamSpec>(yaml);
            assert!(direct.is_none(), "{yaml}");
            assert!(through_json.is_none(), "{yaml}");
        }
    }
}
