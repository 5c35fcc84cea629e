//! Command-line arguments (clap derive), each flag with a `GIGYA_MOCK_*` environment variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::gigya::params::ConflictPolicy;
use crate::record::Layout;
use crate::server::upstream::Upstream;
use crate::server::{ServerConfig, TlsCertificate, TlsListener};

const EXAMPLES: &str = "\
Examples:
  gigya-mock serve --scenarios scenarios
  gigya-mock serve -s stubs/ -s extra.yaml --port 0
  gigya-mock serve --scenarios scenarios --watch
  GIGYA_MOCK_PORT=9000 gigya-mock serve --scenarios scenarios
  gigya-mock validate scenarios/
  gigya-mock schema > gigya-mock.schema.json
  gigya-mock journal --url http://127.0.0.1:8080 --follow
  gigya-mock verify --url http://127.0.0.1:8080 --junit gigya-mock.xml

  curl -s http://127.0.0.1:8080/accounts.getAccountInfo \\
       -d apiKey=3_mockApiKey -d secret=bW9jay1naWd5YS1wYXJ0bmVyLXNlY3JldC0wMDAx -d UID=u-100";

/// A local stand-in for the Gigya (SAP Customer Data Cloud) REST API.
#[derive(Debug, Parser)]
#[command(name = "gigya-mock", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log filter for stderr: a level (error, warn, info, debug, trace) or tracing directives.
    #[arg(
        long,
        global = true,
        env = "GIGYA_MOCK_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,
    /// Log line format.
    #[arg(long, global = true, env = "GIGYA_MOCK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Log line formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Gigya API from scenario files.
    #[command(
        after_help = "The first line on stdout is `listening on http://<ip>:<port>`.\n\nExample:\n  gigya-mock serve --scenarios scenarios --port 0"
    )]
    Serve(Box<ServeArgs>),
    /// Check scenario files and report every problem as path:line:col: message.
    #[command(
        after_help = "Exit status: 0 when every file is valid, 1 otherwise.\n\nExample:\n  gigya-mock validate scenarios/ extra.yaml"
    )]
    Validate(ValidateArgs),
    /// Print the JSON Schema of the scenario file format.
    Schema,
    /// Check `expect:` clauses against a running server's journal.
    #[command(
        after_help = "Without --scenarios the server checks the expectations of the files it loaded; with\n--scenarios they are read here and checked against the server's journal.\n\nExit status: 0 when every expectation is met, 1 when one is not, 2 when verification\ncould not run (server unreachable, invalid files, no expectations).\n\nExample:\n  gigya-mock verify --url http://127.0.0.1:8080 --junit target/gigya-mock.xml"
    )]
    Verify(VerifyArgs),
    /// Print a running server's journal of requests.
    #[command(
        after_help = "Secrets (secret, sig, passwords, tokens, Authorization) appear as [REDACTED].\n\nExamples:\n  gigya-mock journal --url http://127.0.0.1:8080\n  gigya-mock journal --follow\n  gigya-mock journal --format har > traffic.har"
    )]
    Journal(JournalArgs),
    /// Show or export the local CA certificate that HTTPS interception and --tls use.
    #[command(
        after_help = "Examples:\n  gigya-mock ca --print-path\n  gigya-mock ca --export gigya-mock-ca.pem\n  NODE_EXTRA_CA_CERTS=$(gigya-mock ca --print-path) node app.js"
    )]
    Ca(CaArgs),
    /// Record a session with the real service as scenario files: a proxy that forwards every
    /// call upstream, returns the answer unchanged and writes a stub for it.
    #[command(
        after_help = "Secrets and volatile parameters (secret, sig, nonce, timestamp, userKey, tokens,\npasswords, Authorization) are never written. Every call rewrites its file atomically, so\nthe files are valid whenever the recording stops (Ctrl-C ends it). Replay with\n`gigya-mock serve --scenarios <out>`.\n\nExamples:\n  gigya-mock record --upstream gigya:us1 --out recordings --port 8080\n  gigya-mock record --upstream http://127.0.0.1:9000 --out rec --methods 'accounts.*'\n  gigya-mock record --upstream http://127.0.0.1:9000 --out rec --redact profile.email"
    )]
    Record(Box<RecordArgs>),
}

