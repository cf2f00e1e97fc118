//! Properties of trim markers.

use gitops_gotemplate::{Template, Value};
use proptest::prelude::*;

fn render(text: &str) -> String {
    Template::from_text("p", text)
        .and_then(|t| t.render("p", &Value::Nil))
        .expect("renders")
}

proptest! {
    /// `{{- x -}}` removes all ASCII space around the action, and nothing else.
    #[test]
    fn trim_removes_surrounding_space(
        before in "[a-z]{0,3}[ \t\r\n]{0,4}",
        after in "[ \t\r\n]{0,4}[a-z]{0,3}",
        word in "[a-z]{1,5}",
    ) {
        let text = format!("{before}{{{{- \"{word}\" -}}}}{after}");
        let want = format!("{}{word}{}", before.trim_end_matches([' ', '\t', '\r', '\n']), after.trim_start_matches([' ', '\t', '\r', '\n']));
        prop_assert_eq!(render(&text), want);
    }

    /// Without markers, text is copied verbatim.
    #[test]
    fn no_trim_keeps_text(before in "[ a-z\t\n]{0,8}", after in "[ a-z\t\n]{0,8}") {
        let text = format!("{before}{{{{\"x\"}}}}{after}");
        prop_assert_eq!(render(&text), format!("{before}x{after}"));
    }

    /// Comments with trim markers behave like actions that print nothing.
    #[test]
    fn trimmed_comment_is_like_empty(before in "[a-z]{0,3}[ \n]{0,3}", after in "[ \n]{0,3}[a-z]{0,3}") {
        let a = render(&format!("{before}{{{{- /* c */ -}}}}{after}"));
        let b = render(&format!("{before}{{{{- \"\" -}}}}{after}"));
        prop_assert_eq!(a, b);
    }

    /// Parsing arbitrary text never panics.
    #[test]
    fn parse_never_panics(text in "[{}a-z$.|():=\"' \\-/*\n0-9]{0,40}") {
        if let Ok(t) = Template::from_text("p", &text) {
            let _ = t.render("p", &Value::Nil);
        }
    }
}
