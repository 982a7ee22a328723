import RedisWire

/// The Lua scripts of the Redis store. Each runs atomically on the node owning its only key,
/// so every script is cluster-safe.
///
/// A session is a hash under `<prefix>{<storeKey>}`:
/// `d` data (JSON text), `c` created, `l` last seen, `i` idle expiry, `a` absolute expiry,
/// `s` idle window (seconds), `u` user id (empty: none), `h` the `sid` handle, and the metadata
/// `ip` created IP, `lip` last IP, `ua` User-Agent (each absent when unknown). Hashes written
/// before the metadata have none of the last four: they load as before (no metadata), and
/// their first touch adds `h`. Times are Unix seconds in the caller's
/// clock (`now` is an argument everywhere), so tests fast-forward time and proxy clocks, not the
/// Redis clock, decide liveness. Native TTLs are relative (`EXPIRE expiresAt - now`) for the
/// same reason: an absolute `EXPIREAT` would trust two clocks to agree.
///
/// Scripts that read a session return its fields in this order: d c l i a s u h ip lip ua.
///
/// Next to the hashes, `<prefix>s:{<handle>}` maps a handle to its store key (a string with the
/// session's absolute TTL) for revoking by `sid`; see `RedisSessionStore`.
enum RedisSessionScripts {
    /// Fields in reply order.
    static let fields: [RESPArgument] = ["d", "c", "l", "i", "a", "s", "u", "h", "ip", "lip", "ua"]
    static let hmget: RESPArgument = "HMGET"
    /// What a listing reads of a session: every field but the data, in reply order.
    static let summaryFields = Array(fields.dropFirst())

