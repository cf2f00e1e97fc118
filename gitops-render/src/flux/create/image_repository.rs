//! `flux create image repository`: [`ImageRepositoryFlags`] and the
//! `ImageRepository` builder.

use super::{Error, GoDuration, IMAGE_V1, Meta, assemble, duration, put_ref, s, validate};
use crate::value::{Map, Value};

/// Flags of `flux create image repository`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageRepositoryFlags {
    /// `--image`.
    pub image: String,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
    /// `--cert-ref`.
    pub cert_ref: Option<String>,
    /// `--scan-timeout`.
    pub scan_timeout: Option<GoDuration>,
}

/// An `ImageRepository` (`flux create image repository NAME …`).
pub fn image_repository(meta: &Meta, o: &ImageRepositoryFlags) -> Result<Value, Error> {
    if meta.name.is_empty() {
        return Err(Error::NameRequired);
    }
    validate::object_name(&meta.name)?;
    if o.image.is_empty() {
        return Err(Error::Flags {
            flag: "image",
            message: "an image repository (--image) is required",
        });
    }
    validate::image_repository(&o.image).map_err(|why| Error::Invalid {
        flag: "image",
        value: o.image.clone(),
        reason: format!("unable to parse image value: {why}"),
    })?;
    let labels = validate::labels(&meta.labels)?;
    let mut spec = Map::new();
    spec.insert("image", s(&o.image));
    spec.insert("interval", duration(meta.interval));
    if let Some(t) = o.scan_timeout.filter(|t| !t.is_zero()) {
        spec.insert("timeout", duration(t));
    }
    put_ref(&mut spec, "secretRef", o.secret_ref.as_deref());
    put_ref(&mut spec, "certSecretRef", o.cert_ref.as_deref());
    Ok(assemble(IMAGE_V1, "ImageRepository", meta, &labels, spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked_before_the_object_is_built() {
        let mut meta = Meta::new("app", "flux-system");
        meta.labels = vec!["a=b=c".into()];
        let o = ImageRepositoryFlags {
            image: "ghcr.io/org/app".into(),
            ..ImageRepositoryFlags::default()
        };
        assert_eq!(
            image_repository(&meta, &o).unwrap_err(),
            Error::LabelFormat {
                label: "a=b=c".into()
            }
        );
    }
}
