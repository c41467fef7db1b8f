//! The server's floors, each run as its own process (this benchmark binary
//! re-executed as `scale floor KIND URL DESIRED_JSON`), so that they are
//! measured exactly like jetsync: whole process, from spawn to exit,
//! connecting included. async-nats, raw JetStream API requests, 64 in flight,
//! every answer decoded as JSON and checked for an error.
//!
//! - `read`: all live state by listing — `STREAM.LIST` pages, then
//!   `CONSUMER.LIST.<stream>` for each stream with consumers;
//! - `info`: one `STREAM.INFO`/`CONSUMER.INFO` per declared asset (what a
//!   per-asset reconciler reads);
//! - `create`: every declared asset created from empty, streams and buckets
//!   first, then consumers.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

const IN_FLIGHT: usize = 64;

type Error = String;

async fn request(
    client: &async_nats::Client,
    subject: String,
    body: Option<&Value>,
) -> Result<Value, Error> {
    let payload = match body {
        Some(body) => serde_json::to_vec(body).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let message = client
        .request(subject.clone(), payload.into())
        .await
        .map_err(|e| format!("{subject}: {e}"))?;
    let answer: Value =
        serde_json::from_slice(&message.payload).map_err(|e| format!("{subject}: {e}"))?;
    if let Some(error) = answer.get("error") {
        return Err(format!("{subject}: {error}"));
    }
    Ok(answer)
}

/// Runs floor `kind` and prints a JSON summary; the process exit code says
/// whether it worked.
pub fn main(kind: &str, url: &str, desired: &str) -> Result<(), Error> {
    let desired: Value =
        serde_json::from_slice(&std::fs::read(desired).map_err(|e| format!("{desired}: {e}"))?)
            .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = async_nats::ConnectOptions::new()
            .request_timeout(Some(Duration::from_secs(30)))
            .connect(url)
            .await
            .map_err(|e| format!("connecting to {url}: {e}"))?;
        let summary = match kind {
            "read" => read(&client).await?,
            "info" => info(&client, &desired).await?,
            "create" => create(&client, &desired).await?,
            other => return Err(format!("unknown floor `{other}`")),
        };
        client.flush().await.map_err(|e| e.to_string())?;
        println!("{summary}");
        Ok(())
    })
}

async fn read(client: &async_nats::Client) -> Result<Value, Error> {
    let mut with_consumers = Vec::new();
    let mut streams = 0;
    let mut offset = 0;
    loop {
        let page = request(
            client,
            "$JS.API.STREAM.LIST".into(),
            Some(&json!({ "offset": offset })),
        )
        .await?;
        let listed = page["streams"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for stream in listed {
            if stream["state"]["consumer_count"].as_u64().unwrap_or(0) > 0 {
                with_consumers.push(
                    stream["config"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
        streams += listed.len();
        offset += listed.len();
        if listed.is_empty() || offset as u64 >= page["total"].as_u64().unwrap_or(0) {
            break;
        }
    }
    let consumers: usize = futures::stream::iter(with_consumers)
        .map(|stream| async move {
            let page = request(
                client,
                format!("$JS.API.CONSUMER.LIST.{stream}"),
                Some(&json!({ "offset": 0 })),
            )
            .await?;
            Ok::<_, Error>(page["consumers"].as_array().map_or(0, Vec::len))
        })
        .buffer_unordered(IN_FLIGHT)
        .try_fold(0, |sum, count| async move { Ok(sum + count) })
        .await?;
    Ok(json!({ "streams": streams, "consumers": consumers }))
}

fn items<'a>(desired: &'a Value, key: &str) -> &'a [Value] {
    desired[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

async fn info(client: &async_nats::Client, desired: &Value) -> Result<Value, Error> {
    let subjects = items(desired, "streams")
        .iter()
        .map(|stream| {
            format!(
                "$JS.API.STREAM.INFO.{}",
                stream["name"].as_str().unwrap_or_default()
            )
        })
        .chain(items(desired, "kv").iter().map(|kv| {
            format!(
                "$JS.API.STREAM.INFO.KV_{}",
                kv["bucket"].as_str().unwrap_or_default()
            )
        }))
        .chain(items(desired, "consumers").iter().map(|consumer| {
            format!(
                "$JS.API.CONSUMER.INFO.{}.{}",
                consumer["stream_name"].as_str().unwrap_or_default(),
                consumer["config"]["durable_name"]
                    .as_str()
                    .unwrap_or_default()
            )
        }));
    let read = futures::stream::iter(subjects)
        .map(|subject| async move { request(client, subject, None).await.map(|_| 1usize) })
        .buffer_unordered(IN_FLIGHT)
        .try_fold(0, |sum, one| async move { Ok(sum + one) })
        .await?;
    Ok(json!({ "read": read }))
}

async fn create(client: &async_nats::Client, desired: &Value) -> Result<Value, Error> {
    let streams = items(desired, "streams")
        .iter()
        .cloned()
        .chain(items(desired, "kv").iter().map(|kv| kv["stream"].clone()))
        .map(|config| {
            let subject = format!(
                "$JS.API.STREAM.CREATE.{}",
                config["name"].as_str().unwrap_or_default()
            );
            (subject, config)
        });
    let consumers = items(desired, "consumers").iter().map(|consumer| {
        let stream = consumer["stream_name"].as_str().unwrap_or_default();
        let name = consumer["config"]["durable_name"]
            .as_str()
            .unwrap_or_default();
        let body =
            json!({ "stream_name": stream, "config": consumer["config"], "action": "create" });
        (format!("$JS.API.CONSUMER.CREATE.{stream}.{name}"), body)
    });
    let mut created = 0;
    // Streams before the consumers that read them.
    for phase in [streams.collect::<Vec<_>>(), consumers.collect()] {
        created += futures::stream::iter(phase)
            .map(|(subject, body)| async move {
                request(client, subject, Some(&body)).await.map(|_| 1usize)
            })
            .buffer_unordered(IN_FLIGHT)
            .try_fold(0, |sum, one| async move { Ok(sum + one) })
            .await?;
    }
    Ok(json!({ "created": created }))
}
