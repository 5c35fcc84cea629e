//! `gigya-mock verify`: check `expect:` clauses against a running server's journal, print the
//! report, optionally write JUnit XML, and exit 0 (met), 1 (not met) or 2 (could not check).

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use bytes::Bytes;

use super::args::VerifyArgs;
use super::client::{Admin, Scope};
use crate::journal::junit;
use crate::journal::verify::{self, Report};
use crate::scenario;

/// Exit status when verification could not run.
const CANNOT_VERIFY: u8 = 2;

pub(super) fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = match runtime.block_on(report(args)) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(ExitCode::from(CANNOT_VERIFY)),
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(CANNOT_VERIFY));
        }
    };
    {
        let mut out = std::io::stdout().lock();
        out.write_all(report.to_text().as_bytes())?;
        out.flush()?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::render(&report))
            .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
    }
    if report.total == 0 {
        eprintln!(
            "error: no `expect:` clauses to verify ({})",
            if args.scenarios.is_empty() {
                "the server's scenario files have none; pass --scenarios to read others"
            } else {
                "the --scenarios files have none"
            }
        );
        return Ok(ExitCode::from(CANNOT_VERIFY));
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The report, or `None` after printing why the scenario files cannot be used.
async fn report(args: &VerifyArgs) -> anyhow::Result<Option<Report>> {
    let admin = Admin::new(&args.url)?;
    let scope = Scope::parse(&args.filters)?;
    if args.scenarios.is_empty() {
        let query = scope.query();
        let path = if query.is_empty() {
            "/__admin/verify".to_owned()
        } else {
            format!("/__admin/verify?{query}")
        };
        let answer = admin.call(http::Method::POST, &path, Bytes::new()).await?;
        if !answer.status.is_success() {
            bail!(
                "POST /__admin/verify answered {}: {}",
                answer.status,
                answer.error_text()
            );
        }
        let report: Report = serde_json::from_slice(&answer.body)
            .context("POST /__admin/verify did not answer with a report")?;
        return Ok(Some(report));
    }
    let set = match scenario::load_paths(&args.scenarios) {
        Ok(set) => set,
        Err(e) => {
            for p in &e.problems {
                eprintln!("{p}");
            }
            eprintln!(
                "error: {} problem(s) in the scenarios; nothing verified",
                e.problems.len()
            );
            return Ok(None);
        }
    };
    let filter = &scope.filter;
    let (entries, stats) = admin.entries_after(filter.since_id.unwrap_or(0)).await?;
    if stats.capacity == 0 {
        bail!(
            "the server's journal is disabled (--journal-size 0): there is nothing to verify against"
        );
    }
    let entries: Vec<Arc<_>> = entries
        .into_iter()
        .filter(|e| filter.matches(e))
        .map(Arc::new)
        .collect();
    let mut report = verify::evaluate(
        &set.expectations,
        &set,
        &entries,
        filter.dropped_in_scope(&stats),
    );
    report.scope = scope.describe();
    Ok(Some(report))
}
