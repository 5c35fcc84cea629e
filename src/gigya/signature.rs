//! Gigya's HMAC-SHA1 signatures: the OAuth1-style request signature that signed
//! calls carry in `sig`, and the signatures the mock puts into responses or
//! outgoing traffic (`UIDSignature`, `friendshipSignature`, the webhook
//! `X-Gigya-Sig-Hmac-Sha1` header and the `gltexp_` session-expiration cookie).
//!
//! This module owns the byte-exact construction of every signed string (the
//! percent-encoding, the normalized URL and the base string) and the HMAC
//! computation over it. It knows nothing about HTTP requests, clocks, nonces
//! or which secret belongs to which key: callers pick the key and the
//! parameters, this module only computes and compares.
//!
//! Keys are the *decoded* secret bytes; use [`decode_secret`] on the Base64
//! secret first.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// HMAC-SHA1, the only MAC Gigya uses for these signatures.
type HmacSha1 = Hmac<Sha1>;

/// Standard-alphabet Base64 decoder that takes input with or without `=`
/// padding and ignores non-zero trailing bits, as the .NET and Python decoders
/// used by the SDKs do.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why a Base64 secret could not be turned into an HMAC key.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secret was empty (or only whitespace).
    #[error("secret is empty")]
    Empty,
    /// The secret is not standard Base64.
    #[error("secret is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
}

/// Percent-encodes `s` the way every Gigya SDK does (RFC 3986): the
/// unreserved characters `A-Z a-z 0-9 - _ . ~` stay as they are, every other
/// UTF-8 byte becomes `%XX` with uppercase hex digits.
pub fn rfc3986_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    rfc3986_encode_into(&mut out, s);
    out
}

/// [`rfc3986_encode`] appended to `out`.
fn rfc3986_encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            continue;
        }
        // A run of unreserved bytes is ASCII, so it starts and ends on char boundaries (the
        // bytes of one escaped character have no run between them).
        if plain < i {
            out.push_str(s.get(plain..i).unwrap_or_default());
        }
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0F)]));
        plain = i + 1;
    }
    out.push_str(s.get(plain..).unwrap_or_default());
}

/// Builds the normalized URL that goes into the base string: lowercase
/// scheme, `://`, lowercase host, `:port` only when a port is given and it is
/// not the scheme's default (80 for `http`, 443 for `https`), then `path`
/// unchanged. No query string.
pub fn normalized_url(scheme: &str, host: &str, port: Option<u16>, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    match port {
        Some(p) if Some(p) != default_port => format!("{scheme}://{host}:{p}{path}"),
        _ => format!("{scheme}://{host}{path}"),
    }
}

/// Builds the string a request signature is computed over.
///
/// Every parameter except one named exactly `sig` takes part. They are sorted
/// by name in byte order (so `UID` comes before `apiKey`), written as
/// `name=enc(value)` and joined with `&`. The result is
/// `UPPER(method)&enc(normalized_url)&enc(query)`, the query being encoded a
/// second time as a whole. `params` holds decoded values; names are used
/// as they are.
pub fn base_string(http_method: &str, normalized_url: &str, params: &[(&str, &str)]) -> String {
    BaseParts::new(http_method, params).base_string(normalized_url)
}

/// The parts of a base string that do not depend on the URL: the method and the encoded
/// query. A request whose URL may be one of several is checked against each of them without
/// sorting and encoding its parameters again.
#[derive(Debug, Clone)]
pub struct BaseParts {
    /// `UPPER(method)&`.
    method: String,
    /// `&enc(query)`.
    query: String,
}

