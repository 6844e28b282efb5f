//! Domain enums and the read models served to clients.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::approach::ArrivalStage;
use crate::mediums::Mediums;
use crate::presence::PeerState;
use crate::time::Timestamp;

/// Which side of a session a connection speaks for; comes from the WebSocket path.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Needs a service.
    Seeker,
    /// Provides the service.
    Provider,
}

impl Role {
    /// `"seeker"` / `"provider"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seeker => "seeker",
            Self::Provider => "provider",
        }
    }
    /// The other party's role.
    pub fn other(self) -> Self {
        match self {
            Self::Seeker => Self::Provider,
            Self::Provider => Self::Seeker,
        }
    }
    /// `"Seeker"` / `"Provider"`, for the texts told to the other party.
    pub fn title(self) -> &'static str {
        match self {
            Self::Seeker => "Seeker",
            Self::Provider => "Provider",
        }
    }
    /// Parses `"seeker"` / `"provider"`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "seeker" => Some(Self::Seeker),
            "provider" => Some(Self::Provider),
            _ => None,
        }
    }
}

/// The two parties of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties {
    /// The seeker's user id.
    pub seeker_id: Uuid,
    /// The provider's user id.
    pub provider_id: Uuid,
}

impl Parties {
    /// The user who is `role` in this session.
    pub fn user(&self, role: Role) -> Uuid {
        match role {
            Role::Seeker => self.seeker_id,
            Role::Provider => self.provider_id,
        }
    }
}

/// State of a work session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Accepted; waiting for the seeker to select mediums.
    Waiting,
    /// Mediums selected; distance updates flow.
    Active,
    /// Ended by either party cancelling.
    Cancelled,
    /// Ended by either party finishing.
    Completed,
}

impl ConnectionState {
    /// The database / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Active => "active",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }
    /// Parses the database / wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "waiting" => Some(Self::Waiting),
            "active" => Some(Self::Active),
            "cancelled" => Some(Self::Cancelled),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }
    /// Waiting or active: chat, mediums, location and the end commands are allowed.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Waiting | Self::Active)
    }
}

/// Status of a work order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    /// Sent to the provider, no answer yet.
    Pending,
    /// The provider accepted; a session exists.
    Accepted,
    /// The provider declined.
    Rejected,
    /// The session was cancelled.
    Cancelled,
    /// The session was completed.
    Completed,
    /// Nobody answered within `TETHER_WORK_ORDER_TTL_S`.
    Expired,
}

impl WorkOrderStatus {
    /// The database / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
            Self::Expired => "expired",
        }
    }
    /// Parses the database / wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "rejected" => Some(Self::Rejected),
            "cancelled" => Some(Self::Cancelled),
            "completed" => Some(Self::Completed),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// Delivery status of a chat message; only ever moves forward.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Stored; not yet acknowledged by the recipient.
    Sent,
    /// The recipient's device has it.
    Delivered,
    /// The recipient has read it.
    Read,
}

impl DeliveryStatus {
    /// The database / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
        }
    }
    /// Parses the database / wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sent" => Some(Self::Sent),
            "delivered" => Some(Self::Delivered),
            "read" => Some(Self::Read),
            _ => None,
        }
    }
}

/// `GET/PUT /api/v1/profile` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Profile {
    /// The caller's user id.
    pub user_id: Uuid,
    /// Display name: the profile's, else the token's `name` claim, else null.
    pub display_name: Option<String>,
    /// Phone number, if set.
    pub mobile: Option<String>,
    /// Picture URL, if set.
    pub profile_pic_url: Option<String>,
}

/// `GET/PUT /api/v1/provider/status` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderStatus {
    /// Whether the provider takes work now.
    pub is_active: bool,
    /// What the provider offers.
    pub service_types: Vec<String>,
    /// Where the provider is, for nearby search and assignment distance.
    pub latitude: Option<f64>,
    /// See `latitude`.
    pub longitude: Option<f64>,
    /// Last change.
    pub updated_at: Option<Timestamp>,
}

/// `GET/PUT /api/v1/seeker/search` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SeekerSearch {
    /// Whether the seeker is looking for a provider.
    pub is_searching: bool,
    /// Last change (null when never set).
    pub updated_at: Option<Timestamp>,
}

/// One entry of `GET /api/v1/providers/nearby`. Never carries a phone number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NearbyProvider {
    /// The provider's user id (to address a work order).
    pub provider_id: Uuid,
    /// The provider's display name.
    pub display_name: Option<String>,
    /// What the provider offers.
    pub service_types: Vec<String>,
    /// Distance from the query point, rounded to 0.1 m.
    pub distance_meters: f64,
    /// `"450 meters"` / `"2.5 km"`.
    pub distance: String,
}

/// `GET /api/v1/providers/nearby` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NearbyProviders {
    /// Active providers, nearest first.
    pub providers: Vec<NearbyProvider>,
}

