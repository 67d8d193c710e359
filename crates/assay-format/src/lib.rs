//! The assessment format: typed YAML model, loading with located errors, validation, JSON Schema.
//!
//! An assessment is a folder: `assessment.yaml` plus one YAML file per suite. [`load`] reads
//! and validates it, collecting every problem as a [`Diagnostic`] naming `file:line:column`.
//! YAML parsing is confined to [`yaml`] (serde-saphyr; see ARCHITECTURE.md for why).

mod diagnostic;
pub mod init;
mod kit;
mod load;
mod model;
pub mod schema;
mod shape;
mod spec;
mod template;
mod validate;
mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use kit::{KitWritten, export_kit};
pub use load::{Assessment, LoadedSuite, load};
pub use model::*;
pub use shape::{Field, SHAPE_TYPES, Shape};
pub use spec::{
    CheckCommon, CheckKind, CheckSpec, Needs, NotOneKind, RepositoryRule, SecurityProbe,
};
pub use template::{Template, TemplatePart, parse_template};
