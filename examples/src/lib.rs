//! The README's code samples, compiled and run as doctests.
#![doc = include_str!("../../README.md")]
