-- SessionGate session store schema for SQLite.
-- Generated from the migrations the proxy applies at start; running it by hand is
-- equivalent and idempotent. Do not edit: regenerate with `sessiongate migrate --print-sql`.

PRAGMA journal_mode = WAL;

BEGIN IMMEDIATE;

CREATE TABLE IF NOT EXISTS sessiongate_schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
);

-- migration 1: sessions table and user index
CREATE TABLE IF NOT EXISTS sessiongate_sessions (
    store_key TEXT PRIMARY KEY NOT NULL,
    handle TEXT NOT NULL,
    data TEXT NOT NULL,
    user_id TEXT,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    idle_seconds INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessiongate_sessions_user_id
    ON sessiongate_sessions (user_id) WHERE user_id IS NOT NULL;
INSERT OR IGNORE INTO sessiongate_schema_migrations (version, name, applied_at) VALUES (1, 'sessions table and user index', CAST(strftime('%s', 'now') AS INTEGER));

-- migration 2: sweeper index (json_patch is built in)
CREATE INDEX IF NOT EXISTS sessiongate_sessions_expiry
    ON sessiongate_sessions (min(idle_expires_at, absolute_expires_at));
INSERT OR IGNORE INTO sessiongate_schema_migrations (version, name, applied_at) VALUES (2, 'sweeper index (json_patch is built in)', CAST(strftime('%s', 'now') AS INTEGER));

-- migration 3: session metadata columns and handle index
ALTER TABLE sessiongate_sessions ADD COLUMN created_ip TEXT;
ALTER TABLE sessiongate_sessions ADD COLUMN last_ip TEXT;
ALTER TABLE sessiongate_sessions ADD COLUMN user_agent TEXT;
CREATE INDEX IF NOT EXISTS sessiongate_sessions_handle ON sessiongate_sessions (handle);
INSERT OR IGNORE INTO sessiongate_schema_migrations (version, name, applied_at) VALUES (3, 'session metadata columns and handle index', CAST(strftime('%s', 'now') AS INTEGER));

COMMIT;
