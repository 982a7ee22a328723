-- SessionGate session store schema for PostgreSQL.
-- Generated from the migrations the proxy applies at start; running it by hand is
-- equivalent and idempotent. Do not edit: regenerate with `sessiongate migrate --print-sql`.

BEGIN;

SELECT pg_advisory_xact_lock(8315179226502362213);

CREATE TABLE IF NOT EXISTS sessiongate_schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at bigint NOT NULL
);

-- migration 1: sessions table and user index
CREATE TABLE IF NOT EXISTS sessiongate_sessions (
    store_key text PRIMARY KEY,
    handle text NOT NULL,
    data jsonb NOT NULL,
    user_id text,
    created_at bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    idle_expires_at bigint NOT NULL,
    absolute_expires_at bigint NOT NULL,
    idle_seconds bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS sessiongate_sessions_user_id
    ON sessiongate_sessions (user_id) WHERE user_id IS NOT NULL;
INSERT INTO sessiongate_schema_migrations (version, name, applied_at) VALUES (1, 'sessions table and user index', extract(epoch FROM now())::bigint) ON CONFLICT (version) DO NOTHING;

-- migration 2: merge patch function, user id function and sweeper index
CREATE OR REPLACE FUNCTION sessiongate_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    result jsonb;
    member record;
BEGIN
    IF patch IS NULL OR jsonb_typeof(patch) <> 'object' THEN
        RETURN patch;
    END IF;
    IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
        result := '{}'::jsonb;
    ELSE
        result := target;
    END IF;
    FOR member IN SELECT key, value FROM jsonb_each(patch) LOOP
        IF jsonb_typeof(member.value) = 'null' THEN
            result := result - member.key;
        ELSE
            result := jsonb_set(result, ARRAY[member.key],
                sessiongate_merge_patch(result -> member.key, member.value));
        END IF;
    END LOOP;
    RETURN result;
END;
$$;
CREATE OR REPLACE FUNCTION sessiongate_user_id(data jsonb, user_key text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(data -> user_key)
        WHEN 'string' THEN data ->> user_key
        WHEN 'number' THEN data ->> user_key
    END
$$;
CREATE INDEX IF NOT EXISTS sessiongate_sessions_expiry
    ON sessiongate_sessions ((LEAST(idle_expires_at, absolute_expires_at)));
INSERT INTO sessiongate_schema_migrations (version, name, applied_at) VALUES (2, 'merge patch function, user id function and sweeper index', extract(epoch FROM now())::bigint) ON CONFLICT (version) DO NOTHING;

-- migration 3: session metadata columns and handle index
ALTER TABLE sessiongate_sessions ADD COLUMN IF NOT EXISTS created_ip text, ADD COLUMN IF NOT EXISTS last_ip text, ADD COLUMN IF NOT EXISTS user_agent text;
CREATE INDEX IF NOT EXISTS sessiongate_sessions_handle ON sessiongate_sessions (handle);
INSERT INTO sessiongate_schema_migrations (version, name, applied_at) VALUES (3, 'session metadata columns and handle index', extract(epoch FROM now())::bigint) ON CONFLICT (version) DO NOTHING;

COMMIT;
