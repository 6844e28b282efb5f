//! Multi-step setups many tests share, built only from client-visible calls.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::chat::SEEKER_PHONE;
use crate::timing::SILENCE;
use crate::{Role, Stack, TestUser, WsClient};

/// A seeker and a provider with an accepted work order and their sockets.
pub struct OpenSession {
    /// The seeker.
    pub seeker: TestUser,
    /// The provider.
    pub provider: TestUser,
    /// The seeker's socket (seeker endpoint).
    pub seeker_ws: WsClient,
    /// The provider's socket (provider endpoint).
    pub provider_ws: WsClient,
    /// The work order.
    pub work_id: i64,
    /// The session (waiting, or active after [`OpenSession::activate`]).
    pub session_id: Uuid,
}

impl Stack {
    /// `user`'s snapshot of `session_id` (`GET /api/v1/sessions/{id}`), which must be 200.
    pub async fn snapshot(&self, user: &TestUser, session_id: Uuid) -> Value {
        let (status, body) = self
            .get(user, &format!("/api/v1/sessions/{session_id}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Makes `user` an active provider at (lat, lon) offering `plumbing`.
    pub async fn make_active_provider(&self, user: &TestUser, latitude: f64, longitude: f64) {
        let (status, body) = self
            .http(
                Some(user),
                "PUT",
                "/api/v1/provider/status",
                Some(json!({"is_active": true, "service_types": ["plumbing"], "latitude": latitude, "longitude": longitude})),
            )
            .await;
        assert_eq!(status, 200, "provider status: {body}");
    }

    /// Posts a work order from `seeker` to `provider`; returns status and body as they are.
    pub async fn post_order(&self, seeker: &TestUser, provider: &TestUser) -> (u16, Value) {
        self.http(
            Some(seeker),
            "POST",
            "/api/v1/work-orders",
            Some(json!({
                "provider_id": provider.id,
                "service_type": "plumbing",
                "message": "Kitchen sink leaks",
                "latitude": 52.52,
                "longitude": 13.405,
            })),
        )
        .await
    }

    /// Creates a work order from `seeker` to `provider`; returns the 201 body.
    pub async fn create_order(&self, seeker: &TestUser, provider: &TestUser) -> Value {
        let (status, body) = self.post_order(seeker, provider).await;
        assert_eq!(status, 201, "create order: {body}");
        body
    }

    /// A fresh seeker and provider, both connected, with an accepted order: the session
    /// is `waiting`. Both sockets have consumed everything sent so far.
    pub async fn open_session(&self) -> OpenSession {
        let seeker = self.user();
        let provider = self.user();
        self.make_active_provider(&provider, 52.5, 13.4).await;
        let mut provider_ws = self.connect(&provider, Role::Provider).await;
        let mut seeker_ws = self.connect(&seeker, Role::Seeker).await;
        // Presence (v1.1) records sockets asynchronously: wait for it, so what follows
        // sees both parties online (no push, no late peer_status for these connects).
        // The location service keeps presence; a stack without one has none.
        if self.options.location_instances > 0 {
            self.wait_presence(provider.id, Role::Provider, true).await;
            self.wait_presence(seeker.id, Role::Seeker, true).await;
        }
        let order = self.create_order(&seeker, &provider).await;
        let work_id = order["work_id"].as_i64().expect("work_id");
        let assigned = provider_ws.recv_type("work_assigned").await;
        assert_eq!(assigned["work_id"], work_id);
        provider_ws
            .send(json!({"type": "work_response", "work_id": work_id, "accepted": true}))
            .await;
        // The session service may send this order twice, live and as a re-send for the
        // socket that just connected (documented in its `connected` handler); clients
        // deduplicate by work_id, and so does this flow.
        let accepted = loop {
            let message = provider_ws.recv().await;
            if message["type"] == "work_assigned" && message["work_id"] == work_id {
                continue;
            }
            assert_eq!(
                message["type"], "work_accepted",
                "unexpected message: {message}"
            );
            break message;
        };
        let seeker_accepted = seeker_ws.recv_type("work_accepted").await;
        assert_eq!(accepted["session_id"], seeker_accepted["session_id"]);
        let session_id = accepted["session_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .expect("session_id");
        OpenSession {
            seeker,
            provider,
            seeker_ws,
            provider_ws,
            work_id,
            session_id,
        }
    }

    /// Like [`Stack::open_session`], then the seeker selects mediums: the session is
    /// `active` and both sockets have consumed the selection messages.
    pub async fn active_session(&self) -> OpenSession {
        let mut session = self.open_session().await;
        session.activate().await;
        session
    }
}

impl OpenSession {
    /// The seeker selects `{"call": SEEKER_PHONE}`; both sides consume their message.
    pub async fn activate(&mut self) {
        self.select_mediums(json!({"call": SEEKER_PHONE})).await;
    }

    /// `role` sends `command`; its own socket must get `own` next and the other party's
    /// `peer`. Returns both messages.
    pub async fn exchange(
        &mut self,
        role: Role,
        command: Value,
        own: &str,
        peer: &str,
    ) -> (Value, Value) {
        self.ws(role).send(command).await;
        let own = self.ws(role).recv_type(own).await;
        let told = self.ws(role.other()).recv_type(peer).await;
        (own, told)
    }

    /// The seeker selects `mediums`; returns its `mediums_selected` (the provider's
    /// `seeker_mediums_selected` is consumed).
    pub async fn select_mediums(&mut self, mediums: Value) -> Value {
        let command =
            json!({"type": "medium_selection", "session_id": self.session_id, "mediums": mediums});
        let (own, _) = self
            .exchange(
                Role::Seeker,
                command,
                "mediums_selected",
                "seeker_mediums_selected",
            )
            .await;
        own
    }

    /// The provider shares `mediums`; returns its `mediums_shared` (the seeker's
    /// `provider_mediums_shared` is consumed).
    pub async fn share_mediums(&mut self, mediums: Value) -> Value {
        let command =
            json!({"type": "medium_share", "session_id": self.session_id, "mediums": mediums});
        let (own, _) = self
            .exchange(
                Role::Provider,
                command,
                "mediums_shared",
                "provider_mediums_shared",
            )
            .await;
        own
    }

    /// Neither party hears anything for [`SILENCE`] (the provider's wait overlaps the
    /// seeker's).
    pub async fn expect_both_silent(&mut self) {
        self.seeker_ws.expect_silence(SILENCE).await;
        self.provider_ws
            .expect_silence(Duration::from_millis(50))
            .await;
    }

    /// The socket of `role`.
    pub fn ws(&mut self, role: Role) -> &mut WsClient {
        match role {
            Role::Seeker => &mut self.seeker_ws,
            Role::Provider => &mut self.provider_ws,
        }
    }
}
