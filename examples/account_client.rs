//! A small Gigya client of the kind an application writes — it updates a member's tier with
//! `accounts.setAccountInfo` and turns Gigya errors into its own error type — together with the
//! integration tests that run it against gigya-mock. Run the tests with
//! `cargo test --example account_client`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// What can go wrong when updating a member.
#[derive(Debug, PartialEq)]
pub enum UpdateError {
    /// The account does not exist (or we may not touch it).
    UnknownUser,
    /// Gigya rejected a field; the field names are listed.
    Invalid(Vec<String>),
    /// Gigya is rate limiting us; try again later.
    RateLimited,
    /// Any other Gigya error.
    Gigya {
        /// The `errorCode`.
        code: u64,
        /// The `errorMessage`.
        message: String,
    },
    /// The transport failed or the answer was not JSON.
    Transport(String),
}

/// A minimal Gigya accounts client.
pub struct AccountsClient {
    base: String,
    api_key: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl AccountsClient {
    /// A client for a base URL such as `https://accounts.us1.gigya.com` or a mock's URI.
    pub fn new(base: &str, api_key: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Sets `data.tier` of a member, retrying once when rate limited.
    pub async fn set_tier(&self, uid: &str, tier: &str) -> Result<(), UpdateError> {
        match self.set_tier_once(uid, tier).await {
            Err(UpdateError::RateLimited) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                self.set_tier_once(uid, tier).await
            }
            other => other,
        }
    }

    async fn set_tier_once(&self, uid: &str, tier: &str) -> Result<(), UpdateError> {
        let data = serde_json::json!({ "tier": tier }).to_string();
        let form = gigya_mock::exchange::form_encode([
            ("apiKey", self.api_key.as_str()),
            ("UID", uid),
            ("data", data.as_str()),
            ("format", "json"),
        ]);
        let req = http::Request::post(format!("{}/accounts.setAccountInfo", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| UpdateError::Transport(e.to_string()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| UpdateError::Transport(e.to_string()))?;
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| UpdateError::Transport(e.to_string()))?
            .to_bytes();
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| UpdateError::Transport(e.to_string()))?;
        match v["errorCode"].as_u64() {
            Some(0) => Ok(()),
            Some(403005) => Err(UpdateError::UnknownUser),
            Some(403048) => Err(UpdateError::RateLimited),
            Some(400009) => Err(UpdateError::Invalid(
                v["validationErrors"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i["fieldName"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            )),
            Some(code) => Err(UpdateError::Gigya {
                code,
                message: v["errorMessage"].as_str().unwrap_or_default().to_owned(),
            }),
            None => Err(UpdateError::Transport("no errorCode in the answer".into())),
        }
    }
}

fn main() {
    println!("run the tests: cargo test --example account_client");
}

#[cfg(test)]
mod tests {
    use super::*;
    use gigya_mock::matchers::{eq, path};
    use gigya_mock::{GigyaMock, GigyaStub};

    fn tier_update(uid: &str, tier: &str) -> GigyaStub {
        GigyaStub::method("accounts.setAccountInfo")
            .param("UID", eq(uid))
            .json_param("data", path("$.tier", eq(tier)))
    }

    #[tokio::test]
    async fn a_successful_update() {
        let mock = GigyaMock::builder()
            .stub(tier_update("u-1", "gold").responds_ok().expect(1))
            .start()
            .await;
        let client = AccountsClient::new(&mock.uri(), "3_key");
        assert_eq!(client.set_tier("u-1", "gold").await, Ok(()));
    }

    #[tokio::test]
    async fn an_unknown_user() {
        let mock = GigyaMock::builder()
            .stub(
                tier_update("ghost", "gold")
                    .responds_error(403005)
                    .expect(1),
            )
            .start()
            .await;
        let client = AccountsClient::new(&mock.uri(), "3_key");
        assert_eq!(
            client.set_tier("ghost", "gold").await,
            Err(UpdateError::UnknownUser)
        );
    }

    #[tokio::test]
    async fn validation_errors_name_the_fields() {
        let mock = GigyaMock::builder()
            .stub(
                tier_update("u-2", "platinum")
                    .responds_error(400009)
                    .validation_error(400026, "data.tier", Some("unknown tier")),
            )
            .start()
            .await;
        let client = AccountsClient::new(&mock.uri(), "3_key");
        assert_eq!(
            client.set_tier("u-2", "platinum").await,
            Err(UpdateError::Invalid(vec!["data.tier".into()]))
        );
    }

    #[tokio::test]
    async fn rate_limiting_is_retried_once() {
        let mock = GigyaMock::builder()
            .stub(
                tier_update("u-3", "gold")
                    .priority(1)
                    .times(1)
                    .responds_error(403048)
                    .named("limited")
                    .expect(1),
            )
            .stub(
                tier_update("u-3", "gold")
                    .responds_ok()
                    .named("ok")
                    .expect(1),
            )
            .start()
            .await;
        let client = AccountsClient::new(&mock.uri(), "3_key");
        assert_eq!(client.set_tier("u-3", "gold").await, Ok(()));
    }

    #[tokio::test]
    async fn unexpected_calls_surface_as_gigya_errors() {
        let mock = GigyaMock::start().await;
        let client = AccountsClient::new(&mock.uri(), "3_key");
        match client.set_tier("u-4", "gold").await {
            Err(UpdateError::Gigya { code, message }) => {
                assert_eq!(code, 403007);
                assert_eq!(message, "Permission denied");
            }
            other => panic!("{other:?}"),
        }
    }
}
