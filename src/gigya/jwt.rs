//! The RS256 bearer JWT that server SDKs send as `Authorization: Bearer <JWT>`
//! when they authenticate with a user key and its RSA private key.
//!
//! This module owns reading such a token (lenient about the Base64 flavour,
//! since the .NET SDK pads and uses the standard alphabet while the others use
//! unpadded base64url), reading the RSA key a user configured for a user key
//! (public or private, PKCS#1 or PKCS#8 PEM), checking the RSASSA-PKCS1-v1_5
//! SHA-256 signature, and minting tokens the way the SDKs do (for tests and
//! recordings).
//!
//! It does not judge freshness or replay: the caller compares `iat` with its
//! clock, remembers `jti`, maps the `kid` to a user key and turns a
//! [`JwtError`] into Gigya's `400008` answer.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// base64url decoder that also takes `=` padding and ignores non-zero
/// trailing bits. Standard-alphabet input is mapped onto this alphabet first.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Everything that can be wrong with a bearer token or an RSA key.
///
/// Messages say exactly what is wrong; the caller adds context such as the
/// userKey.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// The token does not have three dot-separated segments.
    #[error("JWT has {0} segments, expected 3")]
    SegmentCount(usize),
    /// A segment is not Base64 in either alphabet.
    #[error("JWT {segment} segment is not valid base64 or base64url: {source}")]
    Base64 {
        /// `header`, `claims` or `signature`.
        segment: &'static str,
        /// What the decoder reported.
        source: base64::DecodeError,
    },
    /// The header or claims segment is not JSON.
    #[error("JWT {segment} is not valid JSON: {source}")]
    Json {
        /// `header` or `claims`.
        segment: &'static str,
        /// What the parser reported.
        source: serde_json::Error,
    },
    /// The header or claims segment is JSON but not an object.
    #[error("JWT {0} is not a JSON object")]
    NotAnObject(&'static str),
    /// The header has no `alg`.
    #[error("JWT header has no alg, expected RS256")]
    MissingAlg,
    /// The header's `alg` is something other than `RS256` (JSON text of it).
    #[error("JWT header alg is {0}, expected RS256")]
    UnsupportedAlg(String),
    /// The header has no `kid`.
    #[error("JWT header has no kid (the userKey)")]
    MissingKid,
    /// The header's `kid` is not a non-empty string (JSON text of it).
    #[error("JWT header kid is {0}, expected a non-empty string (the userKey)")]
    InvalidKid(String),
    /// The claims have no `iat`.
    #[error("JWT claims have no iat")]
    MissingIat,
    /// The `iat` claim is not integer seconds (JSON text of it).
    #[error("JWT claim iat is {0}, expected integer Unix seconds")]
    InvalidIat(String),
    /// The claims have no `jti`.
    #[error("JWT claims have no jti")]
    MissingJti,
    /// The `jti` claim is neither a non-empty string nor a number (JSON text of it).
    #[error("JWT claim jti is {0}, expected a non-empty string or a number")]
    InvalidJti(String),
    /// The signature segment is empty.
    #[error("JWT signature segment is empty")]
    EmptySignature,
    /// The signature does not match; the caller appends which userKey's key.
    #[error("JWT signature does not verify with the public key")]
    BadSignature,
    /// The text holds no PEM block.
    #[error("RSA key is not PEM: no -----BEGIN ...----- line found")]
    NotPem,
    /// The PEM block is of a kind that is not an RSA key we can read.
    #[error(
        "RSA key PEM label is {0:?}, expected PUBLIC KEY, RSA PUBLIC KEY, PRIVATE KEY or RSA PRIVATE KEY"
    )]
    UnsupportedPem(String),
    /// The PEM block is a public key, but signing needs the private key.
    #[error("RSA key PEM is a public key, but signing needs the private key")]
    PublicKeyCannotSign,
    /// The PEM block has a known label but its contents do not parse.
    #[error("RSA key PEM ({label}) could not be read: {reason}")]
    InvalidKey {
        /// The PEM label.
        label: String,
        /// What the decoder reported.
        reason: String,
    },
    /// The RSA signing operation failed.
    #[error("JWT could not be signed: {0}")]
    Signing(String),
}