/// How `record` spreads stubs over files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// `<out>/<method>.yaml` for each Gigya method.
    PerMethod,
    /// `<out>/session-<UTC time>.yaml` for the whole recording.
    PerSession,
}

impl From<LayoutArg> for Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::PerMethod => Layout::PerMethod,
            LayoutArg::PerSession => Layout::PerSession,
        }
    }
}

/// `record` arguments.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where calls go: a base URL (http://127.0.0.1:9000; the path is kept) or
    /// gigya:<data-center> (https://<namespace>.<data-center>.gigya.com).
    #[arg(long, env = "GIGYA_MOCK_UPSTREAM", value_name = "UPSTREAM")]
    pub upstream: Upstream,
    /// Directory for the recorded scenario files (created when missing).
    #[arg(short, long, env = "GIGYA_MOCK_OUT")]
    pub out: PathBuf,
    /// TCP port; 0 picks a free one.
    #[arg(short, long, env = "GIGYA_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "GIGYA_MOCK_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Gigya methods to record, comma-separated; `*` is a wildcard (accounts.*). Other calls
    /// are forwarded but not recorded. Default: every method.
    #[arg(long, env = "GIGYA_MOCK_METHODS", value_delimiter = ',')]
    pub methods: Vec<String>,
    /// One file per Gigya method, or one for the whole session.
    #[arg(long, env = "GIGYA_MOCK_LAYOUT", value_enum, default_value_t = LayoutArg::PerMethod)]
    pub layout: LayoutArg,
    /// Also hide this parameter (loginID) or field of a JSON parameter and of answers
    /// (profile.email): matched as present, replaced by a stable placeholder in answers.
    /// Repeat or separate with commas.
    #[arg(long, env = "GIGYA_MOCK_REDACT", value_delimiter = ',')]
    pub redact: Vec<String>,
    /// Write each answer's recorded `time` into the stub (replays then answer with it);
    /// without it, replays write the current time.
    #[arg(long, env = "GIGYA_MOCK_KEEP_TIME")]
    pub keep_time: bool,
    /// How long the upstream has to answer a call.
    #[arg(long, env = "GIGYA_MOCK_UPSTREAM_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,
    /// Largest accepted request body (e.g. 1MiB, 512KiB, 65536).
    #[arg(long, env = "GIGYA_MOCK_MAX_BODY", default_value = "1MiB", value_parser = parse_size)]
    pub max_body: usize,
}

/// `ca` arguments.
#[derive(Debug, Args)]
pub struct CaArgs {
    /// Print the path of the CA certificate (creating the CA if needed).
    #[arg(long, env = "GIGYA_MOCK_CA_PRINT_PATH")]
    pub print_path: bool,
    /// Write the CA certificate (PEM) to this file; `-` for stdout.
    #[arg(long, env = "GIGYA_MOCK_CA_EXPORT")]
    pub export: Option<PathBuf>,
    /// Directory for the local CA.
    #[arg(long, env = "GIGYA_MOCK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The default address of a running server.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// `verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Base URL of the running server (its admin port when it has one).
    #[arg(long, env = "GIGYA_MOCK_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// Read expectations from these scenario files or directories instead of the server's.
    #[arg(
        short = 's',
        long = "scenarios",
        env = "GIGYA_MOCK_SCENARIOS",
        value_delimiter = ','
    )]
    pub scenarios: Vec<PathBuf>,
    /// Also write the result as JUnit XML to this file.
    #[arg(long, env = "GIGYA_MOCK_JUNIT")]
    pub junit: Option<PathBuf>,
    /// Count only the journal entries this filter selects: `header.<name>=…`,
    /// `param.<name>=…`, `method=…`, `stub=…`, `unmatched=…`, `since=<id or time>`. Repeat it
    /// (or join filters with `&`) to combine them; every one must hold.
    #[arg(
        long = "filter",
        value_name = "KEY=VALUE",
        env = "GIGYA_MOCK_VERIFY_FILTER",
        value_delimiter = '&'
    )]
    pub filters: Vec<String>,
}

/// How `journal` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JournalFormat {
    /// An aligned table, one request per line.
    Table,
    /// One JSON object per line (JSON Lines).
    Json,
    /// A HAR 1.2 document.
    Har,
}