    /// Shared helpers: liveness and an RFC 7396 merge that works on JSON *text*.
    ///
    /// Why not cjson: it turns `[]` into `{}`, rounds integers past 2^53 and re-encodes numbers
    /// with 14 digits. This merge only parses objects (the one thing a merge patch recurses
    /// into) and copies every other value — arrays, strings, numbers — byte for byte. Inputs are
    /// compact JSON from `JSONSerializer` (stored data and patches alike), so key spellings are
    /// canonical and keys compare as raw text.
    private static let prelude = #"""
        local function hmget(key)
          return redis.call('HMGET', key, 'd', 'c', 'l', 'i', 'a', 's', 'u', 'h', 'ip', 'lip', 'ua')
        end
        -- Prunes members whose absolute expiry has passed (so the set cannot grow without bound),
        -- drops `drop` (or nothing when ''), adds `member`, keeps the index's own TTL at its
        -- longest-lived member; returns the members there were before, other than `member`.
        local function index_add(key, now, member, score, drop)
          redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
          if drop ~= '' then redis.call('ZREM', key, drop) end
          local before = redis.call('ZRANGE', key, 0, -1)
          redis.call('ZADD', key, score, member)
          local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
          redis.call('EXPIRE', key, math.max(1, tonumber(top[2]) - now))
          local others = {}
          for _, m in ipairs(before) do
            if m ~= member then others[#others + 1] = m end
          end
          return others
        end
        local function live(f, now)
          return f[1] and now < math.min(tonumber(f[4]), tonumber(f[5]))
        end
        local function skip(s, i)
          return string.find(s, '[^ \t\r\n]', i) or (#s + 1)
        end
        local function string_end(s, i)
          local j = i + 1
          while true do
            local k = string.find(s, '["\\]', j)
            if not k then error('sessiongate: unterminated JSON string') end
            if string.byte(s, k) == 92 then j = k + 2 else return k + 1 end
          end
        end
        local function value_end(s, i)
          local c = string.byte(s, i)
          if c == 34 then return string_end(s, i) end
          if c == 123 or c == 91 then
            local depth, j = 0, i
            while true do
              local k = string.find(s, '[%[%]{}"]', j)
              if not k then error('sessiongate: unbalanced JSON') end
              local b = string.byte(s, k)
              if b == 34 then
                j = string_end(s, k)
              elseif b == 123 or b == 91 then
                depth = depth + 1
                j = k + 1
              else
                depth = depth - 1
                j = k + 1
                if depth == 0 then return j end
              end
            end
          end
          return string.find(s, '[,}%] \t\r\n]', i) or (#s + 1)
        end
        -- Keys in order (raw, quoted) and raw values by key; nil when s is not an object.
        local function parse_object(s)
          local i = skip(s, 1)
          if string.byte(s, i) ~= 123 then return nil end
          local keys, values = {}, {}
          i = skip(s, i + 1)
          if string.byte(s, i) == 125 then return keys, values end
          while true do
            if string.byte(s, i) ~= 34 then error('sessiongate: bad JSON object key') end
            local key_end = string_end(s, i)
            local key = string.sub(s, i, key_end - 1)
            i = skip(s, key_end)
            if string.byte(s, i) ~= 58 then error('sessiongate: bad JSON object') end
            i = skip(s, i + 1)
            local stop = value_end(s, i)
            if values[key] == nil then keys[#keys + 1] = key end
            values[key] = string.sub(s, i, stop - 1)
            i = skip(s, stop)
            local c = string.byte(s, i)
            if c == 125 then return keys, values end
            if c ~= 44 then error('sessiongate: bad JSON object') end
            i = skip(s, i + 1)
          end
        end
        local function merge(target, patch)
          local patch_keys, patch_values = parse_object(patch)
          if not patch_keys then return patch end
          local keys, values = parse_object(target or '')
          if not keys then keys, values = {}, {} end
          for _, key in ipairs(patch_keys) do
            local value = patch_values[key]
            if value == 'null' then
              values[key] = nil
            else
              if values[key] == nil then keys[#keys + 1] = key end
              values[key] = merge(values[key], value)
            end
          end
          local parts = {}
          for _, key in ipairs(keys) do
            if values[key] ~= nil then parts[#parts + 1] = key .. ':' .. values[key] end
          end
          return '{' .. table.concat(parts, ',') .. '}'
        end

        """#

    private static func script(_ body: String) -> RedisScript { RedisScript(prelude + body) }

    /// KEYS: session. ARGV: d c l i a s u h ip lip ua ttl (metadata '' when unknown: not
    /// written). Writes a whole session with its native TTL.
    static let write = script(
        #"""
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'd', ARGV[1], 'c', ARGV[2], 'l', ARGV[3], 'i', ARGV[4], 'a', ARGV[5],
          's', ARGV[6], 'u', ARGV[7], 'h', ARGV[8])
        local names = {'ip', 'lip', 'ua'}
        for k = 1, 3 do
          if ARGV[8 + k] ~= '' then redis.call('HSET', KEYS[1], names[k], ARGV[8 + k]) end
        end
        redis.call('EXPIRE', KEYS[1], ARGV[12])
        return 1
        """#)

    /// KEYS: session. ARGV: now, client IP ('' unknown: `lip` stays), handle. Slides the idle
    /// expiry (capped by the absolute one) and records the last IP. Returns the fields followed
    /// by '1' when the hash had no handle (written before handles were kept) and got `handle`.
    static let touch = script(
        #"""
        local now = tonumber(ARGV[1])
        local f = hmget(KEYS[1])
        if not live(f, now) then return false end
        local idle = math.min(now + tonumber(f[6]), tonumber(f[5]))
        f[3] = ARGV[1]
        f[4] = string.format('%d', idle)
        redis.call('HSET', KEYS[1], 'l', f[3], 'i', f[4])
        if ARGV[2] ~= '' then
          f[10] = ARGV[2]
          redis.call('HSET', KEYS[1], 'lip', f[10])
        end
        f[12] = '0'
        if not f[8] then
          f[8] = ARGV[3]
          f[12] = '1'
          redis.call('HSET', KEYS[1], 'h', f[8])
        end
        redis.call('EXPIRE', KEYS[1], math.max(1, idle - now))
        return f
        """#)

    /// KEYS: session. ARGV: now, patch JSON, '1' to set the user (else '0'), user, max data bytes.
    /// Returns the fields followed by the user before the patch.
    static let patch = script(
        #"""
        local now = tonumber(ARGV[1])
        local f = hmget(KEYS[1])
        if not live(f, now) then return false end
        local merged = merge(f[1], ARGV[2])
        if #merged > tonumber(ARGV[5]) then return redis.error_reply('SGTOOLARGE session data over the limit') end
        local previous = f[7]
        f[1] = merged
        if ARGV[3] == '1' then f[7] = ARGV[4] end
        f[7] = f[7] or ''
        redis.call('HSET', KEYS[1], 'd', f[1], 'u', f[7])
        f[12] = previous
        return f
        """#)

    /// KEYS: session. ARGV: now, seconds. Idle window and absolute expiry become `seconds` from now.
    static let setLifetime = script(
        #"""
        local now = tonumber(ARGV[1])
        local f = hmget(KEYS[1])
        if not live(f, now) then return false end
        local expiry = string.format('%d', now + tonumber(ARGV[2]))
        f[3] = ARGV[1]
        f[4] = expiry
        f[5] = expiry
        f[6] = ARGV[2]
        redis.call('HSET', KEYS[1], 'l', f[3], 'i', f[4], 'a', f[5], 's', f[6])
        redis.call('EXPIRE', KEYS[1], math.max(1, tonumber(ARGV[2])))
        return f
        """#)

    /// KEYS: session. ARGV: now. Deletes a live session and returns its fields (for rotation).
    static let take = script(
        #"""
        local f = hmget(KEYS[1])
        if not live(f, tonumber(ARGV[1])) then return false end
        redis.call('DEL', KEYS[1])
        return f
        """#)

    /// KEYS: session. Deletes it; returns its user ('' or nil when none).
    static let destroy = script(
        #"""
        local user = redis.call('HGET', KEYS[1], 'u')
        redis.call('DEL', KEYS[1])
        return user
        """#)

    /// KEYS: session. ARGV: user, now. Deletes the session if it still belongs to `user`;
    /// returns 1 when it was live.
    static let revokeOne = script(
        #"""
        local f = hmget(KEYS[1])
        if not f[1] or f[7] ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        if live(f, tonumber(ARGV[2])) then return 1 end
        return 0
        """#)

    /// KEYS: user index. ARGV: now, member to add, its absolute expiry, member to drop (or '').
    /// See `index_add`; returns 1.
    static let indexAdd = script(
        #"""
        index_add(KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4])
        return 1
        """#)

    /// KEYS: user index. ARGV: now, member joining, its absolute expiry. `indexAdd` for a
    /// session joining the user under `max_per_user`: returns the members that joined before
    /// it (the candidates its bound may end). The index key serialises joins of one user.
    static let indexJoin = script(
        #"""
        return index_add(KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], '')
        """#)

    /// KEYS: handle key. ARGV: store key, TTL. Maps a `sid` handle to its session; returns 1.
    static let mapHandle = script(
        #"""
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
        return 1
        """#)

    /// KEYS: handle key. Forgets a handle (rotated or ended session); returns 1.
    static let unmapHandle = script(
        #"""
        redis.call('DEL', KEYS[1])
        return 1
        """#)

    /// KEYS: session. ARGV: handle, '1' to require the user (else '0'), user, now. Deletes the
    /// session if it is live, has that handle and (when required) that user; returns its user
    /// ('' when none), or false when nothing ended.
    static let revokeHandle = script(
        #"""
        local f = hmget(KEYS[1])
        if not f[1] or f[8] ~= ARGV[1] then return false end
        if ARGV[2] == '1' and f[7] ~= ARGV[3] then return false end
        if not live(f, tonumber(ARGV[4])) then return false end
        redis.call('DEL', KEYS[1])
        return f[7] or ''
        """#)

    /// KEYS: user index. ARGV: now. Prunes, then lists the members (store keys).
    static let indexList = script(
        #"""
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]))
        return redis.call('ZRANGE', KEYS[1], 0, -1)
        """#)
}
