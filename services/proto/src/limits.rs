//! Every numeric limit of the contract, in one place.

/// Largest WebSocket frame or message accepted (bigger closes the socket with 1009).
pub const MAX_WS_MESSAGE_BYTES: usize = 64 * 1024;
/// Largest HTTP request body accepted (bigger answers 413).
pub const MAX_HTTP_BODY_BYTES: usize = 64 * 1024;
/// Longest `request_id` a client may send.
pub const MAX_REQUEST_ID_CHARS: usize = 64;
/// Chat text length bounds after trimming, in characters.
pub const CHAT_MESSAGE_MIN_CHARS: usize = 1;
/// See [`CHAT_MESSAGE_MIN_CHARS`].
pub const CHAT_MESSAGE_MAX_CHARS: usize = 2000;
/// Longest `client_message_id`.
pub const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 128;
/// Rating bounds (stars).
pub const RATING_MIN_STARS: i64 = 1;
/// See [`RATING_MIN_STARS`].
pub const RATING_MAX_STARS: i64 = 5;
/// Longest rating description, in characters.
pub const RATING_DESCRIPTION_MAX_CHARS: usize = 1000;
/// How long after completion the seeker may still rate, in hours.
pub const RATING_WINDOW_HOURS: i64 = 24;
/// A move of at least this many metres since the last distance update triggers a new one.
pub const DISTANCE_MOVE_THRESHOLD_M: f64 = 50.0;
/// v1.2: a precise fix within this many metres of the party's previous precise fix,
/// when that one was implausible, is plausible (two fixes that agree are a real move).
pub const IMPLAUSIBLE_CONFIRM_M: f64 = 100.0;
/// v1.2: the least time (seconds) a speed between two fixes is measured over.
pub const PLAUSIBLE_MIN_SPAN_S: f64 = 1.0;
/// Earth radius used by every distance (metres).
pub const EARTH_RADIUS_M: f64 = 6_371_000.0;
/// Chat history page size: default and maximum.
pub const HISTORY_DEFAULT_LIMIT: i64 = 50;
/// See [`HISTORY_DEFAULT_LIMIT`].
pub const HISTORY_MAX_LIMIT: i64 = 200;
/// Nearby providers: default radius (metres), default and maximum result count.
pub const NEARBY_DEFAULT_RADIUS_M: f64 = 10_000.0;
/// See [`NEARBY_DEFAULT_RADIUS_M`].
pub const NEARBY_DEFAULT_LIMIT: i64 = 20;
/// See [`NEARBY_DEFAULT_RADIUS_M`].
pub const NEARBY_MAX_LIMIT: i64 = 100;
/// Largest search radius accepted for nearby providers (metres).
pub const NEARBY_MAX_RADIUS_M: f64 = 100_000.0;
/// Display name bounds (characters).
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
/// Longest profile picture URL.
pub const PROFILE_PIC_URL_MAX_CHARS: usize = 2048;
/// Service type names: longest name and most names per provider.
pub const SERVICE_TYPE_MAX_CHARS: usize = 64;
/// See [`SERVICE_TYPE_MAX_CHARS`].
pub const SERVICE_TYPES_MAX: usize = 20;
/// Longest work-order message (characters).
pub const WORK_ORDER_MESSAGE_MAX_CHARS: usize = 1000;
/// Phone numbers: optional `+`, then this many digits.
pub const PHONE_MIN_DIGITS: usize = 7;
/// See [`PHONE_MIN_DIGITS`].
pub const PHONE_MAX_DIGITS: usize = 15;
