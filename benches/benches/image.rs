//! Tag selection benchmarks (gitops-image): SemVer, a prerelease range,
//! Alphabetical, Numerical and filterTags+extract on 1,000, 100,000 and
//! 1,000,000 tags.
//!
//! Input: when `GITOPS_BENCH_TAGS_DIR` is set, the files `tags-<N>.txt` and
//! `numeric-<N>.txt` from that directory, as written by
//! `python3 ../shared/tools/gen_tags.py N -o tags-N.txt` (and `--numeric`).
//! Otherwise the same lists are generated here: [`taggen`] re-implements
//! `gen_tags.py` on a port of CPython's Mersenne Twister and its `random()`,
//! `randrange`, `choice` and `shuffle`, so with the default seed the output
//! is byte-identical to the script's (the sha256 the script prints matches).
//!
//! Run: `cargo bench -p gitops-benches --bench image`.
// criterion_group! expands to undocumented public functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gitops_image::{Exclusions, Order, Policy};

const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// The tag list as one text, one tag per line (what the CLI reads); the
/// benches select over `&str` slices of it, so tags sit contiguously in
/// memory as they would after reading a registry response or a file.
fn load(kind: &str, n: usize) -> String {
    if let Some(dir) = std::env::var_os("GITOPS_BENCH_TAGS_DIR") {
        let path = std::path::Path::new(&dir).join(format!("{kind}-{n}.txt"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            return text;
        }
        eprintln!("{} not readable; generating in Rust", path.display());
    }
    taggen::generate(n, taggen::DEFAULT_SEED, kind == "numeric").join("\n") + "\n"
}

fn bench_policies(c: &mut Criterion) {
    let cases: Vec<(&str, &str, Policy)> = vec![
        (
            "semver >=1.0.0",
            "tags",
            Policy::semver(">=1.0.0").expect("range"),
        ),
        (
            "semver prerelease >=1.0.0-0 <2.0.0",
            "tags",
            Policy::semver(">=1.0.0-0 <2.0.0").expect("range"),
        ),
        ("alphabetical asc", "tags", Policy::alphabetical(Order::Asc)),
        ("numerical asc", "numeric", Policy::numerical(Order::Asc)),
        (
            "filter+extract alphabetical",
            "tags",
            Policy::alphabetical(Order::Asc)
                .with_filter_tags(r"^(?:main|master)-(?P<ts>\d{8}T\d{6})-[a-f0-9]{7}$", "$ts")
                .expect("filter"),
        ),
    ];
    let exclusions = Exclusions::default();
    for n in SIZES {
        let tags_text = load("tags", n);
        let numeric_text = load("numeric", n);
        let tags: Vec<&str> = tags_text.lines().collect();
        let numeric: Vec<&str> = numeric_text.lines().collect();
        let mut group = c.benchmark_group(format!("select/{n}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(if n >= 1_000_000 { 3 } else { 2 }));
        group.throughput(Throughput::Elements(n as u64));
        for (name, kind, policy) in &cases {
            let input = if *kind == "numeric" { &numeric } else { &tags };
            group.bench_with_input(BenchmarkId::new(*name, n), input, |b, input| {
                b.iter(|| {
                    policy
                        .select_excluding(black_box(input), &exclusions)
                        .expect("a winner")
                        .len()
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_policies);
criterion_main!(benches);

/// `gen_tags.py`, ported: same algorithm, same random stream.
mod taggen {
    pub const DEFAULT_SEED: u32 = 20_240_101;

    const HEX: &[u8] = b"0123456789abcdef";
    const FIXED: [&str; 6] = ["latest", "stable", "edge", "nightly", "main", "dev"];
    const BRANCHES: [&str; 9] = [
        "main",
        "master",
        "dev",
        "develop",
        "release-1.2",
        "release-2.0",
        "feature-login",
        "fix-oom",
        "staging",
    ];
    const PRE_KINDS: [&str; 5] = ["rc", "alpha", "beta", "pre", "dev"];
    const DISTROS: [&str; 5] = ["alpine", "debian-12", "bookworm", "ubi9", "distroless"];

    /// CPython's `random.Random`: MT19937 seeded with `init_by_array`.
    pub struct PyRandom {
        mt: [u32; 624],
        index: usize,
    }

    impl PyRandom {
        pub fn new(seed: u32) -> Self {
            let mut r = PyRandom {
                mt: [0; 624],
                index: 624,
            };
            r.init_genrand(19_650_218);
            // init_by_array with key = [seed]
            let key = [seed];
            let (mut i, mut j) = (1usize, 0usize);
            for _ in 0..624 {
                let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
                r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_664_525))
                    .wrapping_add(key[j])
                    .wrapping_add(j as u32);
                i += 1;
                j += 1;
                if i >= 624 {
                    r.mt[0] = r.mt[623];
                    i = 1;
                }
                if j >= key.len() {
                    j = 0;
                }
            }
            for _ in 0..623 {
                let prev = r.mt[i - 1] ^ (r.mt[i - 1] >> 30);
                r.mt[i] = (r.mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
                i += 1;
                if i >= 624 {
                    r.mt[0] = r.mt[623];
                    i = 1;
                }
            }
            r.mt[0] = 0x8000_0000;
            r
        }

        fn init_genrand(&mut self, s: u32) {
            self.mt[0] = s;
            for i in 1..624 {
                let prev = self.mt[i - 1] ^ (self.mt[i - 1] >> 30);
                self.mt[i] = 1_812_433_253u32.wrapping_mul(prev).wrapping_add(i as u32);
            }
            self.index = 624;
        }

        fn next_u32(&mut self) -> u32 {
            if self.index >= 624 {
                for k in 0..624 {
                    let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % 624] & 0x7fff_ffff);
                    let mut v = self.mt[(k + 397) % 624] ^ (y >> 1);
                    if y & 1 == 1 {
                        v ^= 0x9908_b0df;
                    }
                    self.mt[k] = v;
                }
                self.index = 0;
            }
            let mut y = self.mt[self.index];
            self.index += 1;
            y ^= y >> 11;
            y ^= (y << 7) & 0x9d2c_5680;
            y ^= (y << 15) & 0xefc6_0000;
            y ^ (y >> 18)
        }

        /// `random()`: 53 random bits in [0, 1).
        pub fn random(&mut self) -> f64 {
            let a = f64::from(self.next_u32() >> 5);
            let b = f64::from(self.next_u32() >> 6);
            (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
        }

        /// `_randbelow_with_getrandbits(n)` for n < 2^32.
        pub fn below(&mut self, n: u64) -> u64 {
            let k = 64 - n.leading_zeros();
            loop {
                let r = u64::from(self.next_u32() >> (32 - k));
                if r < n {
                    return r;
                }
            }
        }

        /// `randrange(start, stop)`.
        pub fn range(&mut self, start: u64, stop: u64) -> u64 {
            start + self.below(stop - start)
        }

        pub fn choice<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
            items[self.below(items.len() as u64) as usize]
        }

        pub fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                let j = self.below(i as u64 + 1) as usize;
                v.swap(i, j);
            }
        }
    }

    fn hexs(r: &mut PyRandom, n: u64) -> String {
        (0..n)
            .map(|_| char::from(HEX[r.below(HEX.len() as u64) as usize]))
            .collect()
    }

    fn weighted_major(r: &mut PyRandom) -> u64 {
        let x = r.random();
        if x < 0.25 {
            0
        } else if x < 0.65 {
            1
        } else if x < 0.85 {
            2
        } else if x < 0.95 {
            3
        } else {
            r.range(4, 12)
        }
    }

    fn semver_tag(r: &mut PyRandom, patch_span: u64) -> String {
        let major = weighted_major(r);
        let minor = r.below(60);
        let patch = r.below(patch_span);
        let mut core = format!("{major}.{minor}.{patch}");
        let x = r.random();
        if x < 0.22 {
            let kind = r.choice(&PRE_KINDS);
            core += &format!("-{kind}.{}", r.below(12));
        } else if x < 0.30 {
            let distro = r.choice(&DISTROS);
            core += &format!("-{distro}-r{}", r.below(30));
        }
        if r.random() < 0.06 {
            // Python evaluates the whole list literal before choosing.
            let a = format!("+build.{}", r.range(1, 9999));
            let b = format!("+sha.{}", hexs(r, 7));
            let c = format!("+{}", hexs(r, 7));
            let opts = [a.as_str(), b.as_str(), c.as_str()];
            core += r.choice(&opts);
        }
        if r.random() < 0.5 {
            core.insert(0, 'v');
        }
        core
    }

    fn timestamp_tag(r: &mut PyRandom) -> String {
        let branch = r.choice(&BRANCHES);
        let (y, mo, d) = (r.range(2019, 2027), r.range(1, 13), r.range(1, 29));
        let (h, mi, s) = (r.below(24), r.below(60), r.below(60));
        format!(
            "{branch}-{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}-{}",
            hexs(r, 7)
        )
    }

    fn ci_tag(r: &mut PyRandom) -> String {
        match r.below(3) {
            0 => format!("pr-{}", r.range(1, 20_000)),
            1 => format!("build-{}", r.range(1, 200_000)),
            _ => format!("sha-{}", hexs(r, 7)),
        }
    }

    fn cosign_tag(r: &mut PyRandom) -> String {
        let h = hexs(r, 64);
        format!("sha256-{h}.{}", r.choice(&["sig", "att", "sbom"]))
    }

    fn junk_tag(r: &mut PyRandom) -> String {
        let (a, b, c) = (r.below(5), r.below(40), r.below(60));
        match r.below(12) {
            0 => format!("{a}.{b}"),
            1 => format!("v{a}"),
            2 => format!("{a}.{b}.{c}.{}", r.below(9)),
            3 => format!("0{a}.{b}.{c}"),
            4 => format!("V{a}.{b}.{c}"),
            5 => format!("{a}.{b}.{c}_{}", r.choice(&PRE_KINDS)),
            6 => format!("{a}.{b}.{c}-{}", r.choice(&DISTROS)),
            7 => format!("{a}.{b}.x"),
            8 => format!("release_{a}_{b}"),
            9 => format!("{}-{a}.{b}.{c}", r.choice(&DISTROS)),
            10 => format!("{a}.{b}.{c}-"),
            _ => {
                let n = r.range(3, 12);
                format!("tmp-{}", hexs(r, n))
            }
        }
    }

    fn numeric_tag(r: &mut PyRandom) -> String {
        match r.below(3) {
            0 => r.range(1, 10_000_000).to_string(),
            1 => format!("{}.{}", r.below(100_000), r.below(1000)),
            _ => r.range(1_500_000_000, 1_800_000_000).to_string(),
        }
    }

    /// `gen_tags.py N --seed S [--numeric]`, shuffled.
    pub fn generate(n: usize, seed: u32, numeric: bool) -> Vec<String> {
        let mut r = PyRandom::new(seed);
        let patch_span = (n as u64 / 50).max(150);
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<String> = Vec::with_capacity(n);
        if !numeric {
            for f in FIXED.iter().take((n / 100).min(FIXED.len())) {
                seen.insert((*f).to_owned());
                out.push((*f).to_owned());
            }
        }
        while out.len() < n {
            let t = if numeric {
                numeric_tag(&mut r)
            } else {
                let x = r.random();
                if x < 0.45 {
                    semver_tag(&mut r, patch_span)
                } else if x < 0.62 {
                    hexs(&mut r, 7)
                } else if x < 0.79 {
                    timestamp_tag(&mut r)
                } else if x < 0.83 {
                    ci_tag(&mut r)
                } else if x < 0.86 {
                    cosign_tag(&mut r)
                } else {
                    junk_tag(&mut r)
                }
            };
            if seen.insert(t.clone()) {
                out.push(t);
            }
        }
        r.shuffle(&mut out);
        out
    }
}
