//! Link settings of the `gitops` binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GITOPS_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        // Relative relocations packed (DT_RELR, glibc 2.36+): the dynamic
        // loader applies tens of thousands of them at every start, which
        // is a measurable share of a short command. Linkers and loaders
        // without support ignore the request (the binary keeps RELA).
        println!("cargo:rustc-link-arg-bin=gitops=-Wl,-z,pack-relative-relocs");
        // A position-dependent executable: the linker resolves the
        // addresses of the binary's own data (1 MiB of tables of pointers)
        // once, so that no start copies and relocates those pages (a third
        // of the start of a short command; docs/performance.md). The code
        // is then at a fixed address (no ASLR for the executable itself;
        // libraries, heap and stack stay randomised). `GITOPS_PIE=1` at
        // build time keeps a position-independent executable.
        if std::env::var_os("GITOPS_PIE").is_none_or(|v| v != "1") {
            println!("cargo:rustc-link-arg-bin=gitops=-no-pie");
        }
    }
}
