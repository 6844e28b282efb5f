-- Protocol 1.2, kept by the location service in the narrow positions row.
-- cadence_band: the session's adaptive cadence band (far, near, close, arrived), null
-- until the session is activated or a distance is computed (read as `near`).
-- *_implausible_*: the party's previous precise fix when it was implausible (too fast
-- from the stored location), so that a next fix agreeing with it is accepted; cleared
-- when a fix is stored. None of them is indexed, so moves stay HOT updates. Nullable
-- columns without defaults: adding them rewrites nothing.
ALTER TABLE session_positions
    ADD COLUMN cadence_band text
        CHECK (cadence_band IN ('far', 'near', 'close', 'arrived')),
    ADD COLUMN seeker_implausible_latitude double precision,
    ADD COLUMN seeker_implausible_longitude double precision,
    ADD COLUMN provider_implausible_latitude double precision,
    ADD COLUMN provider_implausible_longitude double precision;
