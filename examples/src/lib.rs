//! The README's and the docs' code samples, compiled and run as doctests.
#![doc = include_str!("../../README.md")]

/// The examples of `docs/crates.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/crates.md")]
pub struct CratesDoctests;
