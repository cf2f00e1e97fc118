//! Flux v1 tag choice over a [`TagLister`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use gitops_core::registry::TagLister;
use gitops_core::{ImageRef, Tag};
use gitops_image::v1::{self, TagInfo, TagPattern};
use gitops_setters::v1::TagChooser;

/// Why a Flux v1 container's tag could not be chosen (a warning in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChooseError {
    /// The annotation's pattern is invalid, or nothing matches it.
    #[error(transparent)]
    Pattern(#[from] v1::Error),
    /// The registry failed.
    #[error("cannot list the tags of {image}")]
    Registry {
        /// The image name.
        image: String,
        /// The cause.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The selected tag is not a valid tag.
    #[error("invalid tag {0:?}")]
    Tag(String),
    /// The pattern orders by creation time and the image in use has none (it
    /// is not in the listing, or its time is unknown): fluxd skips the
    /// container rather than guess.
    #[error(
        "the current image {0} has no creation time, so a time-ordered filter cannot compare it"
    )]
    CurrentUndated(String),
}

type Listing = Result<Arc<Vec<String>>, Arc<dyn std::error::Error + Send + Sync>>;

/// A [`TagChooser`] asking a registry: `semver:` patterns need tags only;
/// `glob:`/`regexp:` ones also the creation time of each matching tag
/// ([`TagLister::tag_info`]). Listings and times are cached per run.
///
/// As fluxd: no change when the latest tag is the one in use, and with a
/// time-ordered pattern no change when the image in use has no creation
/// time ([`ChooseError::CurrentUndated`]).
pub struct RegistryChooser<'r, R> {
    registry: &'r R,
    tags: Mutex<HashMap<String, Listing>>,
    created: Mutex<HashMap<(String, String), Option<i64>>>,
}

impl<'r, R: TagLister> RegistryChooser<'r, R> {
    /// A chooser over `registry`.
    pub fn new(registry: &'r R) -> RegistryChooser<'r, R> {
        RegistryChooser {
            registry,
            tags: Mutex::new(HashMap::new()),
            created: Mutex::new(HashMap::new()),
        }
    }

    fn list(&self, image: &ImageRef) -> Listing {
        let key = image.name().to_owned();
        if let Some(hit) = self
            .tags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return hit.clone();
        }
        let r = self
            .registry
            .list_tags(image)
            .map(Arc::new)
            .map_err(|e| Arc::new(e) as Arc<dyn std::error::Error + Send + Sync>);
        self.tags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, r.clone());
        r
    }

    fn created(&self, image: &ImageRef, tag: &str) -> Option<i64> {
        let key = (image.name().to_owned(), tag.to_owned());
        if let Some(hit) = self
            .created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return *hit;
        }
        // A tag whose metadata cannot be read sorts as oldest (Go's zero time).
        let c = self
            .registry
            .tag_info(image, tag)
            .ok()
            .and_then(|i| i.created);
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, c);
        c
    }
}

fn time_of(secs: i64) -> SystemTime {
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

impl<R: TagLister> TagChooser for RegistryChooser<'_, R> {
    type Error = ChooseError;

    fn choose(&self, image: &ImageRef, filter: &str) -> Result<Option<Tag>, ChooseError> {
        let pattern = TagPattern::parse(filter)?;
        let tags = self.list(image).map_err(|source| ChooseError::Registry {
            image: image.name().to_owned(),
            source,
        })?;
        let infos: Vec<TagInfo<'_>> = tags
            .iter()
            .filter(|t| pattern.matches(t))
            .map(|t| {
                let created = if pattern.requires_timestamp() {
                    self.created(image, t).map(time_of)
                } else {
                    None
                };
                TagInfo::new(t, created)
            })
            .collect();
        let best = pattern.latest(&infos)?;
        let current = image.tag().map(Tag::as_str);
        if current == Some(best.tag) {
            return Ok(None);
        }
        if pattern.requires_timestamp()
            && current.is_none_or(|tag| self.created(image, tag).is_none())
        {
            return Err(ChooseError::CurrentUndated(image.to_string()));
        }
        Tag::parse(best.tag)
            .map(Some)
            .map_err(|_| ChooseError::Tag(best.tag.to_owned()))
    }
}
