//! Link settings of the `gitops` binary.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        // Relative relocations packed (DT_RELR, glibc 2.36+): the dynamic
        // loader applies tens of thousands of them at every start, which
        // is a measurable share of a short command. Linkers and loaders
        // without support ignore the request (the binary keeps RELA).
        println!("cargo:rustc-link-arg-bin=gitops=-Wl,-z,pack-relative-relocs");
    }
}