/// A bearer token split into what the caller needs to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJwt {
    /// The header's `kid`: the userKey whose key signed the token.
    pub kid: String,
    /// The `iat` claim, Unix seconds.
    pub iat: i64,
    /// The `jti` claim as a string (numbers are written in decimal).
    pub jti: String,
    /// `<seg1>.<seg2>` exactly as received: the bytes the signature covers.
    pub signing_input: String,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
}

/// Decodes one segment, accepting base64url or standard Base64, with or
/// without `=` padding.
fn decode_segment(segment: &'static str, text: &str) -> Result<Vec<u8>, JwtError> {
    let mapped: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    LENIENT_URL_SAFE
        .decode(mapped)
        .map_err(|source| JwtError::Base64 { segment, source })
}

/// Decodes a segment and parses it as a JSON object.
fn decode_object(segment: &'static str, text: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = decode_segment(segment, text)?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|source| JwtError::Json { segment, source })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JwtError::NotAnObject(segment)),
    }
}

/// Reads `iat`: an integer, an integral float, or a string holding an integer.
fn read_iat(value: &Value) -> Result<i64, JwtError> {
    let invalid = || JwtError::InvalidIat(value.to_string());
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Ok(i);
            }
            // An integral float such as 1700000000.0; the range check keeps
            // the conversion exact.
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
                _ => Err(invalid()),
            }
        }
        Value::String(s) => s.trim().parse::<i64>().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// Reads `jti`: a non-empty string, or a number written in decimal.
fn read_jti(value: &Value) -> Result<String, JwtError> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(JwtError::InvalidJti(other.to_string())),
    }
}

/// Splits and decodes a bearer token (the text after `Bearer `) and checks
/// its shape: three segments, a JSON header with `alg` = `RS256` and a `kid`,
/// JSON claims with `iat` and `jti`, and a non-empty signature.
///
/// The signature itself is not checked here; see [`verify_rs256`].
pub fn parse_bearer(token: &str) -> Result<ParsedJwt, JwtError> {
    let token = token.trim();
    let segments: Vec<&str> = token.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = segments.as_slice() else {
        return Err(JwtError::SegmentCount(segments.len()));
    };

    let header = decode_object("header", header_b64)?;
    match header.get("alg") {
        None => return Err(JwtError::MissingAlg),
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(other) => return Err(JwtError::UnsupportedAlg(alg_text(other))),
    }
    let kid = match header.get("kid") {
        None => return Err(JwtError::MissingKid),
        Some(Value::String(kid)) if !kid.is_empty() => kid.clone(),
        Some(other) => return Err(JwtError::InvalidKid(other.to_string())),
    };

    let claims = decode_object("claims", claims_b64)?;
    let iat = read_iat(claims.get("iat").ok_or(JwtError::MissingIat)?)?;
    let jti = read_jti(claims.get("jti").ok_or(JwtError::MissingJti)?)?;

    let signature = decode_segment("signature", signature_b64)?;
    if signature.is_empty() {
        return Err(JwtError::EmptySignature);
    }

    Ok(ParsedJwt {
        kid,
        iat,
        jti,
        signing_input: format!("{header_b64}.{claims_b64}"),
        signature,
    })
}

