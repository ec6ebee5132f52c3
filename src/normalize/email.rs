//! Email addresses: the canonical form every email key is made from, and the alias
//! that catches `jane+council@gmail.com` and `j.a.n.e@googlemail.com` as `jane@gmail.com`.
//!
//! ```
//! use leakscope::normalize::email;
//! assert_eq!(email::canonical(" Jane.Doe+tax@GMail.com ").as_deref(), Some("jane.doe+tax@gmail.com"));
//! assert_eq!(email::alias("jane.doe+tax@gmail.com").as_deref(), Some("janedoe@gmail.com"));
//! ```

/// Trimmed and lower-cased, when it looks like an email: one `@`, a non-empty local
/// part without spaces or control characters, and a domain of dot-separated labels
/// (letters, digits, hyphens) with at least one dot. A `mailto:` prefix is removed,
/// and an address in angle brackets is taken from them, with the display name
/// before them (`Edgar Elton <e1@example.com>`, `"Elton, Edgar" <e1@example.com>`).
/// Anything else is `None`.
pub fn canonical(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    if let Some(head) = s.strip_suffix('>')
        && let Some(open) = head.rfind('<')
    {
        s = head.get(open + 1..)?.trim();
    }
    if s.len() > 7
        && s.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
    {
        s = s.get(7..)?.trim();
    }
    let (local, domain) = s.split_once('@')?;
    if local.is_empty() || local.len() > 64 || !valid_domain(domain) {
        return None;
    }
    if s.is_ascii() {
        // Printable, no space; a second `@` fails the domain check.
        if !local.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut out = s.to_string();
        out.make_ascii_lowercase();
        return Some(out);
    }
    if local
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '@')
    {
        return None;
    }
    Some(s.to_lowercase())
}

fn valid_domain(domain: &str) -> bool {
    if domain.len() > 253 || !domain.contains('.') {
        return false;
    }
    domain.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && if label.is_ascii() {
                label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            } else {
                label.chars().all(|c| c.is_alphanumeric() || c == '-')
            }
    })
}

/// The address mail really goes to, for providers known to ignore parts of it: the
/// `+tag` is dropped everywhere, and for `gmail.com` / `googlemail.com` dots in the
/// local part are dropped too and the domain is `gmail.com`. `None` when the alias
/// is the canonical address itself. Expects a [`canonical`] address.
pub fn alias(canonical: &str) -> Option<String> {
    let mut out = Vec::with_capacity(canonical.len());
    if !alias_into(canonical, &mut out) {
        return None;
    }
    // Built from whole pieces of a `str`.
    String::from_utf8(out).ok()
}

/// The mailbox a canonical address delivers to: its [`alias`] when it has one, else
/// itself. Two addresses with one mailbox (`jane.doe+tax@gmail.com`,
/// `janedoe@googlemail.com`) are one address to a comparison.
pub fn mailbox(canonical: &str) -> std::borrow::Cow<'_, str> {
    // No allocation for the usual address that is its own mailbox.
    let mut out = Vec::new();
    if !alias_into(canonical, &mut out) {
        return std::borrow::Cow::Borrowed(canonical);
    }
    // Built from whole pieces of a `str`.
    match String::from_utf8(out) {
        Ok(a) => std::borrow::Cow::Owned(a),
        Err(_) => std::borrow::Cow::Borrowed(canonical),
    }
}

/// [`alias`] appending to `out`; returns whether an alias (different from the input)
/// was written. On `false`, `out` is left as it was.
pub(crate) fn alias_into(canonical: &str, out: &mut Vec<u8>) -> bool {
    // Byte searches: this runs for every email of every query and record.
    let bytes = canonical.as_bytes();
    let Some(at) = memchr::memrchr(b'@', bytes) else {
        return false;
    };
    let (local, domain) = (&canonical[..at], &canonical[at + 1..]);
    let (base, tagged) = match memchr::memchr(b'+', local.as_bytes()) {
        Some(plus) if plus > 0 => (&local[..plus], true),
        _ => (local, false),
    };
    let gmail = domain == "gmail.com" || domain == "googlemail.com";
    let dotted = gmail && base.contains('.');
    let renamed = gmail && domain != "gmail.com";
    if !(tagged || dotted || renamed) {
        return false;
    }
    if gmail && base.bytes().all(|b| b == b'.') {
        return false;
    }
    if gmail {
        out.extend(base.bytes().filter(|&c| c != b'.'));
        out.extend_from_slice(b"@gmail.com");
    } else {
        out.extend_from_slice(base.as_bytes());
        out.push(b'@');
        out.extend_from_slice(domain.as_bytes());
    }
    true
}