/// `POST /api/v1/work-orders` answer (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkOrderCreated {
    /// The new order's id.
    pub work_id: i64,
    /// Always `pending`.
    pub status: WorkOrderStatus,
    /// Creation time.
    pub created_at: Timestamp,
}

/// `GET /api/v1/work-orders/{work_id}` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WorkOrder {
    /// Order id.
    pub work_id: i64,
    /// Who asked.
    pub seeker_id: Uuid,
    /// Who was asked.
    pub provider_id: Uuid,
    /// What is needed.
    pub service_type: String,
    /// The seeker's note.
    pub message: String,
    /// Current status.
    pub status: WorkOrderStatus,
    /// The session, once accepted.
    pub session_id: Option<Uuid>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When the provider answered (or the order expired).
    pub responded_at: Option<Timestamp>,
}

/// Session snapshot (`GET /api/v1/sessions/...`). Rating fields only for the seeker;
/// the other party's mediums only once selected/shared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionSnapshot {
    /// Session id (= chat room id).
    pub session_id: Uuid,
    /// The work order it came from.
    pub work_id: i64,
    /// The caller's role in this session.
    pub role: Role,
    /// Current state.
    pub connection_state: ConnectionState,
    /// The seeker's mediums: for the seeker always, for the provider once selected.
    pub seeker_mediums: Option<Mediums>,
    /// The provider's mediums: for the provider always, for the seeker once shared.
    pub provider_mediums: Option<Mediums>,
    /// Last computed distance, rounded to 0.1 m.
    pub current_distance_meters: Option<f64>,
    /// `"450 meters away"` / `"1.3 km away"`, or null.
    pub distance_formatted: Option<String>,
    /// Same as `session_id`.
    pub chat_room_id: Uuid,
    /// When the chat started.
    pub chat_started_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it was cancelled.
    pub cancelled_at: Option<Timestamp>,
    /// `seeker` / `provider`.
    pub cancelled_by: Option<Role>,
    /// When it was completed.
    pub completed_at: Option<Timestamp>,
    /// `seeker` / `provider`.
    pub completed_by: Option<Role>,
    /// Seeker only: stars given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rating_stars: Option<Option<i64>>,
    /// Seeker only: text given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rating_description: Option<Option<String>>,
    /// Seeker only: when rated.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rated_at: Option<Option<Timestamp>>,
    /// v1.1: the last arrival stage announced, or null.
    pub arrival_stage: Option<ArrivalStage>,
    /// v1.1: the other party now (`online`, `offline`, `stale`); null once ended.
    pub peer_status: Option<PeerState>,
    /// v1.1: the other party's last socket transition or fix, or null.
    pub peer_last_seen: Option<Timestamp>,
    /// v1.2: how often the apps should send precise fixes while the session is active;
    /// null otherwise.
    pub location_cadence: Option<crate::cadence::Cadence>,
}

/// Chat message object, identical in history and live delivery. Never a name, phone or
/// user id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatMessageView {
    /// Message id.
    pub message_id: Uuid,
    /// Session (= chat room).
    pub session_id: Uuid,
    /// `seeker` / `provider`.
    pub sender_type: Role,
    /// The text.
    pub message: String,
    /// `sent` / `delivered` / `read`.
    pub delivery_status: DeliveryStatus,
    /// When the server stored it.
    pub timestamp: Timestamp,
    /// When the recipient acknowledged delivery.
    pub delivered_at: Option<Timestamp>,
    /// When the recipient read it.
    pub read_at: Option<Timestamp>,
    /// The text was masked (phone numbers, messenger links, handles replaced by
    /// `[hidden]`) because the session was waiting when it was stored. Absent otherwise.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redacted: bool,
}

/// For `skip_serializing_if`: a `false` flag is left out (v1.0 clients never see it).
pub fn is_false(flag: &bool) -> bool {
    !*flag
}

/// `GET /api/v1/sessions/{id}/messages` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessagePage {
    /// Oldest first.
    pub messages: Vec<ChatMessageView>,
    /// Whether older messages exist before this page.
    pub has_more: bool,
}

/// `POST /api/v1/sessions/{id}/rating` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RatingSaved {
    /// The session rated.
    pub session_id: Uuid,
    /// Stars, 1-5.
    pub rating_stars: i64,
    /// Optional text.
    pub rating_description: Option<String>,
    /// When rated.
    pub rated_at: Timestamp,
}

/// Every HTTP error answer: `{"error": "<human message>", "code": "<snake_case code>"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HttpErrorBody {
    /// Human message.
    pub error: String,
    /// snake_case code.
    pub code: crate::ErrorCode,
    /// On `unavailable` and `rate_limited`: wait at least this long before trying again
    /// (the `Retry-After` header says the same in whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}
