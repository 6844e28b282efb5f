//! Contact privacy (protocol 1.1): while a session is `waiting`, a chat text is stored with
//! its contact details replaced by [`HIDDEN`]. The rules, applied in this order:
//!
//! 1. Messenger links: every `wa.me/` or `t.me/` (ASCII case-insensitive), together with
//!    an `http://` or `https://` right before it, up to the next whitespace (or the end).
//!    The match is literal, also inside a longer word (`what.me/x` hides `t.me/x`).
//! 2. Handles: every `@` followed by 5 or more of `[A-Za-z0-9_]` (the whole run).
//! 3. Phone-like numbers: every run of 7 or more ASCII digits, where a run may start with
//!    `+` or `(` (or `+(`), may end with one `)` right after its last digit, and may have
//!    any number of spaces (U+0020), `-`, `.`, `(`, `)` between two of its digits.
//!
//! Each match becomes one `[hidden]`. The result says whether anything was replaced: that
//! is the message's `redacted` flag. The 2000-character limit applies to the text as
//! sent; the masked text may be longer (the column allows 4000).

/// What a masked contact detail becomes.
pub const HIDDEN: &str = "[hidden]";

/// Digits a run needs to be hidden.
const MIN_DIGITS: usize = 7;
/// Characters a handle needs after its `@`.
const MIN_HANDLE: usize = 5;

/// `text` with every contact detail replaced, or `None` when nothing matched.
pub fn mask(text: &str) -> Option<String> {
    let (text, links) = mask_links(text);
    let (text, handles) = mask_handles(&text);
    let (text, numbers) = mask_numbers(&text);
    (links || handles || numbers).then_some(text)
}