/// `journal` arguments.
#[derive(Debug, Args)]
pub struct JournalArgs {
    /// Base URL of the running server (its admin port when it has one).
    #[arg(long, env = "GIGYA_MOCK_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// Output format.
    #[arg(long, env = "GIGYA_MOCK_JOURNAL_FORMAT", value_enum, default_value_t = JournalFormat::Table)]
    pub format: JournalFormat,
    /// Keep printing new requests as they arrive (table and json formats).
    #[arg(short, long, env = "GIGYA_MOCK_FOLLOW")]
    pub follow: bool,
    /// Print only the entries this filter selects (the same filters as `verify --filter`).
    /// Repeat it (or join filters with `&`) to combine them.
    #[arg(
        long = "filter",
        value_name = "KEY=VALUE",
        env = "GIGYA_MOCK_JOURNAL_FILTER",
        value_delimiter = '&'
    )]
    pub filters: Vec<String>,
}

/// `validate` arguments.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files or directories (searched recursively for .yaml, .yml and .json).
    #[arg(required = true, env = "GIGYA_MOCK_SCENARIOS", value_delimiter = ',')]
    pub paths: Vec<PathBuf>,
}

/// What to do with a parameter sent in both the query string and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParamConflict {
    /// The body value is used.
    Body,
    /// The query value is used.
    Query,
    /// The request is rejected with 400001.
    Reject,
}

impl From<ParamConflict> for ConflictPolicy {
    fn from(p: ParamConflict) -> Self {
        match p {
            ParamConflict::Body => ConflictPolicy::BodyWins,
            ParamConflict::Query => ConflictPolicy::QueryWins,
            ParamConflict::Reject => ConflictPolicy::Reject,
        }
    }
}

