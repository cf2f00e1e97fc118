//! Credentials in the user info of a remote URL, for the Git client.

/// Split `scheme://user:pass@host/…` into the URL without the password and
/// the credentials.
pub(crate) fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    match userinfo.split_once(':') {
        Some((user, pass)) => (
            format!("{scheme}://{user}@{host}{path}"),
            Some((user.to_owned(), pass.to_owned())),
        ),
        None => (url.to_owned(), None),
    }
}