/// Replaces, left to right, every match `find(text, i)` reports at byte `i` with
/// [`HIDDEN`]: `Some((start, end))` hides `start..end` (`start` may lie before `i`, never
/// before what an earlier match hid) and the scan goes on at `end`. Works on bytes: every
/// pattern is ASCII, so a match never splits a character.
fn replace_matches(
    text: &str,
    find: impl Fn(&str, usize) -> Option<(usize, usize)>,
) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0; // bytes of `text` already in `out`
    let mut i = 0;
    let mut found = false;
    while i < text.len() {
        match find(text, i) {
            Some((start, end)) => {
                out.push_str(&text[copied..start.max(copied)]);
                out.push_str(HIDDEN);
                copied = end;
                i = end;
                found = true;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    (out, found)
}

/// Rule 1.
fn mask_links(text: &str) -> (String, bool) {
    replace_matches(text, link_at)
}

/// The link whose host starts at `i`: with the scheme right before it, up to the next
/// whitespace.
fn link_at(text: &str, i: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let host = ["wa.me/", "t.me/"]
        .into_iter()
        .find(|host| starts_with_ignore_case(&bytes[i..], host.as_bytes()))?;
    let mut start = i;
    for scheme in ["https://", "http://"] {
        let len = scheme.len();
        if start >= len && bytes[start - len..start].eq_ignore_ascii_case(scheme.as_bytes()) {
            start -= len;
            break;
        }
    }
    let after = i + host.len();
    let end = text[after..]
        .find(char::is_whitespace)
        .map_or(text.len(), |offset| after + offset);
    Some((start, end))
}

fn starts_with_ignore_case(bytes: &[u8], pattern: &[u8]) -> bool {
    bytes.len() >= pattern.len() && bytes[..pattern.len()].eq_ignore_ascii_case(pattern)
}

fn is_handle_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Rule 2.
fn mask_handles(text: &str) -> (String, bool) {
    replace_matches(text, |text, i| {
        let bytes = text.as_bytes();
        if bytes[i] != b'@' {
            return None;
        }
        let run = bytes[i + 1..]
            .iter()
            .take_while(|&&b| is_handle_byte(b))
            .count();
        (run >= MIN_HANDLE).then_some((i, i + 1 + run))
    })
}

fn is_separator(byte: u8) -> bool {
    matches!(byte, b' ' | b'-' | b'.' | b'(' | b')')
}

/// The end (exclusive) of a phone-like run starting at `start`, if one starts there.
fn number_at(bytes: &[u8], start: usize) -> Option<usize> {
    let mut j = start;
    if bytes.get(j) == Some(&b'+') {
        j += 1;
    }
    if bytes.get(j) == Some(&b'(') {
        j += 1;
    }
    if !bytes.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut digits = 0;
    let mut end;
    loop {
        while bytes.get(j).is_some_and(u8::is_ascii_digit) {
            digits += 1;
            j += 1;
        }
        end = j;
        let mut k = j;
        while bytes.get(k).copied().is_some_and(is_separator) {
            k += 1;
        }
        if k > j && bytes.get(k).is_some_and(u8::is_ascii_digit) {
            j = k;
        } else {
            break;
        }
    }
    if digits < MIN_DIGITS {
        return None;
    }
    if bytes.get(end) == Some(&b')') {
        end += 1;
    }
    Some(end)
}

/// Rule 3.
fn mask_numbers(text: &str) -> (String, bool) {
    replace_matches(text, |text, i| {
        number_at(text.as_bytes(), i).map(|end| (i, end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask(text).unwrap_or_else(|| text.to_string())
    }

    #[test]
    fn plain_text_is_untouched() {
        for text in [
            "hello there",
            "see you at 5",
            "123456 is six digits",
            "12-34-56",
            "@abcd is short",
            "email me? no.",
            "wa.me without slash",
            "tme/abc",
            "",
            "é ü 漢字 @ -",
        ] {
            assert_eq!(mask(text), None, "{text:?}");
        }
    }

    #[test]
    fn seven_digits_are_hidden() {
        assert_eq!(masked("call 5551234"), "call [hidden]");
        assert_eq!(masked("1234567"), "[hidden]");
        assert_eq!(masked("x123456789012345y"), "x[hidden]y");
        assert_eq!(masked("123456"), "123456");
    }

    #[test]
    fn separators_between_digits() {
        assert_eq!(masked("555-123-4567"), "[hidden]");
        assert_eq!(masked("555.123.4567 ok"), "[hidden] ok");
        assert_eq!(masked("5 5 5 1 2 3 4"), "[hidden]");
        assert_eq!(masked("55 -. 51 -- 234"), "[hidden]");
        assert_eq!(masked("555(12)34"), "[hidden]");
        // Six digits with separators stay.
        assert_eq!(masked("12 34 56"), "12 34 56");
        // A separator not followed by a digit is not part of the run.
        assert_eq!(masked("5551234- next"), "[hidden]- next");
        assert_eq!(masked("5551234. next"), "[hidden]. next");
        // Other characters break a run.
        assert_eq!(masked("555/1234"), "555/1234");
        assert_eq!(masked("555_1234"), "555_1234");
    }

    #[test]
    fn plus_and_parentheses() {
        assert_eq!(masked("+1 555 123 4567"), "[hidden]");
        assert_eq!(masked("(555) 123-4567"), "[hidden]");
        assert_eq!(masked("+(1) 555 1234"), "[hidden]");
        assert_eq!(masked("+49 (0) 30 1234567 thanks"), "[hidden] thanks");
        assert_eq!(masked("num: (5551234)."), "num: [hidden].");
        assert_eq!(masked("a+5551234b"), "a[hidden]b");
        // Only one `)` right after the last digit ends the run.
        assert_eq!(masked("(5551234))"), "[hidden])");
        // A `+` or `(` before too few digits is left alone.
        assert_eq!(masked("+123 and (456)"), "+123 and (456)");
    }

    #[test]
    fn several_numbers() {
        assert_eq!(
            masked("5551234 or 5559876, not 12"),
            "[hidden] or [hidden], not 12"
        );
    }

    #[test]
    fn messenger_links() {
        assert_eq!(masked("wa.me/15551234567"), "[hidden]");
        assert_eq!(
            masked("chat at https://wa.me/1555 now"),
            "chat at [hidden] now"
        );
        assert_eq!(masked("http://t.me/someone"), "[hidden]");
        assert_eq!(masked("t.me/x,y;z\tnext"), "[hidden]\tnext");
        assert_eq!(masked("HTTPS://T.ME/Someone"), "[hidden]");
        assert_eq!(masked("go t.me/"), "go [hidden]");
        assert_eq!(masked("ftp://t.me/x"), "ftp://[hidden]");
        assert_eq!(masked("a t.me/x\nb wa.me/y"), "a [hidden]\nb [hidden]");
        // Up to the next whitespace of any kind, including non-ASCII text before it.
        assert_eq!(masked("t.me/é漢 ok"), "[hidden] ok");
        // Literal, also inside a word.
        assert_eq!(masked("what.me/x"), "wha[hidden]");
    }

    #[test]
    fn handles() {
        assert_eq!(masked("ping @abcde"), "ping [hidden]");
        assert_eq!(masked("@john_doe_99!"), "[hidden]!");
        assert_eq!(masked("@abcd"), "@abcd");
        assert_eq!(masked("@@abcde"), "@[hidden]");
        assert_eq!(masked("mail me: jo@example.com"), "mail me: jo[hidden].com");
        assert_eq!(masked("@ab-cdefg"), "@ab-cdefg");
        assert_eq!(masked("@abcd @efghi"), "@abcd [hidden]");
    }

    #[test]
    fn rules_combine() {
        assert_eq!(
            masked("@johnny or +1 (555) 123-4567 or https://wa.me/15551234567 ok"),
            "[hidden] or [hidden] or [hidden] ok"
        );
        // A handle made of digits is hidden as a handle first.
        assert_eq!(masked("@5551234"), "[hidden]");
    }

    #[test]
    fn masked_text_fits_the_column() {
        // The densest expansions stay within 4000 characters for a 2000-character text.
        for unit in ["t.me/ ", "@abcde ", "1234567a"] {
            let text: String = unit.repeat(2000 / unit.len());
            let out = masked(&text);
            assert!(out.chars().count() <= 4000, "{unit:?}: {}", out.len());
        }
    }
}
