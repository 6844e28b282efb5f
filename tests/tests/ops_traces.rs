//! Traces across NATS: real processes export their spans over OTLP (HTTP, protobuf) to a
//! receiver of this test's own; one chat message makes one trace edge → chat → edge, and
//! no span carries chat text, a phone number, a token or a coordinate.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message as _;
use serde_json::json;
use tether_proto::model::Role;
use tether_tests::chat::SEEKER_PHONE;
use tether_tests::procs::{ProcStack, ProcStackOptions};
use tether_tests::timing::eventually;

/// One exported span, flattened: its process and every string it carries.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    /// Every attribute value (span, events, links, resource), as text.
    values: Vec<String>,
}

/// An OTLP/HTTP receiver on a loopback port: every span posted to `/v1/traces`.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let store = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let store = store.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                store.lock().expect("spans").extend(flatten(request));
                (
                    [("content-type", "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("receiver port");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, spans)
}

fn text(value: &Option<AnyValue>) -> Vec<String> {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => vec![s.clone()],
        Some(any_value::Value::IntValue(i)) => vec![i.to_string()],
        Some(any_value::Value::DoubleValue(d)) => vec![d.to_string()],
        Some(any_value::Value::BoolValue(b)) => vec![b.to_string()],
        Some(any_value::Value::ArrayValue(array)) => array
            .values
            .iter()
            .flat_map(|v| text(&Some(v.clone())))
            .collect(),
        Some(any_value::Value::KvlistValue(list)) => all(&list.values),
        Some(any_value::Value::BytesValue(bytes)) => {
            vec![String::from_utf8_lossy(bytes).into_owned()]
        }
        _ => Vec::new(),
    }
}

fn all(attributes: &[KeyValue]) -> Vec<String> {
    attributes
        .iter()
        .flat_map(|kv| {
            let mut values = text(&kv.value);
            values.push(kv.key.clone());
            values
        })
        .collect()
}

fn flatten(request: ExportTraceServiceRequest) -> Vec<Received> {
    let mut out = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| r.attributes)
            .unwrap_or_default();
        let service = resource
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| text(&kv.value).pop())
            .unwrap_or_default();
        let resource_values = all(&resource);
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                let mut values = all(&span.attributes);
                values.extend(resource_values.iter().cloned());
                for event in &span.events {
                    values.push(event.name.clone());
                    values.extend(all(&event.attributes));
                }
                for link in &span.links {
                    values.extend(all(&link.attributes));
                }
                values.push(span.name.clone());
                out.push(Received {
                    service: service.clone(),
                    name: span.name,
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent_span_id: span.parent_span_id,
                    values,
                });
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_chat_message_is_one_trace_from_edge_to_chat_and_back() {
    let (endpoint, spans) = receiver().await;
    let procs = ProcStack::start(ProcStackOptions {
        sessions: 1,
        chats: 1,
        env: vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint),
            // Export every 100 ms instead of every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()),
        ],
        ..ProcStackOptions::default()
    })
    .await;
    let stack = &procs.stack;
    let mut session = stack.active_session().await;
    let text = format!("meet me at the blue door {}", uuid::Uuid::new_v4().simple());
    let (sent, delivered) = session
        .exchange(
            Role::Seeker,
            json!({"type": "chat_message", "session_id": session.session_id, "message": text}),
            "message_sent",
            "chat_message",
        )
        .await;
    assert_eq!(delivered["message"], text.as_str());
    assert_eq!(sent["message_id"], delivered["message_id"]);

    // The chat handler's span, its parent on the edge, and the delivery it caused.
    let trace = eventually("the chat message's trace exported", async || {
        let spans = spans.lock().expect("spans").clone();
        let handler = spans
            .iter()
            .find(|s| s.service == "tether-chat" && s.name == "chat chat_message")?;
        let in_trace: Vec<Received> = spans
            .iter()
            .filter(|s| s.trace_id == handler.trace_id)
            .cloned()
            .collect();
        let deliver = in_trace
            .iter()
            .any(|s| s.service == "tether-ws-edge" && s.name == "ws-edge deliver");
        let batch = in_trace
            .iter()
            .any(|s| s.service == "tether-chat" && s.name == "batch chat_messages");
        (deliver && batch).then_some((handler.clone(), in_trace))
    })
    .await;
    let (handler, in_trace) = trace;
    let by_id = |id: &[u8]| in_trace.iter().find(|s| s.span_id == id);
    let relay = by_id(&handler.parent_span_id).expect("the handler's parent is exported");
    assert_eq!(
        (relay.service.as_str(), relay.name.as_str()),
        ("tether-ws-edge", "ws-edge chat_message"),
        "the chat handler continues the edge's request: {in_trace:#?}"
    );
    assert!(
        relay.parent_span_id.is_empty(),
        "the edge's request is the root"
    );
    // The delivery descends from the handler (directly, or through the batch that wrote it).
    let deliver = in_trace
        .iter()
        .find(|s| s.name == "ws-edge deliver")
        .expect("delivery span");
    let mut ancestor = by_id(&deliver.parent_span_id);
    while let Some(span) = ancestor
        && span.span_id != handler.span_id
    {
        ancestor = by_id(&span.parent_span_id);
    }
    assert!(
        ancestor.is_some(),
        "the delivery descends from the chat handler: {in_trace:#?}"
    );

    // Nothing private in any span of the whole run: sessions, mediums, chat.
    let everything = spans.lock().expect("spans").clone();
    let secrets = [
        text.as_str(),
        "blue door",
        SEEKER_PHONE,
        SEEKER_PHONE.trim_start_matches('+'),
        session.seeker.token.as_str(),
        session.provider.token.as_str(),
        "52.5",
        "13.4",
    ];
    for span in &everything {
        for value in &span.values {
            for secret in secrets {
                assert!(
                    !value.contains(secret),
                    "span {} of {} carries private data: {value}",
                    span.name,
                    span.service
                );
            }
        }
    }
    procs.stop().await;
}
