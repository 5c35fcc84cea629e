//! JUnit XML for CI dashboards: one test case per expectation, failures with the full text.
//!
//! The output carries no times or host names, so it is stable enough to snapshot.

use std::fmt::Write as _;

use super::verify::{Report, Verdict};

/// The report as a JUnit XML document.
#[must_use]
pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"gigya-mock verify\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
        report.total, report.failed
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"gigya-mock expectations\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
        report.total, report.failed
    );
    out.push_str("    <properties>\n");
    let _ = writeln!(
        out,
        "      <property name=\"journal.entries\" value=\"{}\"/>",
        report.entries
    );
    let _ = writeln!(
        out,
        "      <property name=\"journal.dropped\" value=\"{}\"/>",
        report.dropped
    );
    out.push_str("    </properties>\n");
    for v in &report.results {
        testcase(&mut out, v);
    }
    if let Some(w) = &report.warning {
        let _ = writeln!(
            out,
            "    <system-err>warning: {}</system-err>",
            escape_text(w)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The file part of `file:line:col`.
fn classname(location: Option<&str>) -> &str {
    let Some(loc) = location else {
        return "gigya-mock";
    };
    let mut parts = loc.rsplitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(col), Some(line), Some(file))
            if col.bytes().all(|b| b.is_ascii_digit())
                && line.bytes().all(|b| b.is_ascii_digit()) =>
        {
            file
        }
        _ => loc,
    }
}

fn testcase(out: &mut String, v: &Verdict) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\"",
        escape(&v.name),
        escape(classname(v.location.as_deref()))
    );
    if v.passed {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    let mut text = String::new();
    if let Some(loc) = &v.location {
        let _ = writeln!(text, "at {loc}");
    }
    let _ = writeln!(text, "check:    {}", v.description);
    let _ = writeln!(text, "expected: {}", v.expected);
    let _ = writeln!(text, "arrived:  {}", v.actual);
    if !v.closest.is_empty() {
        text.push_str("closest calls:\n");
        for c in &v.closest {
            let _ = writeln!(text, "  #{} {}", c.id, c.call);
            for d in &c.differences {
                let _ = writeln!(text, "    - {d}");
            }
        }
    }
    if !v.extra.is_empty() {
        text.push_str("calls that counted:\n");
        for c in &v.extra {
            let _ = writeln!(text, "  + #{} {}", c.id, c.call);
        }
    }
    if !v.reliable {
        text.push_str("(unreliable: the journal evicted entries)\n");
    }
    let _ = writeln!(
        out,
        "      <failure message=\"expected {}; arrived: {}\" type=\"expectation not met\">{}</failure>",
        escape(&v.expected),
        escape(&v.actual),
        escape_text(&text)
    );
    out.push_str("    </testcase>\n");
}

/// Escapes element content (quotes and line breaks kept as they are).
fn escape_text(s: &str) -> String {
    escape_as(s, false)
}

/// Escapes text for XML attributes (quotes and line breaks as references).
fn escape(s: &str) -> String {
    escape_as(s, true)
}

/// Escapes markup characters; drops characters XML 1.0 cannot carry.
fn escape_as(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' | '\t' | '\r' if attribute => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\n' | '\t' | '\r' | '"' | '\'' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_classnames() {
        assert_eq!(
            escape("a<b & \"c\"\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot;&#10;"
        );
        assert_eq!(classname(Some("scenarios/a.yaml:12:5")), "scenarios/a.yaml");
        assert_eq!(classname(Some("C:/x.yaml:1:2")), "C:/x.yaml");
        assert_eq!(classname(Some("weird")), "weird");
        assert_eq!(classname(None), "gigya-mock");
    }
}