/// `serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Scenario files or directories; repeat the flag or separate with commas.
    #[arg(
        short = 's',
        long = "scenarios",
        env = "GIGYA_MOCK_SCENARIOS",
        value_delimiter = ','
    )]
    pub scenarios: Vec<PathBuf>,
    /// TCP port; 0 picks a free one.
    #[arg(short, long, env = "GIGYA_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "GIGYA_MOCK_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Largest accepted request body (e.g. 1MiB, 512KiB, 65536).
    #[arg(long, env = "GIGYA_MOCK_MAX_BODY", default_value = "1MiB", value_parser = parse_size)]
    pub max_body: usize,
    /// Most connections open at once.
    #[arg(long, env = "GIGYA_MOCK_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Time a client has to send request headers (e.g. 10s, 500ms).
    #[arg(long, env = "GIGYA_MOCK_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// Time a client has to send the request body.
    #[arg(long, env = "GIGYA_MOCK_BODY_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    #[arg(long, env = "GIGYA_MOCK_SHUTDOWN_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Gigya error code for calls no stub (and no emulated method) answers.
    #[arg(long, env = "GIGYA_MOCK_UNMATCHED_CODE", default_value_t = 403007)]
    pub unmatched_code: u32,
    /// Which value wins when a parameter is in both the query string and the body.
    #[arg(long, env = "GIGYA_MOCK_PARAM_CONFLICT", value_enum, default_value_t = ParamConflict::Body)]
    pub param_conflict: ParamConflict,
    /// Content-Type of JSON answers.
    #[arg(long, env = "GIGYA_MOCK_CONTENT_TYPE", default_value = crate::gigya::envelope::JSON_CONTENT_TYPE)]
    pub content_type: String,
    /// Do not send the `x-callid` response header.
    #[arg(long, env = "GIGYA_MOCK_NO_X_CALLID")]
    pub no_x_callid: bool,
    /// Also serve HTTPS on --tls-port, with a certificate from the local CA (or --tls-cert).
    #[arg(long, env = "GIGYA_MOCK_TLS")]
    pub tls: bool,
    /// Port of the HTTPS listener; 0 picks a free one.
    #[arg(long, env = "GIGYA_MOCK_TLS_PORT", default_value_t = 8443)]
    pub tls_port: u16,
    /// Certificate chain (PEM) for the HTTPS listener instead of one from the local CA.
    #[arg(long, env = "GIGYA_MOCK_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, env = "GIGYA_MOCK_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Directory for the local CA (default: $XDG_DATA_HOME/gigya-mock or ~/.local/share/gigya-mock).
    #[arg(long, env = "GIGYA_MOCK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Hosts whose CONNECT tunnels are intercepted and served (comma-separated; `*.` = any subdomain).
    #[arg(long, env = "GIGYA_MOCK_INTERCEPT_HOSTS", default_value = crate::server::tls::DEFAULT_INTERCEPT)]
    pub intercept_hosts: String,
    /// Tunnel CONNECT requests for other hosts to their real destination instead of refusing them.
    #[arg(long, env = "GIGYA_MOCK_CONNECT_PASSTHROUGH")]
    pub connect_passthrough: bool,
    /// Reload the scenarios when their files change (an invalid edit keeps the last good set).
    #[arg(long, env = "GIGYA_MOCK_WATCH", requires = "scenarios")]
    pub watch: bool,
    /// Quiet period after the last file change before --watch reloads (e.g. 200ms).
    #[arg(long, env = "GIGYA_MOCK_WATCH_DEBOUNCE", default_value = "200ms", value_parser = parse_duration)]
    pub watch_debounce: Duration,
    /// Shift the mock's clock (e.g. 90s, -2m) to test clients' clock-skew handling.
    #[arg(long, env = "GIGYA_MOCK_CLOCK_SKEW", default_value = "0s", value_parser = parse_signed_duration, allow_hyphen_values = true)]
    pub clock_skew: i64,
    /// Emulator: accepted distance between a signed request's timestamp (or a JWT's iat) and
    /// the mock's clock; nonces are remembered for twice this long.
    #[arg(long, env = "GIGYA_MOCK_TIMESTAMP_WINDOW", default_value = "120s", value_parser = parse_duration)]
    pub timestamp_window: Duration,
    /// Emulator: most nonces and JWT ids remembered at once (the oldest is forgotten first).
    #[arg(long, env = "GIGYA_MOCK_MAX_NONCES", default_value_t = 100_000)]
    pub max_nonces: usize,
    /// Emulator: most live registration tokens per site (the oldest is dropped first).
    #[arg(long, env = "GIGYA_MOCK_MAX_REG_TOKENS", default_value_t = 10_000)]
    pub max_reg_tokens: usize,
    /// Emulator: most accounts per site that calls may create (through registration tokens).
    #[arg(long, env = "GIGYA_MOCK_MAX_ACCOUNTS", default_value_t = 100_000)]
    pub max_accounts: usize,
    /// Requests kept in the journal (oldest evicted first); 0 disables it.
    #[arg(long, env = "GIGYA_MOCK_JOURNAL_SIZE", default_value_t = crate::journal::DEFAULT_CAPACITY)]
    pub journal_size: usize,
    /// Bytes kept of each request and response body in the journal (e.g. 64KiB).
    #[arg(long, env = "GIGYA_MOCK_JOURNAL_BODY_LIMIT", default_value = "64KiB", value_parser = parse_size)]
    pub journal_body_limit: usize,
    /// Serve the admin API (/__admin) on this port instead of the main one; the main port
    /// then treats /__admin paths as ordinary Gigya calls.
    #[arg(long, env = "GIGYA_MOCK_ADMIN_PORT")]
    pub admin_port: Option<u16>,
    /// Forward calls no stub answers to this server (a base URL such as
    /// https://gateway.example.com, or gigya:<data-center> for the host each call's namespace
    /// implies) and return its answers unchanged; the journal marks them proxied.
    #[arg(long, env = "GIGYA_MOCK_PROXY_UNMATCHED", value_name = "UPSTREAM")]
    pub proxy_unmatched: Option<Upstream>,
    /// How long the upstream has to answer a forwarded call.
    #[arg(long, env = "GIGYA_MOCK_UPSTREAM_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub upstream_timeout: Duration,
}