/// How an unsupported `alg` is shown: a string bare (`HS256`), anything else
/// as JSON.
fn alg_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Finds the first PEM block in `text`: its label and the block itself,
/// from `-----BEGIN` to the end of the matching `-----END` line. Literal `\n`
/// escapes (a PEM pasted out of a JSON string) are turned into newlines.
fn pem_block(text: &str) -> Result<(String, String), JwtError> {
    let text = if text.contains("\\n") && !text.contains('\n') {
        text.replace("\\n", "\n")
    } else {
        text.to_owned()
    };
    let start = text.find("-----BEGIN ").ok_or(JwtError::NotPem)?;
    let after_begin = &text[start + "-----BEGIN ".len()..];
    let label_len = after_begin.find("-----").ok_or(JwtError::NotPem)?;
    let label = after_begin[..label_len].to_owned();
    let end_marker = format!("-----END {label}-----");
    let block = match text[start..].find(&end_marker) {
        Some(end) => text[start..start + end + end_marker.len()].to_owned(),
        None => {
            return Err(JwtError::InvalidKey {
                label,
                reason: format!("no {end_marker} line"),
            });
        }
    };
    Ok((label, block))
}

/// Wraps a decoder error for `label`.
fn invalid_key(label: &str, reason: impl std::fmt::Display) -> JwtError {
    JwtError::InvalidKey {
        label: label.to_owned(),
        reason: reason.to_string(),
    }
}

/// Reads an RSA private key from PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8
/// (`PRIVATE KEY`) PEM.
fn private_key_from_block(label: &str, block: &str) -> Result<RsaPrivateKey, JwtError> {
    match label {
        "RSA PRIVATE KEY" => {
            RsaPrivateKey::from_pkcs1_pem(block).map_err(|e| invalid_key(label, e))
        }
        "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_pem(block).map_err(|e| invalid_key(label, e)),
        "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(JwtError::PublicKeyCannotSign),
        other => Err(JwtError::UnsupportedPem(other.to_owned())),
    }
}

/// Reads the RSA public key configured for a user key.
///
/// Accepts PEM in any of the forms users are likely to paste: a public key
/// as PKCS#8 / SPKI (`-----BEGIN PUBLIC KEY-----`) or PKCS#1
/// (`-----BEGIN RSA PUBLIC KEY-----`), or the private key Gigya handed out,
/// as PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`) or PKCS#8
/// (`-----BEGIN PRIVATE KEY-----`), whose public half is then used. Text
/// around the first PEM block is ignored.
pub fn parse_public_key(pem: &str) -> Result<RsaPublicKey, JwtError> {
    let (label, block) = pem_block(pem)?;
    match label.as_str() {
        "PUBLIC KEY" => {
            RsaPublicKey::from_public_key_pem(&block).map_err(|e| invalid_key(&label, e))
        }
        "RSA PUBLIC KEY" => {
            RsaPublicKey::from_pkcs1_pem(&block).map_err(|e| invalid_key(&label, e))
        }
        _ => private_key_from_block(&label, &block).map(|k| k.to_public_key()),
    }
}

/// Checks the token's RSASSA-PKCS1-v1_5 SHA-256 signature over its signing
/// input, exactly as received, with `key`.
pub fn verify_rs256(jwt: &ParsedJwt, key: &RsaPublicKey) -> Result<(), JwtError> {
    let digest = Sha256::digest(jwt.signing_input.as_bytes());
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &jwt.signature)
        .map_err(|_| JwtError::BadSignature)
}

