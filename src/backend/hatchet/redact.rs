//! Text from a server is untrusted: a server or proxy that echoes its request (headers
//! included) would put the token into logs, the state file and reports. Every such text passes
//! `Redactor::clean` in the client, before anything else sees it; every URL shown to people or
//! stored passes `without_credentials`.

use std::fmt;

use base64::Engine;

const REDACTED: &str = "<redacted>";

/// The longest server text kept, in characters (after redaction, so a cut cannot leave a piece
/// of a secret behind).
const MAX_SERVER_TEXT: usize = 300;

/// Shorter pieces of a secret are not looked for: they would match ordinary text.
const MIN_SECRET_LEN: usize = 6;

/// Finds this connection's secrets in text: the token, each of its dot-separated parts (a cut
/// or reformatted echo may show only the signature), and the password of the server URL, alone,
/// as `user:password`, and in its `Authorization: Basic` form.
pub struct Redactor {
    /// Longest first, so that a whole token becomes one `<redacted>`.
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(token: &str, server_url: &url::Url) -> Self {
        let mut secrets = vec![token.to_string()];
        secrets.extend(token.split('.').map(str::to_string));
        if let Some(password) = server_url.password() {
            // The URL keeps them percent-encoded; requests and echoes carry them decoded.
            let user = percent_decoded(server_url.username());
            let plain = percent_decoded(password);
            secrets.push(password.to_string());
            secrets.push(format!("{}:{password}", server_url.username()));
            secrets
                .push(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{plain}")));
            secrets.push(format!("{user}:{plain}"));
            secrets.push(plain);
        }
        secrets.retain(|s| s.len() >= MIN_SECRET_LEN);
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// The text with every secret and URL credential replaced, cut to `MAX_SERVER_TEXT`.
    pub fn clean(&self, text: &str) -> String {
        let mut text = without_credentials(text);
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        match text.char_indices().nth(MAX_SERVER_TEXT) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        }
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The text with the credentials (`user:password@`) of every URL in it removed.
pub fn without_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (before, after) = rest.split_at(scheme_end + 3);
        out.push_str(before);
        let authority_len = after
            .find(|c: char| c.is_whitespace() || "/?#\"'<>".contains(c))
            .unwrap_or(after.len());
        let authority = &after[..authority_len];
        let host = authority
            .rfind('@')
            .map_or(authority, |at| &authority[at + 1..]);
        out.push_str(host);
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0ZW5hbnQifQ.c2lnbmF0dXJlLXBhcnQ";

    fn redactor() -> Redactor {
        let url = url::Url::parse("http://ops:s3cr%40t@hatchet.example:8080/").unwrap();
        Redactor::new(TOKEN, &url)
    }

    #[test]
    fn finds_the_token_its_parts_and_the_url_password() {
        let r = redactor();
        assert_eq!(r.clean(&format!("Bearer {TOKEN}!")), "Bearer <redacted>!");
        assert_eq!(
            r.clean("sig c2lnbmF0dXJlLXBhcnQ, payload eyJzdWIiOiJ0ZW5hbnQifQ"),
            "sig <redacted>, payload <redacted>"
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("ops:s3cr@t");
        let cleaned = r.clean(&format!("Basic {basic}; pw s3cr@t and s3cr%40t"));
        assert_eq!(cleaned, "Basic <redacted>; pw <redacted> and <redacted>");
    }

    #[test]
    fn strips_url_credentials_anywhere() {
        assert_eq!(
            without_credentials("GET http://u:p@h:1/x failed; see https://a@b.example?q"),
            "GET http://h:1/x failed; see https://b.example?q"
        );
        assert_eq!(without_credentials("http://host/"), "http://host/");
        assert_eq!(without_credentials("no url here"), "no url here");
    }

    #[test]
    fn caps_the_text_after_redacting() {
        let r = redactor();
        let long = format!("{}{TOKEN}", "x".repeat(MAX_SERVER_TEXT - 5));
        let cleaned = r.clean(&long);
        assert!(!cleaned.contains("eyJ"), "{cleaned}");
        assert_eq!(cleaned.chars().count(), MAX_SERVER_TEXT + 1);
        assert!(cleaned.ends_with('…'));
    }
}
