//! A small reader for configuration mappings decoded the way Go's
//! `encoding/json` decodes them (kustomize's `sigs.k8s.io/yaml`): field names
//! match case-insensitively, an exact match winning; `null` is absent.

use crate::Error;
use crate::value::{Map, Value};

/// Reads the fields of one mapping and, when strict, rejects the rest.
pub(crate) struct Obj<'a> {
    map: &'a Map,
    used: Vec<bool>,
    file: &'a str,
    what: &'a str,
}

impl<'a> Obj<'a> {
    /// Start reading `v`, which must be a mapping (`what` names it in errors).
    pub(crate) fn new(v: &'a Value, file: &'a str, what: &'a str) -> Result<Obj<'a>, Error> {
        let map = v.as_map().ok_or_else(|| Error::Kustomization {
            file: file.to_owned(),
            message: format!("{what} must be a mapping"),
        })?;
        Ok(Obj {
            map,
            used: vec![false; map.len()],
            file,
            what,
        })
    }

    /// An error about this mapping.
    pub(crate) fn err(&self, message: impl Into<String>) -> Error {
        Error::Kustomization {
            file: self.file.to_owned(),
            message: format!("{}: {}", self.what, message.into()),
        }
    }

    /// The field `name`, `None` when absent or null.
    pub(crate) fn get(&mut self, name: &str) -> Option<&'a Value> {
        let idx = self
            .map
            .keys()
            .position(|k| k == name)
            .or_else(|| self.map.keys().position(|k| k.eq_ignore_ascii_case(name)))?;
        self.used[idx] = true;
        self.map
            .iter()
            .nth(idx)
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// A string field (scalars are read as their text), `None` when absent.
    pub(crate) fn opt_string(&mut self, name: &str) -> Result<Option<String>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v @ (Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_))) => {
                Ok(v.scalar_text())
            }
            Some(_) => Err(self.err(format!("field {name:?} must be a string"))),
        }
    }

    /// A string field, empty when absent.
    pub(crate) fn string(&mut self, name: &str) -> Result<String, Error> {
        Ok(self.opt_string(name)?.unwrap_or_default())
    }

    /// A boolean field, `false` when absent.
    pub(crate) fn boolean(&mut self, name: &str) -> Result<bool, Error> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.err(format!("field {name:?} must be a boolean"))),
        }
    }

    /// An integer field, 0 when absent.
    pub(crate) fn int(&mut self, name: &str) -> Result<i64, Error> {
        match self.get(name) {
            None => Ok(0),
            Some(Value::Int(i)) => Ok(*i),
            Some(_) => Err(self.err(format!("field {name:?} must be an integer"))),
        }
    }

    /// A list field, `None` when absent.
    pub(crate) fn list(&mut self, name: &str) -> Result<Option<&'a [Value]>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Seq(items)) => Ok(Some(items)),
            Some(_) => Err(self.err(format!("field {name:?} must be a list"))),
        }
    }

    /// A list of strings, empty when absent.
    pub(crate) fn strings(&mut self, name: &str) -> Result<Vec<String>, Error> {
        let Some(items) = self.list(name)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .map(|i| match i {
                Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                    Ok(i.scalar_text().unwrap_or_default())
                }
                _ => Err(self.err(format!("field {name:?} must be a list of strings"))),
            })
            .collect()
    }

    /// Mark `name` as read without using it.
    pub(crate) fn skip(&mut self, name: &str) {
        self.get(name);
    }

    /// With `strict`, fail on a field that was not read.
    pub(crate) fn finish(self, strict: bool) -> Result<(), Error> {
        if !strict {
            return Ok(());
        }
        for (i, k) in self.map.keys().enumerate() {
            if !self.used[i] {
                return Err(self.err(format!("unknown field {k:?}")));
            }
        }
        Ok(())
    }
}