impl ServeArgs {
    /// The server limits these arguments ask for.
    #[must_use]
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            bind: self.bind,
            port: self.port,
            max_body: self.max_body,
            max_connections: self.max_connections,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            shutdown_timeout: self.shutdown_timeout,
            tls: self.tls.then(|| TlsListener {
                port: self.tls_port,
                certificate: match (&self.tls_cert, &self.tls_key) {
                    (Some(cert), Some(key)) => TlsCertificate::Files {
                        cert: cert.clone(),
                        key: key.clone(),
                    },
                    _ => TlsCertificate::LocalCa,
                },
            }),
            data_dir: self
                .data_dir
                .clone()
                .unwrap_or_else(crate::server::tls::default_data_dir),
            intercept_hosts: crate::server::tls::HostPatterns::parse(&self.intercept_hosts),
            connect_passthrough: self.connect_passthrough,
            admin_port: self.admin_port,
            upstream: self
                .proxy_unmatched
                .clone()
                .map(|u| u.with_timeout(self.upstream_timeout)),
            recorder: None,
        }
    }

    /// The emulator settings these arguments ask for.
    #[must_use]
    pub fn emulator_config(&self) -> crate::emulator::EmulatorConfig {
        crate::emulator::EmulatorConfig {
            auth: crate::emulator::AuthConfig {
                timestamp_window: self.timestamp_window,
                max_nonces: self.max_nonces.max(1),
            },
            max_reg_tokens: self.max_reg_tokens.max(1),
            max_accounts: self.max_accounts.max(1),
        }
    }

    /// The journal limits these arguments ask for.
    #[must_use]
    pub fn journal_config(&self) -> crate::journal::JournalConfig {
        crate::journal::JournalConfig {
            capacity: self.journal_size,
            body_limit: self.journal_body_limit,
        }
    }

    /// The clock skew in milliseconds.
    #[must_use]
    pub fn clock_skew_ms(&self) -> i64 {
        self.clock_skew
    }
}

/// Parses `1MiB`, `512KiB`, `64KB`, `65536`.
///
/// # Errors
/// Unknown units, overflow.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 1MiB or 65536"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1024,
        "kb" => 1000,
        "m" | "mib" => 1024 * 1024,
        "mb" => 1_000_000,
        "g" | "gib" => 1024 * 1024 * 1024,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "unknown size unit {other:?}; use B, KiB, MiB or GiB"
            ));
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Parses `10s`, `500ms`, `2m`, `1h`; a bare number is seconds.
///
/// # Errors
/// Unknown units.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let ms = parse_signed_duration(s)?;
    if ms < 0 {
        return Err(format!("{s:?} must not be negative"));
    }
    Ok(Duration::from_millis(ms.unsigned_abs()))
}

/// Parses a possibly negative duration into milliseconds.
///
/// # Errors
/// Unknown units.
pub fn parse_signed_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 10s or 500ms"))?;
    let mult = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => {
            return Err(format!(
                "unknown duration unit {other:?}; use ms, s, m or h"
            ));
        }
    };
    let ms = n
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    Ok(if neg { -ms } else { ms })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Ok(1024 * 1024));
        assert_eq!(parse_size("64KB"), Ok(64_000));
        assert_eq!(parse_size("65536"), Ok(65536));
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("MiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("-1s").is_err());
        assert_eq!(parse_signed_duration("-90s"), Ok(-90_000));
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn proxy_unmatched_reaches_the_server_config() {
        let cli = Cli::try_parse_from([
            "gigya-mock",
            "serve",
            "--proxy-unmatched",
            "http://127.0.0.1:9000/base/",
            "--upstream-timeout",
            "2s",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve");
        };
        let upstream = args.server_config().upstream.unwrap();
        assert_eq!(upstream.to_string(), "http://127.0.0.1:9000/base");
        assert_eq!(upstream.timeout, Duration::from_secs(2));
        let e = Cli::try_parse_from(["gigya-mock", "serve", "--proxy-unmatched", "nope"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"nope\" is not an upstream"), "{e}");
    }

    #[test]
    fn every_flag_has_an_env_var() {
        use clap::CommandFactory;
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments() {
                if arg.get_id() == "help" || arg.get_id() == "version" {
                    continue;
                }
                assert!(
                    arg.get_env().is_some(),
                    "{} --{} has no env var",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
        for arg in cmd.get_arguments() {
            if arg.get_id() == "help" || arg.get_id() == "version" {
                continue;
            }
            assert!(arg.get_env().is_some(), "--{} has no env var", arg.get_id());
        }
    }
}
