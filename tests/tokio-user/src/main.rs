//! `gitops-tokio-user <registry> <repository> [<semver range>]`: what a
//! Kubernetes controller built on gitops-rs does inside `#[tokio::main]`,
//! written against the crates' documentation alone.
//!
//! 1. scans the image repository `<registry>/<repository>` with
//!    `gitops_source::registry::AsyncClient` (spawned on the multi-thread
//!    runtime, as a controller spawns reconciles);
//! 2. picks the newest tag inside the range (default `*`) with
//!    `gitops_image::Policy`, and reflects its digest;
//! 3. renders a small kustomization that sets the image to that tag with
//!    `gitops_render::render` on a confined `OsTree` in a temporary
//!    directory, on tokio's blocking pool (rendering is CPU work);
//! 4. prints `tags:`, `latest:`, `digest:`, then the rendered YAML.
//!
//! It also shows the blocking registry client refusing on the runtime with
//! its clear error (`blocking:` line) instead of panicking.

use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context as _;
use gitops_core::ImageRef;
use gitops_core::fs::{OsTree, RelPath};
use gitops_image::{Exclusions, Policy};
use gitops_source::registry::{self, AsyncClient, Keychain, Options};

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gitops-tokio-user: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let [registry, repository, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: gitops-tokio-user <registry> <repository> [<semver range>]");
    };
    let range = rest.first().map_or("*", String::as_str);
    let name = format!("{registry}/{repository}");
    let image = ImageRef::parse(&name).with_context(|| format!("image {name}"))?;
    let client = AsyncClient::new(Keychain::anonymous(), Options::default())?;

    // 1. Scan, on a worker thread of the runtime: the future is Send.
    let scan = tokio::spawn({
        let (client, image) = (client.clone(), image.clone());
        async move {
            client
                .scan_excluding(&image, &Exclusions::default(), SystemTime::now())
                .await
        }
    })
    .await?
    .with_context(|| format!("scan {name}"))?;
    println!("tags: {}", scan.tag_count);

    // 2. Select and reflect the digest.
    let policy = Policy::semver(range)?;
    let latest = policy.select(&scan.tags)?.to_owned();
    println!("latest: {latest}");
    let digest = client.manifest_digest(&image, &latest).await?;
    println!("digest: {digest}");

    // The blocking client refuses here rather than panicking.
    let blocking = registry::Client::new(Keychain::anonymous(), Options::default())?;
    if let Err(e) = blocking.list_tags(&image) {
        println!("blocking: {e}");
    }

    // 3. Render a kustomization pinning the image, off the runtime threads.
    let rendered = tokio::task::spawn_blocking(move || render(&name, &latest)).await??;
    print!("{rendered}");
    Ok(())
}

fn render(image: &str, tag: &str) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let app = dir.path().join("app");
    std::fs::create_dir(&app)?;
    std::fs::write(
        app.join("kustomization.yaml"),
        format!(
            "namePrefix: prod-\nresources: [deployment.yaml]\nimages:\n\
             - name: app\n  newName: {image}\n  newTag: {tag}\n"
        ),
    )?;
    std::fs::write(
        app.join("deployment.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    \
         spec:\n      containers:\n      - name: app\n        image: app:0.0.0\n",
    )?;
    let tree = OsTree::new(dir.path())?;
    Ok(gitops_render::render(
        &tree,
        &RelPath::new("app")?,
        &gitops_render::Options::default(),
    )?)
}
