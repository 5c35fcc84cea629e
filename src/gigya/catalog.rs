//! The one catalogue of Gigya error codes: code → `errorMessage`, `statusCode`, `statusReason`.
//!
//! The table itself (`catalog_table.rs`) is data; this file owns lookups and the rule for codes
//! that are not in the table (`statusCode = errorCode / 1000`, `200` for success-class codes).
//! Every numeric code the server produces on its own is named once, in [`codes`].

/// What the catalogue knows about one error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The `errorCode` value.
    pub code: u32,
    /// The `errorMessage` text (empty for `0`).
    pub message: &'static str,
    /// The `statusCode` value.
    pub status_code: u16,
    /// The `statusReason` text.
    pub status_reason: &'static str,
}

impl ErrorInfo {
    const fn new(
        code: u32,
        message: &'static str,
        status_code: u16,
        status_reason: &'static str,
    ) -> Self {
        Self {
            code,
            message,
            status_code,
            status_reason,
        }
    }
}

include!("catalog_table.rs");

/// Error codes the server produces itself.
pub mod codes {
    /// Success.
    pub const OK: u32 = 0;
    /// `conflictHandling=saveProfileAndFail`: saved, but a login identifier was taken.
    pub const OK_LOGIN_ID_EXISTS: u32 = 200010;
    /// Malformed request (bad encoding, unsupported HTTP method, HTTPS-only parameter over HTTP).
    pub const INVALID_REQUEST_FORMAT: u32 = 400001;
    /// A required parameter is missing.
    pub const MISSING_PARAMETER: u32 = 400002;
    /// A parameter value has the wrong format.
    pub const INVALID_PARAMETER_FORMAT: u32 = 400004;
    /// A parameter value is invalid (bad JSON, bad enum value, unknown regToken).
    pub const INVALID_PARAMETER_VALUE: u32 = 400006;
    /// A JWT bearer credential failed verification.
    pub const INVALID_AUTH_HEADER: u32 = 400008;
    /// Container code for `validationErrors`.
    pub const VALIDATION_ERROR: u32 = 400009;
    /// `validationErrors` item: a value of the wrong type.
    pub const INVALID_TYPE: u32 = 400023;
    /// `validationErrors` item: a field a strict schema does not allow.
    pub const DYNAMIC_FIELDS: u32 = 400024;
    /// `validationErrors` item: a field the caller may not write.
    pub const WRITE_ACCESS: u32 = 400025;
    /// `validationErrors` item: a value in the wrong format.
    pub const INVALID_FORMAT: u32 = 400026;
    /// Missing or unknown API key.
    pub const INVALID_API_KEY: u32 = 400093;
    /// Timestamp outside the accepted window.
    pub const REQUEST_EXPIRED: u32 = 403002;
    /// Signature mismatch.
    pub const INVALID_SIGNATURE: u32 = 403003;
    /// Nonce already used.
    pub const DUPLICATE_NONCE: u32 = 403004;
    /// Unknown userKey or unknown user.
    pub const UNAUTHORIZED_USER: u32 = 403005;
    /// A secret sent in clear over plain HTTP.
    pub const SECRET_OVER_HTTP: u32 = 403006;
    /// Unknown method or no permission.
    pub const PERMISSION_DENIED: u32 = 403007;
    /// Wrong secret.
    pub const INVALID_SECRET: u32 = 403010;
    /// An OAuth access token that is not valid.
    pub const INVALID_TOKEN: u32 = 403025;
    /// Wrong login ID or password.
    pub const INVALID_LOGIN_ID: u32 = 403042;
    /// A login identifier already used by another account.
    pub const LOGIN_ID_EXISTS: u32 = 403043;
    /// Request body larger than the configured cap.
    pub const ENTITY_TOO_LARGE: u32 = 413001;
    /// Generic server failure.
    pub const GENERAL_SERVER_ERROR: u32 = 500001;
    /// Network error (gigya-mock: the upstream could not be reached).
    pub const NETWORK_ERROR: u32 = 500026;
    /// Server-side timeout (gigya-mock: the upstream did not answer in time).
    pub const TIMEOUT: u32 = 504001;
}

/// Looks a code up in the catalogue.
#[must_use]
pub fn lookup(code: u32) -> Option<&'static ErrorInfo> {
    CATALOG
        .binary_search_by_key(&code, |info| info.code)
        .ok()
        .and_then(|i| CATALOG.get(i))
}

/// Describes any code: the catalogue entry, or the protocol's rule for codes the table lacks
/// (`statusCode = code / 1000`, success-class codes map to 200, an empty message).
#[must_use]
pub fn describe(code: u32) -> ErrorInfo {
    if let Some(info) = lookup(code) {
        return *info;
    }
    let status = status_for_code(code);
    ErrorInfo {
        code,
        message: "",
        status_code: status,
        status_reason: reason_phrase(status),
    }
}

/// Whether a code belongs to the catalogue.
#[must_use]
pub fn is_known(code: u32) -> bool {
    lookup(code).is_some()
}

fn status_for_code(code: u32) -> u16 {
    if code == 0 || (200_000..201_000).contains(&code) {
        return 200;
    }
    u16::try_from(code / 1000).unwrap_or(500)
}

/// The standard reason phrase for an HTTP-like status code.
#[must_use]
pub fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(CATALOG.windows(2).all(|w| w[0].code < w[1].code));
        assert!(CATALOG.len() > 100);
    }

    #[test]
    fn known_codes_carry_their_message_and_status() {
        let info = describe(400093);
        assert_eq!(info.message, "Invalid ApiKey parameter");
        assert_eq!(info.status_code, 400);
        assert_eq!(info.status_reason, "Bad Request");
        assert_eq!(describe(206001).status_reason, "Partial Content");
        assert_eq!(describe(0).status_code, 200);
        assert_eq!(describe(0).message, "");
        assert_eq!(describe(403048).message, "Api rate limit exceeded");
    }

    #[test]
    fn unknown_codes_follow_the_div_1000_rule() {
        let info = describe(401999);
        assert_eq!(info.status_code, 401);
        assert_eq!(info.status_reason, "Unauthorized");
        assert_eq!(info.message, "");
        assert_eq!(describe(200777).status_code, 200);
        assert!(!is_known(401999));
    }

    #[test]
    fn every_server_code_is_in_the_catalogue() {
        for code in [
            codes::INVALID_REQUEST_FORMAT,
            codes::MISSING_PARAMETER,
            codes::INVALID_PARAMETER_FORMAT,
            codes::INVALID_PARAMETER_VALUE,
            codes::INVALID_AUTH_HEADER,
            codes::VALIDATION_ERROR,
            codes::INVALID_API_KEY,
            codes::REQUEST_EXPIRED,
            codes::INVALID_SIGNATURE,
            codes::DUPLICATE_NONCE,
            codes::UNAUTHORIZED_USER,
            codes::SECRET_OVER_HTTP,
            codes::PERMISSION_DENIED,
            codes::INVALID_SECRET,
            codes::OK_LOGIN_ID_EXISTS,
            codes::INVALID_TYPE,
            codes::DYNAMIC_FIELDS,
            codes::WRITE_ACCESS,
            codes::INVALID_FORMAT,
            codes::INVALID_TOKEN,
            codes::INVALID_LOGIN_ID,
            codes::LOGIN_ID_EXISTS,
            codes::ENTITY_TOO_LARGE,
            codes::GENERAL_SERVER_ERROR,
        ] {
            assert!(is_known(code), "{code} missing");
        }
    }
}
