//! What Sprig takes from the world: the clock, entropy, environment
//! variables and time zones, supplied by the caller through [`Environment`].

use std::sync::Arc;
use std::time::SystemTime;

/// The clock, entropy, process environment and time zones that Sprig's
/// non-repeatable functions use (`now`, `date`, `randAlphaNum`, `uuidv4`,
/// `genCA`, `env`, `dateInZone`…).
///
/// The library does no I/O of its own: [`funcs_with`](super::funcs_with)
/// takes an environment, and [`funcs`](super::funcs) uses
/// [`OsEnvironment`] (feature `os`, on by default) or, without that
/// feature, one whose clock and entropy fail.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use gitops_gotemplate::{Template, Value, sprig};
///
/// #[derive(Debug)]
/// struct Fixed;
/// impl sprig::Environment for Fixed {
///     fn now(&self) -> Result<SystemTime, String> {
///         Ok(UNIX_EPOCH + Duration::from_secs(1_560_458_379))
///     }
///     fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
///         buf.fill(7);
///         Ok(())
///     }
/// }
///
/// let mut t = Template::with_funcs("t", sprig::funcs_with(Arc::new(Fixed)));
/// t.parse("t", r#"{{ now | date "2006-01-02T15:04:05Z07:00" }} {{ now | unixEpoch }}"#)?;
/// assert_eq!(t.render("t", &Value::Nil)?, "2019-06-13T20:39:39Z 1560458379");
/// # Ok::<(), gitops_gotemplate::Error>(())
/// ```
pub trait Environment: Send + Sync + std::fmt::Debug {
    /// The current time (Go's `time.Now()`).
    ///
    /// # Errors
    /// When there is no clock; the template call fails with the message.
    fn now(&self) -> Result<SystemTime, String>;

    /// Fills `buf` with cryptographically secure random bytes (Go's
    /// `crypto/rand`; Sprig's `math/rand` uses are served from it too).
    ///
    /// # Errors
    /// When there is no entropy; the template call fails with the message.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String>;

    /// Go's `time.Since` monotonic reading: the time since the process
    /// started, printed by `{{ now }}` as `m=+0.001234567`. `None` prints no
    /// monotonic reading.
    fn monotonic(&self) -> Option<std::time::Duration> {
        None
    }

    /// An environment variable (`env`, `expandenv`); `None` when unset.
    fn getenv(&self, _name: &str) -> Option<String> {
        None
    }

    /// The offset east of UTC in seconds and the abbreviation (`CEST`) of
    /// time zone `zone` at a Unix time; `zone` is `"Local"` or an IANA name
    /// (`Europe/Berlin`). `None` when the zone is unknown: Sprig then uses
    /// UTC, and `Local` is UTC.
    fn zone(&self, _zone: &str, _unix: i64) -> Option<(i32, String)> {
        None
    }
}

/// An environment without clock, entropy, variables or zones: the
/// functions that need them fail with an error naming the missing part.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEnvironment;

impl Environment for NoEnvironment {
    fn now(&self) -> Result<SystemTime, String> {
        Err("no clock: this Sprig function set has no environment (see sprig::funcs_with)".into())
    }

    fn fill_random(&self, _buf: &mut [u8]) -> Result<(), String> {
        Err("no entropy: this Sprig function set has no environment (see sprig::funcs_with)".into())
    }
}

/// The operating system's clock, random source, environment variables and
/// time zone database (`$TZ`, `/etc/localtime`, `$ZONEINFO`,
/// `/usr/share/zoneinfo`), as Go reads them.
#[cfg(feature = "os")]
#[cfg_attr(docsrs, doc(cfg(feature = "os")))]
#[derive(Debug)]
pub struct OsEnvironment {
    start: std::time::Instant,
    zones: std::sync::Mutex<std::collections::HashMap<String, Option<Arc<super::zone::Tz>>>>,
}

#[cfg(feature = "os")]
impl Default for OsEnvironment {
    fn default() -> Self {
        OsEnvironment {
            start: std::time::Instant::now(),
            zones: std::sync::Mutex::default(),
        }
    }
}

#[cfg(feature = "os")]
impl OsEnvironment {
    /// A new environment; `{{ now }}`'s monotonic reading counts from here.
    pub fn new() -> OsEnvironment {
        OsEnvironment::default()
    }

    fn load(&self, name: &str) -> Option<Arc<super::zone::Tz>> {
        let mut zones = self
            .zones
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        zones
            .entry(name.to_string())
            .or_insert_with(|| super::zone::load_os(name).map(Arc::new))
            .clone()
    }
}

#[cfg(feature = "os")]
impl Environment for OsEnvironment {
    fn now(&self) -> Result<SystemTime, String> {
        Ok(SystemTime::now())
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<(), String> {
        use rand_core::RngCore as _;
        rand_core::OsRng
            .try_fill_bytes(buf)
            .map_err(|e| format!("crypto/rand: {e}"))
    }

    fn monotonic(&self) -> Option<std::time::Duration> {
        Some(self.start.elapsed())
    }

    fn getenv(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn zone(&self, zone: &str, unix: i64) -> Option<(i32, String)> {
        self.load(zone).map(|tz| tz.lookup(unix))
    }
}

/// A `rand_core` generator drawing from an [`Environment`]; the first
/// failure is kept and reported after use.
pub(crate) struct EnvRng<'a> {
    pub(crate) env: &'a dyn Environment,
    pub(crate) failed: Option<String>,
}

impl<'a> EnvRng<'a> {
    pub(crate) fn new(env: &'a dyn Environment) -> Self {
        EnvRng { env, failed: None }
    }

    /// The failure, if the environment could not give entropy.
    pub(crate) fn check(&mut self) -> Result<(), String> {
        self.failed.take().map_or(Ok(()), Err)
    }
}

impl rand_core::RngCore for EnvRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if let Err(e) = self.env.fill_random(dest) {
            dest.fill(0);
            self.failed.get_or_insert(e);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for EnvRng<'_> {}

/// Random bytes from the environment.
pub(crate) fn random(env: &dyn Environment, n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0; n];
    env.fill_random(&mut buf)?;
    Ok(buf)
}

/// A uniform random number below `n` (`n > 0`), by rejection.
pub(crate) fn below(env: &dyn Environment, n: u64) -> Result<u64, String> {
    if n <= 1 {
        return Ok(0);
    }
    let limit = u64::MAX - (u64::MAX % n);
    loop {
        let mut b = [0; 8];
        env.fill_random(&mut b)?;
        let x = u64::from_le_bytes(b);
        if x < limit {
            return Ok(x % n);
        }
    }
}

/// A shared environment.
pub(crate) type Env = Arc<dyn Environment>;