impl BaseParts {
    /// Sorts and encodes `params` (decoded values) the way [`base_string`] does.
    #[must_use]
    pub fn new(http_method: &str, params: &[(&str, &str)]) -> Self {
        let mut sorted: Vec<&(&str, &str)> =
            params.iter().filter(|(name, _)| *name != "sig").collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut query =
            String::with_capacity(params.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
        for (i, (name, value)) in sorted.iter().enumerate() {
            if i > 0 {
                query.push('&');
            }
            query.push_str(name);
            query.push('=');
            rfc3986_encode_into(&mut query, value);
        }
        let mut encoded = String::with_capacity(query.len() + query.len() / 2 + 1);
        encoded.push('&');
        rfc3986_encode_into(&mut encoded, &query);
        let mut method = http_method.to_ascii_uppercase();
        method.push('&');
        Self {
            method,
            query: encoded,
        }
    }

    /// The whole base string for `normalized_url`.
    #[must_use]
    pub fn base_string(&self, normalized_url: &str) -> String {
        let mut out = String::with_capacity(
            self.method.len() + normalized_url.len() * 3 / 2 + self.query.len(),
        );
        out.push_str(&self.method);
        rfc3986_encode_into(&mut out, normalized_url);
        out.push_str(&self.query);
        out
    }

    /// Whether `sig` (decoded with [`decode_sig`]) is the signature of the base string for
    /// `normalized_url`; constant time in the comparison.
    #[must_use]
    pub fn verify(&self, key: &[u8], normalized_url: &str, sig: &[u8]) -> bool {
        let Some(mut mac) = new_mac(key) else {
            return false;
        };
        let mut url = String::with_capacity(normalized_url.len() * 3 / 2);
        rfc3986_encode_into(&mut url, normalized_url);
        mac.update(self.method.as_bytes());
        mac.update(url.as_bytes());
        mac.update(self.query.as_bytes());
        mac.verify_slice(sig).is_ok()
    }
}

/// The bytes of a `sig` parameter (standard Base64, padding optional); `None` when it does not
/// decode, which no signature matches.
#[must_use]
pub fn decode_sig(sig: &str) -> Option<Vec<u8>> {
    LENIENT_STANDARD.decode(sig).ok()
}

/// Decodes a Gigya secret (standard Base64, padding optional, surrounding
/// whitespace ignored) into the bytes used as the HMAC key.
pub fn decode_secret(secret_b64: &str) -> Result<Vec<u8>, SecretError> {
    let trimmed = secret_b64.trim();
    if trimmed.is_empty() {
        return Err(SecretError::Empty);
    }
    Ok(LENIENT_STANDARD.decode(trimmed)?)
}

/// Starts an HMAC-SHA1 over `key`.
///
/// HMAC takes keys of any length, so the library never reports an error here;
/// `None` only keeps the callers free of panics.
fn new_mac(key: &[u8]) -> Option<HmacSha1> {
    HmacSha1::new_from_slice(key).ok()
}

/// Base64 (standard alphabet, with padding) of HMAC-SHA1 over `message`.
///
/// Returns an empty string, which never matches a real signature, in the
/// unreachable case that the HMAC cannot be keyed.
fn hmac_b64(key: &[u8], message: &[u8]) -> String {
    match new_mac(key) {
        Some(mut mac) => {
            mac.update(message);
            STANDARD.encode(mac.finalize().into_bytes())
        }
        None => String::new(),
    }
}

/// Signs a base string: Base64 (standard, padded) of HMAC-SHA1 keyed with the
/// decoded secret.
pub fn sign(key: &[u8], base: &str) -> String {
    hmac_b64(key, base.as_bytes())
}

/// Checks `sig` against the signature of `base`, in constant time.
///
/// `sig` is Base64 (standard alphabet, padding optional). Anything that does
/// not decode, or decodes to the wrong length, is simply a mismatch.
pub fn verify(key: &[u8], base: &str, sig: &str) -> bool {
    let Some(expected) = decode_sig(sig) else {
        return false;
    };
    let Some(mut mac) = new_mac(key) else {
        return false;
    };
    mac.update(base.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// `UIDSignature` of a response: signature over `<timestamp>_<uid>`, where
/// `timestamp` is the `signatureTimestamp` string (Unix seconds).
pub fn uid_signature(key: &[u8], timestamp: &str, uid: &str) -> String {
    sign(key, &format!("{timestamp}_{uid}"))
}

/// `friendshipSignature`: signature over `<timestamp>_<friend_uid>_<uid>`.
pub fn friendship_signature(key: &[u8], timestamp: &str, friend_uid: &str, uid: &str) -> String {
    sign(key, &format!("{timestamp}_{friend_uid}_{uid}"))
}

/// Value of the `X-Gigya-Sig-Hmac-Sha1` header of a webhook notification:
/// signature over the raw body bytes exactly as sent.
pub fn webhook_signature(key: &[u8], body: &[u8]) -> String {
    hmac_b64(key, body)
}

/// Value of the `gltexp_<apiKey>` session-expiration cookie.
///
/// Without a user key: `<exp>_` followed by the signature over
/// `<login_token>_<exp>` (key = partner secret). With one:
/// `<exp>_<user_key>_` followed by the signature over
/// `<login_token>_<exp>_<user_key>` (key = that user key's secret).
pub fn session_expiration_cookie(
    key: &[u8],
    login_token: &str,
    exp: u64,
    user_key: Option<&str>,
) -> String {
    match user_key {
        None => {
            let sig = sign(key, &format!("{login_token}_{exp}"));
            format!("{exp}_{sig}")
        }
        Some(uk) => {
            let sig = sign(key, &format!("{login_token}_{exp}_{uk}"));
            format!("{exp}_{uk}_{sig}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Partner secret `S` of the protocol doc, §3.3.
    const SECRET_S: &str = "bW9jay1naWd5YS1wYXJ0bmVyLXNlY3JldC0wMDAx";
    /// User-key secret `U` of the protocol doc, §3.3.
    const SECRET_U: &str = "bW9jay1naWd5YS11c2VyLXNlY3JldC0wMDAy";

    fn key_s() -> Vec<u8> {
        decode_secret(SECRET_S).unwrap()
    }

    fn key_u() -> Vec<u8> {
        decode_secret(SECRET_U).unwrap()
    }

    /// Checks base string and signature, and that `verify` agrees.
    fn check(key: &[u8], base: &str, expected_base: &str, expected_sig: &str) {
        assert_eq!(base, expected_base);
        assert_eq!(sign(key, base), expected_sig);
        assert!(verify(key, base, expected_sig));
    }

    #[test]
    fn secrets_decode_to_the_documented_plaintext() {
        assert_eq!(key_s(), b"mock-gigya-partner-secret-0001");
        assert_eq!(key_u(), b"mock-gigya-user-secret-0002");
    }

    #[test]
    fn vector_a_set_account_info_post_https_partner_secret() {
        let url = normalized_url(
            "https",
            "accounts.us1.gigya.com",
            None,
            "/accounts.setAccountInfo",
        );
        let params = [
            ("apiKey", "3_mockApiKey"),
            ("UID", "8f1c0e3a9b2d4c6e"),
            ("data", r#"{"car":"Suzuki Alto","tags":["a","b"]}"#),
            ("profile", r#"{"firstName":"Zoë","lastName":"O'Brien"}"#),
            ("format", "json"),
            ("httpStatusCodes", "false"),
            ("sdk", "python_3.6.0"),
            ("timestamp", "1700000000"),
            ("nonce", "1700000000000123"),
        ];
        let base = base_string("POST", &url, &params);
        check(
            &key_s(),
            &base,
            "POST&https%3A%2F%2Faccounts.us1.gigya.com%2Faccounts.setAccountInfo&UID%3D8f1c0e3a9b2d4c6e%26apiKey%3D3_mockApiKey%26data%3D%257B%2522car%2522%253A%2522Suzuki%2520Alto%2522%252C%2522tags%2522%253A%255B%2522a%2522%252C%2522b%2522%255D%257D%26format%3Djson%26httpStatusCodes%3Dfalse%26nonce%3D1700000000000123%26profile%3D%257B%2522firstName%2522%253A%2522Zo%25C3%25AB%2522%252C%2522lastName%2522%253A%2522O%2527Brien%2522%257D%26sdk%3Dpython_3.6.0%26timestamp%3D1700000000",
            "muC0fnPlwjSC9iVSRi4YMte4Lho=",
        );
    }

    #[test]
    fn vector_b_set_user_settings_post_http_user_key() {
        let url = normalized_url(
            "http",
            "socialize.eu1.gigya.com",
            None,
            "/socialize.setUserSettings",
        );
        let params = [
            ("apiKey", "3_mockApiKey"),
            ("userKey", "AMockUserKey1"),
            ("UID", "_guid_ab+c/d="),
            (
                "settings",
                r#"{"Like":{"alwaysShare":true,"neverShare":false,"providers":"facebook,twitter"}}"#,
            ),
            ("group", "gigyaShareSettings"),
            ("format", "json"),
            ("httpStatusCodes", "false"),
            ("timestamp", "1700000100"),
            ("nonce", "1700000100000_7"),
        ];
        let base = base_string("POST", &url, &params);
        check(
            &key_u(),
            &base,
            "POST&http%3A%2F%2Fsocialize.eu1.gigya.com%2Fsocialize.setUserSettings&UID%3D_guid_ab%252Bc%252Fd%253D%26apiKey%3D3_mockApiKey%26format%3Djson%26group%3DgigyaShareSettings%26httpStatusCodes%3Dfalse%26nonce%3D1700000100000_7%26settings%3D%257B%2522Like%2522%253A%257B%2522alwaysShare%2522%253Atrue%252C%2522neverShare%2522%253Afalse%252C%2522providers%2522%253A%2522facebook%252Ctwitter%2522%257D%257D%26timestamp%3D1700000100%26userKey%3DAMockUserKey1",
            "brL+ax/Mw7+H3kn+2mIwG0EmT0U=",
        );
        // The same request signed with the partner secret must not verify.
        assert!(!verify(&key_s(), &base, "brL+ax/Mw7+H3kn+2mIwG0EmT0U="));
    }

    #[test]
    fn vector_c_set_user_info_get_https_non_ascii() {
        let url = normalized_url(
            "https",
            "socialize.us1.gigya.com",
            None,
            "/socialize.setUserInfo",
        );
        let params = [
            ("apiKey", "3_mockApiKey"),
            ("UID", "u-42"),
            ("userInfo", "{\"nickname\":\"Jo ~*! \u{1F600}\",\"age\":30}"),
            ("format", "json"),
            ("timestamp", "1700000200"),
            ("nonce", "n-1"),
        ];
        let base = base_string("get", &url, &params);
        check(
            &key_s(),
            &base,
            "GET&https%3A%2F%2Fsocialize.us1.gigya.com%2Fsocialize.setUserInfo&UID%3Du-42%26apiKey%3D3_mockApiKey%26format%3Djson%26nonce%3Dn-1%26timestamp%3D1700000200%26userInfo%3D%257B%2522nickname%2522%253A%2522Jo%2520~%252A%2521%2520%25F0%259F%2598%2580%2522%252C%2522age%2522%253A30%257D",
            "/qiw1jaCe0VYwW6i4G3NFITltDE=",
        );
    }

    #[test]
    fn vector_d_uid_signature() {
        assert_eq!(
            uid_signature(&key_s(), "1700000000", "8f1c0e3a9b2d4c6e"),
            "3S0kGM9PU54FHW4bMMQyilGjgLY="
        );
        assert_eq!(
            uid_signature(&key_u(), "1700000000", "8f1c0e3a9b2d4c6e"),
            "X6Vt872f0ybrKZVgp13TUC6gDfM="
        );
        assert!(verify(
            &key_s(),
            "1700000000_8f1c0e3a9b2d4c6e",
            "3S0kGM9PU54FHW4bMMQyilGjgLY="
        ));
    }

    #[test]
    fn vector_e_friendship_signature() {
        assert_eq!(
            friendship_signature(&key_s(), "1700000000", "friend-9", "8f1c0e3a9b2d4c6e"),
            "h7HdWc16kBixM9GDZVrevLzt5v8="
        );
    }

    #[test]
    fn vector_f_webhook_signature() {
        let body = br#"{"events":[{"type":"accountUpdated","id":"0a8ba913-5c70-4654-988d-767c3fe50d5c","timestamp":1700000000,"callId":"865786b118bd43e9a27e8e1d12f40d5f","version":"2.0","apiKey":"3_mockApiKey","data":{"uid":"8f1c0e3a9b2d4c6e"}}],"nonce":"a69c7f4e-955e-4189-97b5-8f314d06066f","timestamp":1700000001}"#;
        assert_eq!(
            webhook_signature(&key_s(), body),
            "qfdH43Vp6VzI7ThGC4jYXIFJh0Q="
        );
        // One byte more (a trailing newline) changes the signature.
        let mut with_newline = body.to_vec();
        with_newline.push(b'\n');
        assert_ne!(
            webhook_signature(&key_s(), &with_newline),
            "qfdH43Vp6VzI7ThGC4jYXIFJh0Q="
        );
    }

    #[test]
    fn vector_g_java_sdk_unit_test() {
        let secret = STANDARD.encode("test-consumer-secret&test-token-secret");
        let key = decode_secret(&secret).unwrap();
        let url = normalized_url("http", "photos.example.net", None, "/photos");
        let params = [
            ("oauth_consumer_key", "test-consumer-secret"),
            ("oauth_token", "test-token-secret"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1191242096"),
            ("oauth_nonce", "kllo9940pd9333jh"),
            ("oauth_version", "1.0"),
            ("file", "vacation.jpg"),
            ("size", "original"),
        ];
        let base = base_string("POST", &url, &params);
        assert_eq!(sign(&key, &base), "j4/Jwtp11HLWl7KG3QlsczfRRpU=");
        assert!(verify(&key, &base, "j4/Jwtp11HLWl7KG3QlsczfRRpU="));
    }

    #[test]
    fn vector_h_session_expiration_cookie() {
        assert_eq!(
            session_expiration_cookie(&key_s(), "st2.s.AtLtMockLoginToken", 1_700_003_600, None),
            "1700003600_SGyIr3r491MN/NcA/5802ElrdD8="
        );
        assert_eq!(
            session_expiration_cookie(
                &key_u(),
                "st2.s.AtLtMockLoginToken",
                1_700_003_600,
                Some("AMockUserKey1")
            ),
            "1700003600_AMockUserKey1_KAZVDPbP1ZuFPtJnotadCljN5qw="
        );
    }

    #[test]
    fn encoding_edge_cases() {
        assert_eq!(rfc3986_encode("a b"), "a%20b");
        assert_eq!(rfc3986_encode("*"), "%2A");
        assert_eq!(rfc3986_encode("~"), "~");
        assert_eq!(rfc3986_encode("+"), "%2B");
        assert_eq!(rfc3986_encode("A-Za-z0-9_.~"), "A-Za-z0-9_.~");
        assert_eq!(rfc3986_encode("!'()"), "%21%27%28%29");
        assert_eq!(rfc3986_encode("/?#[]@&=:"), "%2F%3F%23%5B%5D%40%26%3D%3A");
        assert_eq!(rfc3986_encode("%"), "%25");
        assert_eq!(rfc3986_encode("\u{1F600}"), "%F0%9F%98%80");
        assert_eq!(rfc3986_encode("é"), "%C3%A9");
        assert_eq!(rfc3986_encode("\n\0"), "%0A%00");
        assert_eq!(rfc3986_encode(""), "");
    }

    #[test]
    fn port_handling() {
        assert_eq!(normalized_url("http", "h", Some(80), "/p"), "http://h/p");
        assert_eq!(normalized_url("https", "h", Some(443), "/p"), "https://h/p");
        assert_eq!(
            normalized_url("http", "h", Some(443), "/p"),
            "http://h:443/p"
        );
        assert_eq!(
            normalized_url("https", "h", Some(80), "/p"),
            "https://h:80/p"
        );
        assert_eq!(
            normalized_url("http", "localhost", Some(8080), "/accounts.getAccountInfo"),
            "http://localhost:8080/accounts.getAccountInfo"
        );
        assert_eq!(
            normalized_url("HTTPS", "Accounts.US1.Gigya.com", Some(443), "/X.y"),
            "https://accounts.us1.gigya.com/X.y"
        );
        assert_eq!(normalized_url("HTTP", "H", None, "/p"), "http://h/p");
    }

    #[test]
    fn sig_parameter_is_left_out() {
        let url = normalized_url("https", "h", None, "/m");
        let without = base_string("POST", &url, &[("b", "2"), ("a", "1")]);
        let with = base_string("POST", &url, &[("b", "2"), ("sig", "xyz"), ("a", "1")]);
        assert_eq!(without, with);
        assert_eq!(without, "POST&https%3A%2F%2Fh%2Fm&a%3D1%26b%3D2");
        // Only the exact name `sig` is dropped.
        let other = base_string("POST", &url, &[("Sig", "x"), ("sigs", "y")]);
        assert_eq!(other, "POST&https%3A%2F%2Fh%2Fm&Sig%3Dx%26sigs%3Dy");
    }

    #[test]
    fn empty_parameter_set() {
        assert_eq!(
            base_string("post", "https://h/m", &[]),
            "POST&https%3A%2F%2Fh%2Fm&"
        );
    }

    #[test]
    fn decode_secret_accepts_missing_padding_and_rejects_garbage() {
        // "ab" encodes to "YWI=" (one pad character).
        assert_eq!(decode_secret("YWI=").unwrap(), b"ab");
        assert_eq!(decode_secret("YWI").unwrap(), b"ab");
        assert_eq!(decode_secret(" YWI=\n").unwrap(), b"ab");
        assert!(matches!(
            decode_secret("not base64!"),
            Err(SecretError::Base64(_))
        ));
        assert!(matches!(decode_secret("YW-_"), Err(SecretError::Base64(_))));
        assert!(matches!(decode_secret(""), Err(SecretError::Empty)));
        assert!(matches!(decode_secret("   "), Err(SecretError::Empty)));
        let msg = decode_secret("@@@@").unwrap_err().to_string();
        assert!(msg.starts_with("secret is not valid base64"), "{msg}");
    }

    #[test]
    fn verify_rejects_bad_signatures() {
        let key = key_s();
        let base = "1700000000_8f1c0e3a9b2d4c6e";
        // Not Base64 at all.
        assert!(!verify(&key, base, "not base64!"));
        assert!(!verify(&key, base, ""));
        // Valid Base64, wrong length.
        assert!(!verify(&key, base, "AAAA"));
        // Right length, wrong bytes.
        assert!(!verify(&key, base, "AAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        // A form-decoded `+` (now a space) does not verify.
        let (plus_base, plus_sig) = (0..100)
            .map(|i| {
                let b = format!("m{i}");
                let s = sign(&key, &b);
                (b, s)
            })
            .find(|(_, s)| s.contains('+'))
            .unwrap();
        assert!(verify(&key, &plus_base, &plus_sig));
        assert!(!verify(&key, &plus_base, &plus_sig.replace('+', " ")));
        // Padding is optional on the incoming signature.
        assert!(verify(&key, base, "3S0kGM9PU54FHW4bMMQyilGjgLY"));
    }

    #[test]
    fn base_parts_verify_what_the_whole_base_string_verifies() {
        let params = [
            ("apiKey", "3_mockApiKey"),
            ("UID", "u-42"),
            ("userInfo", "{\"nickname\":\"Jo ~*! \u{1F600}\",\"age\":30}"),
            ("sig", "left out"),
            ("format", "json"),
            ("timestamp", "1700000200"),
            ("nonce", "n-1"),
        ];
        let key = key_s();
        let signed = normalized_url(
            "https",
            "socialize.us1.gigya.com",
            None,
            "/socialize.setUserInfo",
        );
        let sig = sign(&key, &base_string("GET", &signed, &params));
        assert_eq!(sig, "/qiw1jaCe0VYwW6i4G3NFITltDE=", "vector C, sig ignored");
        let parts = BaseParts::new("get", &params);
        let raw = decode_sig(&sig).unwrap();
        assert!(parts.verify(&key, &signed, &raw));
        for other in [
            normalized_url(
                "http",
                "socialize.us1.gigya.com",
                None,
                "/socialize.setUserInfo",
            ),
            normalized_url("https", "localhost", Some(8080), "/socialize.setUserInfo"),
        ] {
            assert!(!parts.verify(&key, &other, &raw), "{other}");
            assert_eq!(
                parts.base_string(&other),
                base_string("GET", &other, &params)
            );
        }
        assert!(!parts.verify(&key_u(), &signed, &raw));
        assert!(!parts.verify(&key, &signed, &raw[1..]));
        assert_eq!(decode_sig("not base64!"), None);
    }

    #[test]
    fn long_keys_work() {
        // Keys longer than the SHA-1 block size are hashed first by HMAC; the
        // result must still be a normal 28-character signature.
        let key = [7u8; 200];
        let sig = sign(&key, "x");
        assert_eq!(sig.len(), 28);
        assert!(verify(&key, "x", &sig));
    }
}