/// Builds the signing input the SDKs produce: base64url (no padding) of the
/// compact header `{"alg":"RS256","typ":"JWT","kid":<kid>}`, a dot, and
/// base64url of the compact claims `{"iat":<iat>,"jti":<jti>}`.
pub fn signing_input(kid: &str, iat: i64, jti: &str) -> String {
    // Written by hand so the member order is fixed whatever serde_json's
    // map features are; `Value::from(..).to_string()` only quotes and escapes.
    let header = format!(
        r#"{{"alg":"RS256","typ":"JWT","kid":{}}}"#,
        Value::from(kid)
    );
    let claims = format!(r#"{{"iat":{iat},"jti":{}}}"#, Value::from(jti));
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// Mints a compact RS256 bearer token as the Java, PHP and Node SDKs do
/// (base64url without padding), signed with a PKCS#1 or PKCS#8 private key
/// PEM.
pub fn sign_rs256(
    private_key_pem: &str,
    kid: &str,
    iat: i64,
    jti: &str,
) -> Result<String, JwtError> {
    let (label, block) = pem_block(private_key_pem)?;
    let key = private_key_from_block(&label, &block)?;
    let input = signing_input(kid, iat, jti);
    let signature = SigningKey::<Sha256>::new(key)
        .try_sign(input.as_bytes())
        .map_err(|e| JwtError::Signing(e.to_string()))?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/keys/",
                $name
            ))
        };
    }

    const A_PRIVATE_PKCS1: &str = fixture!("test-rsa-a-private-pkcs1.pem");
    const A_PRIVATE_PKCS8: &str = fixture!("test-rsa-a-private-pkcs8.pem");
    const A_PUBLIC_PKCS1: &str = fixture!("test-rsa-a-public-pkcs1.pem");
    const A_PUBLIC_PKCS8: &str = fixture!("test-rsa-a-public-pkcs8.pem");
    const B_PRIVATE_PKCS1: &str = fixture!("test-rsa-b-private-pkcs1.pem");
    const B_PUBLIC_PKCS8: &str = fixture!("test-rsa-b-public-pkcs8.pem");
    /// The §3.6 signing input signed by `openssl dgst -sha256 -sign` with key A.
    const A_FIXED_TOKEN: &str = fixture!("test-rsa-a-fixed-token.jwt");

    const KID: &str = "AMockUserKey1";
    const IAT: i64 = 1_700_000_000;
    const JTI: &str = "5f0c7c1e-1111-4a2b-9c3d-123456789abc";
    const DOC_SIGNING_INPUT: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IkFNb2NrVXNlcktleTEifQ.eyJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjVmMGM3YzFlLTExMTEtNGEyYi05YzNkLTEyMzQ1Njc4OWFiYyJ9";

    fn key_a() -> RsaPublicKey {
        parse_public_key(A_PUBLIC_PKCS8).unwrap()
    }

    /// Signs `input` with a private key PEM using the rsa crate directly,
    /// independently of `sign_rs256`.
    fn raw_sign(private_pem: &str, input: &str) -> Vec<u8> {
        let key = RsaPrivateKey::from_pkcs1_pem(private_pem).unwrap();
        SigningKey::<Sha256>::new(key)
            .sign(input.as_bytes())
            .to_vec()
    }

    /// Builds a token from raw header and claims JSON, signed with key A,
    /// base64url without padding.
    fn token_from_json(header: &str, claims: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let sig = raw_sign(A_PRIVATE_PKCS1, &input);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[test]
    fn signing_input_matches_the_protocol_doc() {
        assert_eq!(signing_input(KID, IAT, JTI), DOC_SIGNING_INPUT);
    }

    #[test]
    fn sign_rs256_matches_openssl() {
        // PKCS#1 v1.5 signatures are deterministic, so the token must equal
        // the one openssl produced for the same input and key.
        let token = sign_rs256(A_PRIVATE_PKCS1, KID, IAT, JTI).unwrap();
        assert_eq!(token, A_FIXED_TOKEN.trim());
        assert_eq!(sign_rs256(A_PRIVATE_PKCS8, KID, IAT, JTI).unwrap(), token);
    }

    #[test]
    fn valid_token_verifies_with_every_key_form() {
        let token = sign_rs256(A_PRIVATE_PKCS1, KID, IAT, JTI).unwrap();
        let jwt = parse_bearer(&token).unwrap();
        assert_eq!(jwt.kid, KID);
        assert_eq!(jwt.iat, IAT);
        assert_eq!(jwt.jti, JTI);
        assert_eq!(jwt.signing_input, DOC_SIGNING_INPUT);
        assert_eq!(jwt.signature.len(), 256);
        for pem in [
            A_PUBLIC_PKCS8,
            A_PUBLIC_PKCS1,
            A_PRIVATE_PKCS1,
            A_PRIVATE_PKCS8,
        ] {
            let key = parse_public_key(pem).unwrap();
            verify_rs256(&jwt, &key).unwrap();
        }
    }

    #[test]
    fn openssl_token_verifies() {
        let jwt = parse_bearer(A_FIXED_TOKEN).unwrap();
        verify_rs256(&jwt, &key_a()).unwrap();
    }

    #[test]
    fn dotnet_style_padded_standard_base64_verifies() {
        let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{KID}"}}"#);
        let claims = format!(r#"{{"iat":{IAT},"jti":"{JTI}"}}"#);
        let input = format!("{}.{}", STANDARD.encode(header), STANDARD.encode(claims));
        // As the doc says, .NET differs from the others by `==` on the header.
        assert_eq!(input, DOC_SIGNING_INPUT.replacen('.', "==.", 1));
        let sig = raw_sign(A_PRIVATE_PKCS1, &input);
        let sig_b64 = STANDARD.encode(&sig);
        assert!(sig_b64.ends_with("=="));
        let token = format!("{input}.{sig_b64}");

        let jwt = parse_bearer(&token).unwrap();
        assert_eq!(jwt.signing_input, input);
        assert_eq!(jwt.signature, sig);
        verify_rs256(&jwt, &key_a()).unwrap();
    }

    #[test]
    fn standard_alphabet_characters_are_accepted() {
        // A kid chosen so that the header's standard Base64 contains `+` and `/`.
        let header = r#"{"alg":"RS256","kid":"~~~???>>>"}"#;
        let encoded = STANDARD.encode(header);
        assert!(encoded.contains('+') && encoded.contains('/'), "{encoded}");
        let claims = STANDARD.encode(r#"{"iat":1,"jti":"j"}"#);
        let input = format!("{encoded}.{claims}");
        let sig = STANDARD.encode(raw_sign(A_PRIVATE_PKCS1, &input));
        let jwt = parse_bearer(&format!("{input}.{sig}")).unwrap();
        assert_eq!(jwt.kid, "~~~???>>>");
        verify_rs256(&jwt, &key_a()).unwrap();
    }

    #[test]
    fn wrong_key_fails() {
        let token = sign_rs256(A_PRIVATE_PKCS1, KID, IAT, JTI).unwrap();
        let jwt = parse_bearer(&token).unwrap();
        let other = parse_public_key(B_PUBLIC_PKCS8).unwrap();
        let err = verify_rs256(&jwt, &other).unwrap_err();
        assert!(matches!(err, JwtError::BadSignature));
        assert_eq!(
            err.to_string(),
            "JWT signature does not verify with the public key"
        );

        // A valid pair that belongs to someone else (the PHP SDK's live test).
        let token_b = sign_rs256(B_PRIVATE_PKCS1, KID, IAT, JTI).unwrap();
        let jwt_b = parse_bearer(&token_b).unwrap();
        assert!(matches!(
            verify_rs256(&jwt_b, &key_a()),
            Err(JwtError::BadSignature)
        ));
    }

    #[test]
    fn tampered_claims_fail() {
        let token = sign_rs256(A_PRIVATE_PKCS1, KID, IAT, JTI).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(format!(r#"{{"iat":{},"jti":"{JTI}"}}"#, IAT + 60));
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        let jwt = parse_bearer(&tampered).unwrap();
        assert_eq!(jwt.iat, IAT + 60);
        assert!(matches!(
            verify_rs256(&jwt, &key_a()),
            Err(JwtError::BadSignature)
        ));

        // Re-encoding the same claims with padding changes the signing input,
        // so it no longer verifies either.
        let padded = format!("{}=.{}.{}", parts[0], parts[1], parts[2]);
        let jwt = parse_bearer(&padded).unwrap();
        assert!(verify_rs256(&jwt, &key_a()).is_err());
    }

    #[test]
    fn segment_count_is_checked() {
        let err = parse_bearer("abc.def").unwrap_err();
        assert_eq!(err.to_string(), "JWT has 2 segments, expected 3");
        let err = parse_bearer("a.b.c.d").unwrap_err();
        assert_eq!(err.to_string(), "JWT has 4 segments, expected 3");
        let err = parse_bearer("opaque-oauth-token").unwrap_err();
        assert_eq!(err.to_string(), "JWT has 1 segments, expected 3");
    }

    #[test]
    fn bad_base64_and_bad_json_are_rejected() {
        let err = parse_bearer("@@@.e30.c2ln").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("JWT header segment is not valid base64"),
            "{err}"
        );
        let not_json = URL_SAFE_NO_PAD.encode("{not json");
        let err = parse_bearer(&format!("{not_json}.e30.c2ln")).unwrap_err();
        assert!(
            err.to_string().starts_with("JWT header is not valid JSON"),
            "{err}"
        );
        let array = URL_SAFE_NO_PAD.encode("[1]");
        let err = parse_bearer(&format!("{array}.e30.c2ln")).unwrap_err();
        assert_eq!(err.to_string(), "JWT header is not a JSON object");

        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k"}"#);
        let err = parse_bearer(&format!("{header}.bm90IGpzb24.c2ln")).unwrap_err();
        assert!(
            err.to_string().starts_with("JWT claims is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn alg_must_be_rs256() {
        let claims = r#"{"iat":1700000000,"jti":"x"}"#;
        let err =
            parse_bearer(&token_from_json(r#"{"alg":"none","kid":"k"}"#, claims)).unwrap_err();
        assert_eq!(err.to_string(), "JWT header alg is none, expected RS256");
        // The classic unsigned form, with an empty signature segment.
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let err = parse_bearer(&unsigned).unwrap_err();
        assert!(matches!(err, JwtError::UnsupportedAlg(ref a) if a == "none"));
        let err =
            parse_bearer(&token_from_json(r#"{"alg":"HS256","kid":"k"}"#, claims)).unwrap_err();
        assert_eq!(err.to_string(), "JWT header alg is HS256, expected RS256");
        let err =
            parse_bearer(&token_from_json(r#"{"alg":"rs256","kid":"k"}"#, claims)).unwrap_err();
        assert_eq!(err.to_string(), "JWT header alg is rs256, expected RS256");
        let err = parse_bearer(&token_from_json(r#"{"kid":"k"}"#, claims)).unwrap_err();
        assert_eq!(err.to_string(), "JWT header has no alg, expected RS256");
    }

    #[test]
    fn kid_is_required() {
        let claims = r#"{"iat":1700000000,"jti":"x"}"#;
        let err =
            parse_bearer(&token_from_json(r#"{"alg":"RS256","typ":"JWT"}"#, claims)).unwrap_err();
        assert_eq!(err.to_string(), "JWT header has no kid (the userKey)");
        let err =
            parse_bearer(&token_from_json(r#"{"alg":"RS256","kid":""}"#, claims)).unwrap_err();
        assert!(matches!(err, JwtError::InvalidKid(_)));
        let err = parse_bearer(&token_from_json(r#"{"alg":"RS256","kid":7}"#, claims)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "JWT header kid is 7, expected a non-empty string (the userKey)"
        );
    }

    #[test]
    fn iat_and_jti_forms() {
        let header = r#"{"alg":"RS256","kid":"k"}"#;
        let parse = |claims: &str| parse_bearer(&token_from_json(header, claims));

        let jwt = parse(r#"{"iat":"1700000000","jti":12345678901234}"#).unwrap();
        assert_eq!(jwt.iat, IAT);
        assert_eq!(jwt.jti, "12345678901234");
        let jwt = parse(r#"{"iat":1700000000.0,"jti":"a"}"#).unwrap();
        assert_eq!(jwt.iat, IAT);

        let err = parse(r#"{"jti":"a"}"#).unwrap_err();
        assert_eq!(err.to_string(), "JWT claims have no iat");
        let err = parse(r#"{"iat":"soon","jti":"a"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"JWT claim iat is "soon", expected integer Unix seconds"#
        );
        assert!(matches!(
            parse(r#"{"iat":1700000000.5,"jti":"a"}"#),
            Err(JwtError::InvalidIat(_))
        ));
        assert!(matches!(
            parse(r#"{"iat":null,"jti":"a"}"#),
            Err(JwtError::InvalidIat(_))
        ));
        let err = parse(r#"{"iat":1700000000}"#).unwrap_err();
        assert_eq!(err.to_string(), "JWT claims have no jti");
        assert!(matches!(
            parse(r#"{"iat":1700000000,"jti":""}"#),
            Err(JwtError::InvalidJti(_))
        ));
        assert!(matches!(
            parse(r#"{"iat":1700000000,"jti":true}"#),
            Err(JwtError::InvalidJti(_))
        ));
    }

    #[test]
    fn empty_signature_is_rejected() {
        let token = sign_rs256(A_PRIVATE_PKCS1, KID, IAT, JTI).unwrap();
        let input = token.rsplit_once('.').unwrap().0;
        let err = parse_bearer(&format!("{input}.")).unwrap_err();
        assert_eq!(err.to_string(), "JWT signature segment is empty");
    }

    #[test]
    fn key_parsing_errors_and_leniency() {
        assert!(matches!(parse_public_key("hello"), Err(JwtError::NotPem)));
        let err =
            parse_public_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err();
        assert!(matches!(err, JwtError::UnsupportedPem(ref l) if l == "CERTIFICATE"));
        let err = parse_public_key(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(matches!(err, JwtError::UnsupportedPem(_)));
        let err = parse_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("RSA key PEM (PUBLIC KEY) could not be read"),
            "{err}"
        );
        let truncated = &A_PUBLIC_PKCS8[..A_PUBLIC_PKCS8.len() - 30];
        assert!(matches!(
            parse_public_key(truncated),
            Err(JwtError::InvalidKey { .. })
        ));

        // Surrounding text, CRLF line ends and JSON-escaped newlines.
        let key = key_a();
        let noisy = format!("userKey AMockUserKey1:\n{A_PUBLIC_PKCS8}\ntrailing words");
        assert_eq!(parse_public_key(&noisy).unwrap(), key);
        let crlf = A_PUBLIC_PKCS8.replace('\n', "\r\n");
        assert_eq!(parse_public_key(&crlf).unwrap(), key);
        let escaped = A_PUBLIC_PKCS8.trim_end().replace('\n', "\\n");
        assert_eq!(parse_public_key(&escaped).unwrap(), key);
    }

    #[test]
    fn signing_needs_a_private_key() {
        let err = sign_rs256(A_PUBLIC_PKCS8, KID, IAT, JTI).unwrap_err();
        assert!(matches!(err, JwtError::PublicKeyCannotSign));
    }

    #[test]
    fn kid_and_jti_are_json_escaped() {
        let input = signing_input("we\"ird", 5, "a\\b");
        let (h, c) = input.split_once('.').unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(h).unwrap(),
            br#"{"alg":"RS256","typ":"JWT","kid":"we\"ird"}"#
        );
        assert_eq!(
            URL_SAFE_NO_PAD.decode(c).unwrap(),
            br#"{"iat":5,"jti":"a\\b"}"#
        );
        let token = sign_rs256(A_PRIVATE_PKCS1, "we\"ird", 5, "a\\b").unwrap();
        let jwt = parse_bearer(&token).unwrap();
        assert_eq!(
            (jwt.kid.as_str(), jwt.iat, jwt.jti.as_str()),
            ("we\"ird", 5, "a\\b")
        );
        verify_rs256(&jwt, &key_a()).unwrap();
    }
}
