-- otpd on PostgreSQL, schema 1. Columns hold what SQL filters, orders or locks on; `body`
-- holds the record itself, encoded as the embedded engine encodes it (store/records.rs).
-- Times are epoch milliseconds, passed in by otpd (its clock), never now().

CREATE TABLE brands (
    name text PRIMARY KEY,
    body bytea NOT NULL                -- sealed with the server key ring: it holds secrets
);

CREATE TABLE sessions (
    id text PRIMARY KEY,
    expires_ms bigint NOT NULL,
    body bytea NOT NULL                -- the code only as its keyed hash
);
CREATE INDEX sessions_expiry ON sessions (expires_ms);

-- One row per customer (brand, destination key); `body` is NULL until the first code.
CREATE TABLE usage (
    brand text NOT NULL,
    customer text NOT NULL,
    expires_ms bigint NOT NULL DEFAULT 0,
    body bytea,
    PRIMARY KEY (brand, customer)
);
CREATE INDEX usage_expiry ON usage (expires_ms);

CREATE TABLE limit_overrides (
    brand text NOT NULL,
    customer text NOT NULL,
    daily_limit bigint NOT NULL,
    PRIMARY KEY (brand, customer)
);

-- A job is due at `due_ms`; a claim moves it forward by the lease, so a node that dies
-- mid-send leaves it due again for another.
CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    due_ms bigint NOT NULL,
    body bytea NOT NULL                -- the code sealed
) WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01);
CREATE INDEX outbox_due ON outbox (due_ms);

-- Ids are UUIDv7: PostgreSQL's uuid order is their time order.
CREATE TABLE issuance_log (
    id uuid PRIMARY KEY,
    brand text NOT NULL,
    customer text,
    time_ms bigint NOT NULL,
    outcome integer NOT NULL,
    channel text,
    delivery text NOT NULL,
    test boolean NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX issuance_log_customer ON issuance_log (brand, customer, id);
CREATE INDEX issuance_log_outcome ON issuance_log (outcome, id);
CREATE INDEX issuance_log_channel ON issuance_log (channel, id);
CREATE INDEX issuance_log_delivery ON issuance_log (delivery, id);

CREATE TABLE nonces (
    brand text NOT NULL,
    hash bytea NOT NULL,
    expires_ms bigint NOT NULL,
    PRIMARY KEY (brand, hash)
);
CREATE INDEX nonces_expiry ON nonces (expires_ms);

-- The dashboard's hourly counters.
CREATE TABLE stats (
    hour integer NOT NULL,             -- hours since the epoch
    brand text NOT NULL,
    counter text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (hour, brand, counter)
);

CREATE TABLE audit (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    brand text,
    target text,
    before jsonb NOT NULL,
    after jsonb NOT NULL
);

CREATE TABLE operators (
    name text PRIMARY KEY,
    role text NOT NULL,
    password text NOT NULL,            -- argon2id PHC string
    disabled boolean NOT NULL,
    must_change_password boolean NOT NULL,
    created_ms bigint NOT NULL,
    updated_ms bigint NOT NULL,
    last_login_ms bigint
);

CREATE TABLE console_sessions (
    digest bytea PRIMARY KEY,          -- SHA-256 of the browser's token
    operator text NOT NULL,
    csrf_token text NOT NULL,
    created_ms bigint NOT NULL,
    last_seen_ms bigint NOT NULL
);
CREATE INDEX console_sessions_operator ON console_sessions (operator);

-- Small named values: the console's server settings, the first-run setup token.
CREATE TABLE settings (
    name text PRIMARY KEY,
    value jsonb NOT NULL
);
