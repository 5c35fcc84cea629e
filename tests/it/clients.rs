//! The README's "pointing clients at gigya-mock" recipes, run with the real client stacks the
//! SDKs are built on: Python's urllib (SAP Python SDK) and Java's HttpURLConnection (SAP Java
//! SDK), each through the mock as an HTTPS proxy with the local CA trusted.

use std::process::Command;

use gigya_mock::server::ServerConfig;

use crate::support::{TestServer, engine};

const STUBS: &str = r#"
version: 1
stubs:
  - name: account
    request: { method: accounts.getAccountInfo, params: { UID: u-1 } }
    response: { body: { UID: u-1 } }
"#;

fn start(dir: &std::path::Path) -> (tokio::runtime::Runtime, TestServer) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::with(
        engine(STUBS),
        ServerConfig {
            data_dir: dir.to_path_buf(),
            ..ServerConfig::default()
        },
    ));
    (rt, s)
}

#[test]
fn python_urllib_through_the_proxy_for_https_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let (_rt, s) = start(dir.path());
    let ca = s.server.ca_cert_path().unwrap();
    let script = r#"
import os, ssl, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["CA"])
opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx))
print(opener.open("https://accounts.us1.gigya.com/accounts.getAccountInfo", data=b"UID=u-1", timeout=10).read().decode())
# Plain HTTP through the same proxy arrives in absolute form.
print(urllib.request.urlopen("http://accounts.eu1.gigya.com/accounts.getAccountInfo", data=b"UID=u-1", timeout=10).read().decode())
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .env("HTTPS_PROXY", format!("http://{}", s.addr))
        .env("HTTP_PROXY", format!("http://{}", s.addr))
        .env("CA", &ca)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("python3 is needed for this test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(r#""UID":"u-1""#),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn java_httpurlconnection_through_the_https_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let (_rt, s) = start(dir.path());
    let ca = s.server.ca_cert_path().unwrap();
    let trust = dir.path().join("trust.p12");
    let status = Command::new("keytool")
        .args([
            "-importcert",
            "-noprompt",
            "-alias",
            "gigya-mock",
            "-storetype",
            "PKCS12",
            "-storepass",
            "changeit",
            "-file",
        ])
        .arg(&ca)
        .arg("-keystore")
        .arg(&trust)
        .output()
        .expect("keytool (a JDK) is needed for this test");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let source = dir.path().join("Probe.java");
    std::fs::write(
        &source,
        r#"
import java.net.*;
public class Probe {
    public static void main(String[] args) throws Exception {
        HttpURLConnection c = (HttpURLConnection) new URL("https://accounts.us1.gigya.com/accounts.getAccountInfo").openConnection();
        c.setDoOutput(true);
        c.getOutputStream().write("UID=u-1".getBytes("UTF-8"));
        System.out.println(new String(c.getInputStream().readAllBytes(), "UTF-8"));
    }
}
"#,
    )
    .unwrap();
    let out = Command::new("java")
        .arg("-Dhttps.proxyHost=127.0.0.1")
        .arg(format!("-Dhttps.proxyPort={}", s.addr.port()))
        .arg(format!("-Djavax.net.ssl.trustStore={}", trust.display()))
        .arg("-Djavax.net.ssl.trustStorePassword=changeit")
        .arg(&source)
        .output()
        .expect("java is needed for this test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(r#""UID":"u-1""#),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
