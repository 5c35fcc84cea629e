//! Compatibility: the Node `gigya` SDK from the npm registry, unmodified, against the
//! emulator over HTTP (tests/node/compat.js). `scripts/test.sh` installs it with `npm ci`.

use gigya_mock::emulator::EmulatorConfig;
use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::server::ServerConfig;

use crate::support::gigya::{API_KEY, SECRET_S, SECRET_U, USER_KEY, site_yaml};
use crate::support::{TestServer, repo, scenarios};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_gigya_sdk_cannot_tell_the_emulator_from_gigya() {
    let dir = repo().join("tests/node");
    assert!(
        dir.join("node_modules/gigya/package.json").is_file(),
        "tests/node/node_modules is missing: run `npm ci` in tests/node (./scripts/test.sh does it before cargo test)"
    );
    // The SDK stamps requests with the machine's clock, so the mock runs on it too.
    let engine = Engine::new(scenarios(&site_yaml("strict", "")), EngineConfig::default())
        .with_emulator(EmulatorConfig::default());
    let s = TestServer::with(engine, ServerConfig::default()).await;
    let url = format!("http://{}", s.addr);
    let key = repo().join("tests/fixtures/keys/test-rsa-a-private-pkcs1.pem");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("compat.js")
            .current_dir(&dir)
            .env("GIGYA_MOCK_URL", url)
            .env("GIGYA_API_KEY", API_KEY)
            .env("GIGYA_PARTNER_SECRET", SECRET_S)
            .env("GIGYA_USER_KEY", USER_KEY)
            .env("GIGYA_USER_SECRET", SECRET_U)
            .env("GIGYA_PRIVATE_KEY_FILE", key)
            .output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("cannot run `node` (Node 18 or later must be on PATH): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Node SDK compatibility script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("10 passed, 0 failed"), "{stdout}");
}
