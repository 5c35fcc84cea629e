//! Field-level checks on account input: the types and ranges of `profile` fields, email
//! addresses and E.164 phone numbers.

use serde_json::{Map, Value};

use crate::emulator::ValidationItem;
use crate::gigya::catalog::codes;

/// `profile` fields holding text.
const PROFILE_STRINGS: &[&str] = &[
    "firstName",
    "lastName",
    "nickname",
    "email",
    "photoURL",
    "thumbnailURL",
    "profileURL",
    "city",
    "state",
    "country",
    "zip",
    "address",
    "bio",
    "locale",
    "timezone",
    "name",
    "username",
    "hometown",
    "industry",
    "honors",
    "religion",
    "politicalView",
    "professionalHeadline",
    "relationshipStatus",
    "specialties",
    "educationLevel",
    "interestedIn",
    "languages",
    "proxiedEmail",
];

/// `profile` fields holding integers, with their ranges.
const PROFILE_INTEGERS: &[(&str, i64, i64)] = &[
    ("age", 0, 200),
    ("birthDay", 1, 31),
    ("birthMonth", 1, 12),
    ("birthYear", 1800, 9999),
    ("followersCount", 0, i64::MAX),
    ("followingCount", 0, i64::MAX),
];

pub(super) fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

pub(super) fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Type and format checks on a `profile` update.
pub(super) fn check_profile(profile: &Map<String, Value>, items: &mut Vec<ValidationItem>) {
    for (k, v) in profile {
        if v.is_null() {
            continue;
        }
        let field = format!("profile.{k}");
        if PROFILE_STRINGS.contains(&k.as_str()) && !v.is_string() {
            items.push(ValidationItem::new(
                codes::INVALID_TYPE,
                field.clone(),
                "invalid type: expected a string",
            ));
            continue;
        }
        if let Some((_, lo, hi)) = PROFILE_INTEGERS.iter().find(|(n, ..)| n == k) {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                None => items.push(ValidationItem::new(
                    codes::INVALID_TYPE,
                    field,
                    "invalid type: expected an integer",
                )),
                Some(n) if n < *lo || n > *hi => items.push(ValidationItem::new(
                    codes::INVALID_FORMAT,
                    field,
                    format!("value {n} is out of range ({lo} to {hi})"),
                )),
                Some(_) => {}
            }
            continue;
        }
        match (k.as_str(), v.as_str()) {
            ("gender", Some(g)) if !matches!(g, "m" | "f" | "u" | "") => {
                items.push(ValidationItem::new(
                    codes::INVALID_FORMAT,
                    field,
                    "invalid format: gender is m, f or u",
                ));
            }
            ("gender", None) => items.push(ValidationItem::new(
                codes::INVALID_TYPE,
                field,
                "invalid type: expected a string",
            )),
            ("email", Some(e)) if !e.is_empty() && !is_email(e) => {
                items.push(ValidationItem::new(
                    codes::INVALID_FORMAT,
                    field,
                    "invalid format: not an email address",
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn emails_and_phone_numbers() {
        assert!(is_email("a@b.test"));
        assert!(!is_email("a b@c"));
        assert!(!is_email("@c"));
        assert!(!is_email("a@b@c"));
        assert!(is_e164("+15551234567"));
        assert!(!is_e164("15551234567"));
        assert!(!is_e164("+0555"));
    }

    #[test]
    fn profile_checks_report_every_field() {
        let p = json!({"age": "x", "birthMonth": 13, "gender": "q", "email": "nope", "firstName": 3, "zip": null, "age2": 1});
        let mut items = Vec::new();
        check_profile(p.as_object().unwrap(), &mut items);
        let fields: Vec<&str> = items.iter().map(|i| i.field_name.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "profile.age",
                "profile.birthMonth",
                "profile.gender",
                "profile.email",
                "profile.firstName"
            ]
        );
    }
}
