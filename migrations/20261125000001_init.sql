-- Tether schema: users/profiles, provider status, seeker search, work orders, work
-- sessions, chat messages and typing indicators. CHECK constraints keep every row valid
-- on its own; partial unique indexes keep one open session per provider and per seeker.

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    display_name    text CHECK (display_name IS NULL OR char_length(display_name) BETWEEN 1 AND 100),
    -- The JWT `name` claim seen last; display-name fallback until a profile sets one.
    token_name      text,
    mobile          text CHECK (mobile IS NULL OR mobile ~ '^\+?[0-9]{7,15}$'),
    profile_pic_url text CHECK (profile_pic_url IS NULL OR char_length(profile_pic_url) <= 2048),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provider_active_status (
    provider_id   uuid PRIMARY KEY REFERENCES users (id),
    is_active     boolean NOT NULL,
    service_types text[] NOT NULL DEFAULT '{}',
    latitude      double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude     double precision CHECK (longitude BETWEEN -180 AND 180),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE INDEX provider_active_status_active ON provider_active_status (provider_id) WHERE is_active;

CREATE TABLE seeker_search_preference (
    seeker_id    uuid PRIMARY KEY REFERENCES users (id),
    is_searching boolean NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE work_orders (
    id           bigserial PRIMARY KEY,
    seeker_id    uuid NOT NULL REFERENCES users (id),
    provider_id  uuid NOT NULL REFERENCES users (id),
    service_type text NOT NULL CHECK (char_length(service_type) BETWEEN 1 AND 64),
    message      text NOT NULL CHECK (char_length(message) <= 1000),
    latitude     double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude    double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled', 'completed', 'expired')),
    session_id   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    responded_at timestamptz,
    CONSTRAINT work_orders_not_self CHECK (seeker_id <> provider_id),
    CHECK ((status = 'pending') = (responded_at IS NULL))
);
-- Re-send on provider connect, and the expiry job: both read pending orders only.
CREATE INDEX work_orders_pending_by_provider ON work_orders (provider_id, created_at) WHERE status = 'pending';
CREATE INDEX work_orders_pending_by_age ON work_orders (created_at) WHERE status = 'pending';
CREATE INDEX work_orders_seeker ON work_orders (seeker_id);

CREATE TABLE work_sessions (
    id                        uuid PRIMARY KEY,
    work_id                   bigint NOT NULL UNIQUE REFERENCES work_orders (id),
    seeker_id                 uuid NOT NULL REFERENCES users (id),
    provider_id               uuid NOT NULL REFERENCES users (id),
    connection_state          text NOT NULL DEFAULT 'waiting'
                              CHECK (connection_state IN ('waiting', 'active', 'cancelled', 'completed')),
    -- The chat room is the session; kept as a column because the seed model has it.
    chat_room_id              uuid GENERATED ALWAYS AS (id) STORED,
    seeker_mediums            jsonb,
    seeker_mediums_selected_at timestamptz,
    provider_mediums          jsonb,
    provider_mediums_shared_at timestamptz,
    -- Last reported positions (cleared 24 h after the session ends).
    seeker_latitude           double precision CHECK (seeker_latitude BETWEEN -90 AND 90),
    seeker_longitude          double precision CHECK (seeker_longitude BETWEEN -180 AND 180),
    seeker_location_at        timestamptz,
    provider_latitude         double precision CHECK (provider_latitude BETWEEN -90 AND 90),
    provider_longitude        double precision CHECK (provider_longitude BETWEEN -180 AND 180),
    provider_location_at      timestamptz,
    -- Each party's position when the last distance update was sent: the 50 m rule's anchor.
    seeker_anchor_latitude    double precision,
    seeker_anchor_longitude   double precision,
    provider_anchor_latitude  double precision,
    provider_anchor_longitude double precision,
    current_distance_meters   double precision CHECK (current_distance_meters >= 0),
    last_distance_update      timestamptz,
    location_cleared_at       timestamptz,
    chat_started_at           timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    cancelled_at              timestamptz,
    cancelled_by              text CHECK (cancelled_by IN ('seeker', 'provider')),
    completed_at              timestamptz,
    completed_by              text CHECK (completed_by IN ('seeker', 'provider')),
    rating_stars              smallint CHECK (rating_stars BETWEEN 1 AND 5),
    rating_description        text CHECK (char_length(rating_description) <= 1000),
    rated_at                  timestamptz,
    CONSTRAINT work_sessions_not_self CHECK (seeker_id <> provider_id),
    CHECK ((connection_state = 'cancelled') = (cancelled_at IS NOT NULL AND cancelled_by IS NOT NULL)),
    CHECK ((connection_state = 'completed') = (completed_at IS NOT NULL AND completed_by IS NOT NULL)),
    CHECK ((rating_stars IS NULL) = (rated_at IS NULL)),
    CHECK (rating_stars IS NULL OR connection_state = 'completed'),
    CHECK (connection_state = 'waiting' OR connection_state IN ('cancelled', 'completed') OR seeker_mediums IS NOT NULL)
);
CREATE UNIQUE INDEX work_sessions_one_open_per_provider ON work_sessions (provider_id)
    WHERE connection_state IN ('waiting', 'active');
CREATE UNIQUE INDEX work_sessions_one_open_per_seeker ON work_sessions (seeker_id)
    WHERE connection_state IN ('waiting', 'active');
-- The distance tick claims due sessions through this index: O(due), not O(all).
CREATE INDEX work_sessions_tick_due ON work_sessions (last_distance_update NULLS FIRST)
    WHERE connection_state = 'active' AND seeker_latitude IS NOT NULL AND provider_latitude IS NOT NULL;
-- The privacy job finds ended sessions that still hold coordinates.
CREATE INDEX work_sessions_ended_with_location ON work_sessions ((coalesce(completed_at, cancelled_at)))
    WHERE connection_state IN ('cancelled', 'completed') AND location_cleared_at IS NULL;
CREATE INDEX work_sessions_seeker ON work_sessions (seeker_id);
CREATE INDEX work_sessions_provider ON work_sessions (provider_id);

ALTER TABLE work_orders
    ADD CONSTRAINT work_orders_session_fk FOREIGN KEY (session_id) REFERENCES work_sessions (id);

CREATE TABLE chat_messages (
    id                uuid PRIMARY KEY,
    -- The order PostgreSQL assigned: history and delivery follow it.
    seq               bigserial NOT NULL UNIQUE,
    session_id        uuid NOT NULL REFERENCES work_sessions (id),
    sender_id         uuid NOT NULL REFERENCES users (id),
    sender_type       text NOT NULL CHECK (sender_type IN ('seeker', 'provider')),
    client_message_id text CHECK (char_length(client_message_id) BETWEEN 1 AND 128),
    message           text NOT NULL CHECK (char_length(message) BETWEEN 1 AND 2000),
    delivery_status   text NOT NULL DEFAULT 'sent' CHECK (delivery_status IN ('sent', 'delivered', 'read')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at      timestamptz,
    read_at           timestamptz,
    expires_at        timestamptz,
    CHECK (
        (delivery_status = 'sent' AND delivered_at IS NULL AND read_at IS NULL)
        OR (delivery_status = 'delivered' AND delivered_at IS NOT NULL AND read_at IS NULL)
        OR (delivery_status = 'read' AND delivered_at IS NOT NULL AND read_at IS NOT NULL)
    )
);
-- Idempotent retries: one row per client_message_id per sender per session, for its life.
CREATE UNIQUE INDEX chat_messages_client_id ON chat_messages (session_id, sender_type, client_message_id)
    WHERE client_message_id IS NOT NULL;
CREATE INDEX chat_messages_session_seq ON chat_messages (session_id, seq);
CREATE INDEX chat_messages_undelivered ON chat_messages (session_id, seq) WHERE delivery_status = 'sent';
CREATE INDEX chat_messages_expiry ON chat_messages (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE typing_indicators (
    session_id     uuid NOT NULL REFERENCES work_sessions (id),
    user_type      text NOT NULL CHECK (user_type IN ('seeker', 'provider')),
    user_id        uuid NOT NULL REFERENCES users (id),
    is_typing      boolean NOT NULL,
    last_typing_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, user_type)
);
CREATE INDEX typing_indicators_age ON typing_indicators (last_typing_at);
