//! What `#[derive(kube::CustomResource)]` would generate for a kind, written
//! beside the spec instead of on it so that `spec` stays free of Kubernetes:
//! the root object (`metadata`, `spec`, `status`), its `kube::Resource`
//! impl, and its CRD built from the root object's schema.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceStatus,
    CustomResourceSubresources, CustomResourceValidation,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::Resource;
use schemars::JsonSchema;

/// One `kubectl get` column of a kind.
pub(crate) struct Column {
    pub name: &'static str,
    /// The OpenAPI type of the value: `string`, `integer`, `boolean`, `date`.
    pub type_: &'static str,
    pub json_path: &'static str,
    /// None shows by default; 1 only with `-o wide`.
    pub priority: Option<i32>,
}

impl Column {
    /// A column shown by default.
    pub const fn new(name: &'static str, type_: &'static str, json_path: &'static str) -> Self {
        Self {
            name,
            type_,
            json_path,
            priority: None,
        }
    }
}

/// The `Ready` condition's status and reason, shown for every kind.
pub(crate) const READY: Column = Column::new(
    "Ready",
    "string",
    r#".status.conditions[?(@.type=="Ready")].status"#,
);
pub(crate) const REASON: Column = Column::new(
    "Reason",
    "string",
    r#".status.conditions[?(@.type=="Ready")].reason"#,
);
pub(crate) const SUSPENDED: Column = Column {
    priority: Some(1),
    ..Column::new("Suspended", "boolean", ".spec.suspend")
};
pub(crate) const AGE: Column = Column::new("Age", "date", ".metadata.creationTimestamp");

/// The CRD of `K`, as the `CustomResource` derive builds it: the schema of
/// the root object in OpenAPI v3 structural form, the status subresource,
/// the kind's short name and its `kubectl get` columns.
pub(crate) fn crd<K>(short_name: &str, columns: &[Column]) -> CustomResourceDefinition
where
    K: Resource<DynamicType = ()> + JsonSchema,
{
    // Kubernetes allows neither `definitions` nor `$schema` in a CRD.
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .with_transform(kube::core::schema::OptionalEnum)
        .with_transform(kube::core::schema::OptionalIntOrString)
        .into_generator();
    let schema = serde_json::to_value(generator.into_root_schema_for::<K>())
        .and_then(serde_json::from_value)
        .expect("valid JSONSchemaProps from schemars schema");
    let kind = K::kind(&());
    let plural = K::plural(&());
    let columns = columns
        .iter()
        .map(|column| CustomResourceColumnDefinition {
            description: None,
            format: None,
            json_path: column.json_path.into(),
            name: column.name.into(),
            priority: column.priority,
            type_: column.type_.into(),
        })
        .collect();
    CustomResourceDefinition {
        metadata: ObjectMeta {
            name: Some(format!("{plural}.{}", K::group(&()))),
            ..ObjectMeta::default()
        },
        spec: CustomResourceDefinitionSpec {
            group: K::group(&()).into(),
            names: CustomResourceDefinitionNames {
                categories: Some(vec!["jetsync".into()]),
                kind: kind.to_string(),
                plural: plural.into(),
                short_names: Some(vec![short_name.into()]),
                singular: Some(kind.to_ascii_lowercase()),
                ..CustomResourceDefinitionNames::default()
            },
            scope: "Namespaced".into(),
            versions: vec![CustomResourceDefinitionVersion {
                additional_printer_columns: Some(columns),
                deprecated: None,
                deprecation_warning: None,
                name: K::version(&()).into(),
                schema: Some(CustomResourceValidation {
                    open_api_v3_schema: Some(schema),
                }),
                selectable_fields: None,
                served: true,
                storage: true,
                subresources: Some(CustomResourceSubresources {
                    scale: None,
                    status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
                }),
            }],
            ..CustomResourceDefinitionSpec::default()
        },
        ..CustomResourceDefinition::default()
    }
}

/// Declares the custom resource `$root` carrying `$spec` and an
/// [`AssetStatus`](super::AssetStatus): the root struct with
/// `apiVersion`/`kind` on the wire, `new`, and the `Resource`, `HasSpec`,
/// `HasStatus` and `CustomResourceExt` impls.
macro_rules! custom_resource {
    (
        $(#[doc = $doc:literal])*
        $root:ident($spec:ty) {
            kind: $kind:literal,
            plural: $plural:literal,
            short_name: $short_name:literal,
            columns: [$($column:expr),* $(,)?] $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(serde::Deserialize, Clone, Debug, schemars::JsonSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $root {
            #[schemars(skip)]
            pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            pub spec: $spec,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub status: Option<$crate::resources::AssetStatus>,
        }

        impl $root {
            /// A resource named `name` with `spec` and no status.
            pub fn new(name: &str, spec: $spec) -> Self {
                Self {
                    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                        name: Some(name.to_string()),
                        ..Default::default()
                    },
                    spec,
                    status: None,
                }
            }
        }

        impl serde::Serialize for $root {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut obj =
                    ser.serialize_struct($kind, 4 + usize::from(self.status.is_some()))?;
                obj.serialize_field(
                    "apiVersion",
                    &<$root as kube::core::Resource>::api_version(&()),
                )?;
                obj.serialize_field("kind", &<$root as kube::core::Resource>::kind(&()))?;
                obj.serialize_field("metadata", &self.metadata)?;
                obj.serialize_field("spec", &self.spec)?;
                if let Some(status) = &self.status {
                    obj.serialize_field("status", status)?;
                }
                obj.end()
            }
        }

        impl kube::core::Resource for $root {
            type DynamicType = ();
            type Scope = kube::core::NamespaceResourceScope;

            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::spec::GROUP.into()
            }

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }

            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::spec::VERSION.into()
            }

            fn api_version(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::spec::API_VERSION.into()
            }

            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }

            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }

            fn meta_mut(
                &mut self,
            ) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl kube::core::object::HasSpec for $root {
            type Spec = $spec;

            fn spec(&self) -> &$spec {
                &self.spec
            }

            fn spec_mut(&mut self) -> &mut $spec {
                &mut self.spec
            }
        }

        impl kube::core::object::HasStatus for $root {
            type Status = $crate::resources::AssetStatus;

            fn status(&self) -> Option<&$crate::resources::AssetStatus> {
                self.status.as_ref()
            }

            fn status_mut(&mut self) -> &mut Option<$crate::resources::AssetStatus> {
                &mut self.status
            }
        }

        impl kube::core::crd::v1::CustomResourceExt for $root {
            fn crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
                $crate::resources::custom_resource::crd::<Self>($short_name, &[$($column),*])
            }

            fn crd_name() -> &'static str {
                concat!($plural, ".jetsync.dev")
            }

            fn api_resource() -> kube::core::dynamic::ApiResource {
                kube::core::dynamic::ApiResource::erase::<Self>(&())
            }

            fn shortnames() -> &'static [&'static str] {
                &[$short_name]
            }
        }
    };
}
pub(crate) use custom_resource;