/// The local part of a canonical email without its `+tag` (`jane.doe+shop@x.com` →
/// `jane.doe`): the same person often keeps it at another provider.
pub fn local_part(email: &str) -> &str {
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    local.split_once('+').map_or(local, |(base, _)| base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_accepts_real_addresses() {
        assert_eq!(
            canonical("  Jane.Doe@Example.CO.UK ").as_deref(),
            Some("jane.doe@example.co.uk")
        );
        assert_eq!(
            canonical("<j.smith@camden.gov.uk>").as_deref(),
            Some("j.smith@camden.gov.uk")
        );
        assert_eq!(canonical("MAILTO:bob@x.org").as_deref(), Some("bob@x.org"));
        for raw in [
            "Edgar Elton <E1@Example.com>",
            "\"Elton, Edgar\" <e1@example.com>",
            "  Edgar<e1@example.com> ",
            "<mailto:e1@example.com>",
        ] {
            assert_eq!(canonical(raw).as_deref(), Some("e1@example.com"), "{raw:?}");
        }
        assert_eq!(
            canonical("zoë@exämple.de").as_deref(),
            Some("zoë@exämple.de")
        );
        assert_eq!(
            canonical("o'brien+tax@btinternet.com").as_deref(),
            Some("o'brien+tax@btinternet.com")
        );
    }

    #[test]
    fn canonical_rejects_what_is_not_an_email() {
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@localhost",
            "jane@@example.com",
            "jane@exa@mple.com",
            "jane doe@example.com",
            "jane@example..com",
            "jane@.example.com",
            "jane@example.com.",
            "jane@-example.com",
            "n/a",
            "jane@exam_ple.com",
            "Edgar Elton <>",
            "Edgar Elton <e1>",
            "Edgar Elton <e1@example.com",
        ] {
            assert_eq!(canonical(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn alias_drops_tags_and_gmail_dots() {
        assert_eq!(
            alias("jane.doe+council@gmail.com").as_deref(),
            Some("janedoe@gmail.com")
        );
        assert_eq!(
            alias("j.a.n.e@googlemail.com").as_deref(),
            Some("jane@gmail.com")
        );
        assert_eq!(
            alias("jane@googlemail.com").as_deref(),
            Some("jane@gmail.com")
        );
        assert_eq!(
            alias("jane.doe+tax@outlook.com").as_deref(),
            Some("jane.doe@outlook.com")
        );
        assert_eq!(alias("jane.doe@outlook.com"), None);
        assert_eq!(alias("janedoe@gmail.com"), None);
        // A local part that is only a tag keeps it.
        assert_eq!(alias("+tag@example.com"), None);
        assert_eq!(alias("not an email"), None);
        assert_eq!(alias(".+x@gmail.com"), None);
    }

    #[test]
    fn mailbox_is_the_alias_or_the_address() {
        assert_eq!(mailbox("jane.doe+tax@gmail.com"), "janedoe@gmail.com");
        assert_eq!(mailbox("janedoe@googlemail.com"), "janedoe@gmail.com");
        assert_eq!(mailbox("jane+x@outlook.com"), "jane@outlook.com");
        assert_eq!(mailbox("jane.doe@outlook.com"), "jane.doe@outlook.com");
    }

    #[test]
    fn alias_of_variants_agree() {
        let a = canonical("Jane.Doe+Tax@gmail.com").and_then(|c| alias(&c));
        let b = canonical("janedoe@googlemail.com").and_then(|c| alias(&c));
        assert_eq!(a.as_deref(), Some("janedoe@gmail.com"));
        assert_eq!(b.as_deref(), Some("janedoe@gmail.com"));
    }

    proptest! {
        #[test]
        fn canonical_is_idempotent(s in "\\PC{0,40}") {
            if let Some(c) = canonical(&s) {
                prop_assert_eq!(canonical(&c), Some(c.clone()));
                if let Some(a) = alias(&c) {
                    prop_assert_ne!(&a, &c);
                    prop_assert_eq!(alias(&a), None);
                }
            }
        }

        #[test]
        fn a_display_name_is_dropped(name in "[^<>\\pC]{0,20}", local in "[a-z0-9._+-]{1,20}", dom in "[a-z0-9]{1,10}\\.[a-z]{2,6}") {
            let plain = format!("{local}@{dom}");
            prop_assert_eq!(canonical(&format!("{name} <{plain}>")), canonical(&plain));
        }

        #[test]
        fn canonical_of_email_shapes(local in "[A-Za-z0-9._+-]{1,20}", dom in "[A-Za-z0-9]{1,10}\\.[A-Za-z]{2,6}") {
            let raw = format!(" {local}@{dom} ");
            let c = canonical(&raw);
            prop_assert_eq!(c, Some(format!("{local}@{dom}").to_lowercase()));
        }
    }
}
