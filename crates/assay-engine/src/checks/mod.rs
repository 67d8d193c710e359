//! Check kinds: each takes a check's spec and a [`crate::context::CheckCx`], and returns a
//! [`crate::context::Verdict`].

pub mod concurrent;
pub mod database;
pub mod growth;
pub mod http;
pub mod lifecycle;
pub mod load;
pub mod never;
pub mod repository;
pub mod security;
