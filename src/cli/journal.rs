//! `gigya-mock journal`: print a running server's journal as a table, JSON Lines or HAR, and
//! optionally follow it.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::args::{JournalArgs, JournalFormat};
use super::client::{Admin, Scope};
use crate::journal::entry::shorten;
use crate::journal::{Entry, Stats, har};

/// How often `--follow` asks for new entries.
const POLL: Duration = Duration::from_millis(500);

pub(super) fn run(args: &JournalArgs) -> anyhow::Result<ExitCode> {
    if args.follow && args.format == JournalFormat::Har {
        bail!("--follow works with --format table or json (a HAR file is written once)");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(print(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn print(args: &JournalArgs) -> anyhow::Result<()> {
    let admin = Admin::new(&args.url)?;
    let scope = Scope::parse(&args.filters)?;
    let filter = &scope.filter;
    let start = filter.since_id.unwrap_or(0);
    let (mut entries, stats) = admin.entries_after(start).await?;
    // Following goes on from the newest entry read, whether the filters keep it or not.
    let mut since = entries.last().map_or(stats.last_id, |e| e.id);
    entries.retain(|e| filter.matches(e));
    let mut out = std::io::stdout().lock();
    match args.format {
        JournalFormat::Har => {
            let doc = har::document(entries.iter());
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            return Ok(());
        }
        JournalFormat::Json => json_lines(&mut out, &entries)?,
        JournalFormat::Table => {
            writeln!(out, "{}", header())?;
            for e in &entries {
                writeln!(out, "{}", row(e))?;
            }
            if !args.follow {
                writeln!(out, "{}", footer(entries.len(), &stats))?;
            }
        }
    }
    out.flush()?;
    drop(out);
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(POLL).await;
        let (mut entries, stats) = admin.entries_after(since).await?;
        if stats.last_id < since {
            // Ids only grow: the server was restarted. Start over from its first entry.
            (entries, _) = admin.entries_after(0).await?;
        }
        let Some(last) = entries.last() else {
            since = since.min(stats.last_id);
            continue;
        };
        since = last.id;
        entries.retain(|e| filter.matches(e));
        let mut out = std::io::stdout().lock();
        match args.format {
            JournalFormat::Json => json_lines(&mut out, &entries)?,
            _ => {
                for e in &entries {
                    writeln!(out, "{}", row(e))?;
                }
            }
        }
        out.flush()?;
    }
}

fn json_lines(out: &mut impl std::io::Write, entries: &[Entry]) -> anyhow::Result<()> {
    for e in entries {
        writeln!(out, "{}", serde_json::to_string(e)?)?;
    }
    Ok(())
}

/// Column widths: id, time, HTTP method, call, params, code, answered by; latency last.
const WIDTHS: [usize; 7] = [6, 12, 6, 32, 28, 8, 32];

fn line(cells: [&str; 8]) -> String {
    let [id, time, method, call, params, code, by, latency] = cells;
    let [w_id, w_time, w_method, w_call, w_params, w_code, w_by] = WIDTHS;
    format!(
        "{id:>w_id$}  {time:<w_time$}  {method:<w_method$}  {call:<w_call$}  {params:<w_params$}  {code:<w_code$}  {by:<w_by$}  {latency:>8}",
        id = shorten(id, w_id),
        time = shorten(time, w_time),
        method = shorten(method, w_method),
        call = shorten(call, w_call),
        params = shorten(params, w_params),
        code = shorten(code, w_code),
        by = shorten(by, w_by),
    )
    .trim_end()
    .to_owned()
}

fn header() -> String {
    line([
        "ID",
        "TIME",
        "HTTP",
        "CALL",
        "PARAMS",
        "CODE",
        "ANSWERED BY",
        "MS",
    ])
}

/// One journal line: id, UTC time, HTTP method, Gigya method (or path), key parameters,
/// errorCode (or HTTP status), who answered, latency in ms.
pub(super) fn row(e: &Entry) -> String {
    let time = crate::gigya::envelope::format_time(e.time);
    let time = time.get(11..23).unwrap_or(&time).to_owned();
    let call = e
        .gigya_method
        .clone()
        .unwrap_or_else(|| e.request.path.clone());
    let code = match e.response.error_code {
        Some(c) => c.to_string(),
        None => format!("HTTP {}", e.response.status),
    };
    line([
        &e.id.to_string(),
        &time,
        e.request.method.as_str(),
        &call,
        &e.key_params(WIDTHS[4]),
        &code,
        &e.answered_text(),
        &format!("{:.1}", e.latency_ms()),
    ])
}

fn footer(shown: usize, stats: &Stats) -> String {
    let mut out = format!("{shown} request{}", if shown == 1 { "" } else { "s" });
    if stats.capacity == 0 {
        out.push_str(" (the journal is disabled: --journal-size 0)");
    } else if stats.dropped > 0 {
        out.push_str(&format!(
            " ({} older request{} evicted; the journal keeps {})",
            stats.dropped,
            if stats.dropped == 1 { " was" } else { "s were" },
            stats.capacity
        ));
    }
    out
}
