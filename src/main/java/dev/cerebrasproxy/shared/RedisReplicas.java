package dev.cerebrasproxy.shared;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import dev.cerebrasproxy.pool.Admission;
import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.Replicas;
import redis.clients.jedis.params.SetParams;

/**
 * The key pool's news, shared through Redis. Each piece is one Lua script that merges it
 * into a hash (the longer rest wins, the newer token report wins, each replica's
 * reservations in a field of their own) and publishes the merged state on one channel in
 * the same step (as "{@code <replica> <json>}", so a replica skips its own news unread); every replica's {@link RedisNews} applies what the others published to
 * its own pool. The request path only reads its pool's memory: a call here returns at once,
 * and the script runs on the link's threads behind it (or not at all while Redis is
 * degraded). So a piece of news reaches the other replicas one Redis round trip after it
 * was learnt; a request they admit within that moment is admitted on what they knew.
 *
 * <p>A budget's reservations and token reports are coalesced: one script queued per budget
 * and kind, run {@link #BATCH} later with the latest state.
 *
 * <p>Hashes: {@code <prefix>budget:{<organization>}:<model>} and {@code <prefix>key:<digest>};
 * names, numbers, error codes and digests only, never a key's value.
 */
final class RedisReplicas implements Replicas
{
    /** As long as a day's rest can last, and a day more: then the hash goes by itself. */
    static final String TTL_MILLIS = Long.toString(2 * 86_400_000L);
    /** A re-check turn is asked once per due moment; the key only has to outlive the asking. */
    private static final long TURN_MILLIS = 3_600_000L;
    /**
     * How long a budget's reservations and token report wait for more news before their
     * script runs: a request's reserve, release and report (and its neighbours') become one
     * script instead of three, at the cost of news 10 ms later. Near a budget's limits the
     * admission check does not wait for this news (it counts in the shared window itself);
     * farther away, another replica's attempts of those 10 ms reach this one's view late,
     * as those of one round trip did at 1 ms.
     * At 1 ms a request cost about 1.4 scripts; at 10 ms about 0.85, which took the median
     * latency Redis adds from 0.44-0.45 to 0.30 ms on the 2-core loopback benchmark (the
     * two alternated in one session; bench/README.md).
     */
    private static final Duration BATCH = Duration.ofMillis(10);

    /** ARGV: channel, replica, organization, model, until (epoch ms), why, learnt limit, ttl. */
    private static final Script REST = new Script("""
        local rest = tonumber(redis.call('HGET', KEYS[1], 'rest')) or 0
        if tonumber(ARGV[5]) > rest then redis.call('HSET', KEYS[1], 'rest', ARGV[5], 'why', ARGV[6]) end
        if tonumber(ARGV[7]) > 0 then redis.call('HSET', KEYS[1], 'rl', ARGV[7]) end
        redis.call('HSET', KEYS[1], 'o', ARGV[3], 'm', ARGV[4])
        redis.call('PEXPIRE', KEYS[1], ARGV[8])
        local v = redis.call('HMGET', KEYS[1], 'rest', 'why', 'rl')
        redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. cjson.encode({t='rest', r=ARGV[2], o=ARGV[3], m=ARGV[4], u=v[1], w=v[2] or '', rl=v[3] or '-1'}))
        """);
    /** ARGV: channel, replica, organization, model, sent at (epoch ms), limit, remaining, ttl. */
    private static final Script TOKENS = new Script("""
        local at = tonumber(redis.call('HGET', KEYS[1], 'tat')) or -1
        if tonumber(ARGV[6]) > 0 then redis.call('HSET', KEYS[1], 'tl', ARGV[6]) end
        if tonumber(ARGV[7]) >= 0 and tonumber(ARGV[5]) >= at then redis.call('HSET', KEYS[1], 'tr', ARGV[7], 'tat', ARGV[5]) end
        redis.call('HSET', KEYS[1], 'o', ARGV[3], 'm', ARGV[4])
        redis.call('PEXPIRE', KEYS[1], ARGV[8])
        local v = redis.call('HMGET', KEYS[1], 'tl', 'tr', 'tat')
        redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. cjson.encode({t='tok', r=ARGV[2], o=ARGV[3], m=ARGV[4], l=v[1] or '-1', n=v[2] or '-1', a=v[3] or '0'}))
        """);
    /**
     * ARGV: channel, replica, organization, model, tokens held, requests sent since last said,
     * now (epoch ms), ttl, and of those sent the ones that went without the admission check
     * (they join the budget's window here, KEYS[2]: no script of their own), the first of
     * their numbers, the window (ms). The window sheds what is older than a window here too:
     * a budget far from its limits is never checked, and its set would grow for as long as
     * its traffic lasts.
     */
    private static final Script RESERVED = new Script("""
        if tonumber(ARGV[5]) > 0 then
          redis.call('HSET', KEYS[1], 'o', ARGV[3], 'm', ARGV[4], 'res:' .. ARGV[2], ARGV[5], 'rat:' .. ARGV[2], ARGV[7])
        else
          redis.call('HSET', KEYS[1], 'o', ARGV[3], 'm', ARGV[4])
          redis.call('HDEL', KEYS[1], 'res:' .. ARGV[2], 'rat:' .. ARGV[2])
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[8])
        local unchecked = tonumber(ARGV[9])
        if unchecked > 0 then
          local first = tonumber(ARGV[10])
          for i = 0, unchecked - 1 do redis.call('ZADD', KEYS[2], ARGV[7], ARGV[2] .. ':' .. (first + i)) end
          redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[7]) - tonumber(ARGV[11]))
          redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[11]) * 2)
        end
        redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. cjson.encode({t='res', r=ARGV[2], o=ARGV[3], m=ARGV[4], n=ARGV[5], s=ARGV[6]}))
        """);
    /**
     * The check-and-count before an attempt goes. KEYS: the budget's window (a sorted set of
     * the attempts every replica sent, scored by when), its hash. ARGV: now (epoch ms),
     * window (ms), the attempt's member, learnt request limit (or -1), this replica's holds
     * with the attempt's estimate, replica, ttl (ms). Returns {1, attempts the window held
     * before this one} (go: counted in the window, the holds set) or {0, epoch ms when the
     * budget has room}: a rest another replica set, a full window, or tokens short.
     */
    private static final Script ADMIT = new Script("""
        local now = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local rest = tonumber(redis.call('HGET', KEYS[2], 'rest'))
        if rest and rest > now then return {0, rest} end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local count = redis.call('ZCARD', KEYS[1])
        local limit = tonumber(ARGV[4])
        if limit > 0 then
          if count >= limit then
            local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
            return {0, math.floor(tonumber(oldest[2]) + window + 1)}
          end
        end
        local mine = tonumber(ARGV[5])
        local b = redis.call('HMGET', KEYS[2], 'tl', 'tr', 'tat')
        local tl, tr, tat = tonumber(b[1]), tonumber(b[2]), tonumber(b[3])
        if tl and tl > 0 and tr and tr >= 0 and tat then
          local left = math.min(tl, tr + tl * math.max(0, now - tat) / window)
          local fields = redis.call('HGETALL', KEYS[2])
          local held = 0
          for i = 1, #fields, 2 do
            local name = fields[i]
            if string.sub(name, 1, 4) == 'res:' and name ~= 'res:' .. ARGV[6] then
              local at = tonumber(redis.call('HGET', KEYS[2], 'rat:' .. string.sub(name, 5))) or 0
              if now - at < window then held = held + (tonumber(fields[i + 1]) or 0) end
            end
          end
          if held + mine > left and mine <= tl then
            return {0, math.floor(now + (held + mine - left) * window / tl + 1)}
          end
        end
        redis.call('ZADD', KEYS[1], now, ARGV[3])
        redis.call('PEXPIRE', KEYS[1], window * 2)
        redis.call('HSET', KEYS[2], 'res:' .. ARGV[6], ARGV[5], 'rat:' .. ARGV[6], ARGV[1])
        redis.call('PEXPIRE', KEYS[2], ARGV[7])
        return {1, count}
        """);
    /** ARGV: channel, replica, digest, 'q' (quarantined) or 'ok', next re-check (epoch ms), reason, ttl. */
    private static final Script KEY = new Script("""
        redis.call('HSET', KEYS[1], 's', ARGV[4], 'u', ARGV[5], 'w', ARGV[6])
        redis.call('PEXPIRE', KEYS[1], ARGV[7])
        redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. cjson.encode({t='key', r=ARGV[2], d=ARGV[3], s=ARGV[4], u=ARGV[5], w=ARGV[6]}))
        """);

    private final RedisLink link;
    private final String prefix;
    final String channel;
    /** This replica, in the news: random per start, so a restarted replica's old reservations are another's and expire. */
    final String me = HexFormat.of().formatHex(new SecureRandom().generateSeed(6));
    private final KeyPool pool;
    private final ConcurrentMap<String, Pending> pending = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Turn> turns = new ConcurrentHashMap<>();
    /** Names this replica's attempts in the windows: each member of a sorted set must differ. */
    private final java.util.concurrent.atomic.AtomicLong attempts = new java.util.concurrent.atomic.AtomicLong();

    /** The latest state of one budget's reservations or token report, waiting for its script. */
    private static final class Pending
    {
        final AtomicBoolean queued = new AtomicBoolean();
        final AtomicReference<List<String>> latest = new AtomicReference<>();
        final AtomicInteger sends = new AtomicInteger();
        /** Of those, sent without the admission check: they join the window with the next script. */
        final AtomicInteger unchecked = new AtomicInteger();
        volatile Duration window = Duration.ofMinutes(1);
    }

    /** One due re-check of one key: null while Redis has not said whose turn it is. */
    private static final class Turn
    {
        final Instant due;
        volatile Boolean ours;

        Turn(Instant due)
        {
            this.due = due;
        }
    }

    RedisReplicas(RedisLink link, String prefix, KeyPool pool)
    {
        this.link = link;
        this.prefix = prefix;
        this.channel = prefix + "news";
        this.pool = pool;
    }

    String budgetKey(String organization, String model)
    {
        return prefix + "budget:{" + RedisClientCounters.escaped(organization) + "}:" + RedisClientCounters.escaped(model);
    }

    String windowKey(String organization, String model)
    {
        return prefix + "window:{" + RedisClientCounters.escaped(organization) + "}:" + RedisClientCounters.escaped(model);
    }

    String keyKey(String digest)
    {
        return prefix + "key:" + digest;
    }

    @Override
    public void rested(String organization, String model, Instant until, String why, int learntRequestLimit)
    {
        // On the calls' lane, not behind the news: the other replicas' admissions read the rest
        // from the hash, and each millisecond it waits behind reservations is an attempt of
        // theirs into the budget this one just found full (7 in one burst, against 2 alone).
        List<String> args = List.of(channel, me, organization, model, millis(until), why == null ? "" : why, Integer.toString(learntRequestLimit), TTL_MILLIS);
        String key = budgetKey(organization, model);
        link.call(jedis -> REST.run(jedis, List.of(key), args), reply -> null, () -> null);
    }

    @Override
    public void tokensReported(String organization, String model, Instant sentAt, long limit, long remaining)
    {
        coalesced("tok", TOKENS, organization, model, List.of(channel, me, organization, model, millis(sentAt), Long.toString(limit), Long.toString(remaining), TTL_MILLIS), false);
    }

    @Override
    public void reserved(String organization, String model, long reserved, boolean sent)
    {
        coalesced("res", RESERVED, organization, model, List.of(channel, me, organization, model, Long.toString(reserved)), sent);
    }

    /**
     * On the calls' lane, as a client check is: a request waits for it. Past the link's
     * timeout, or with Redis away, the attempt goes on this replica's own view (null).
     */
    @Override
    public CompletionStage<Admission> admit(String organization, String model, Instant now, Duration window, int requestLimit, long reserved)
    {
        String member = me + ':' + attempts.incrementAndGet();
        List<String> args = List.of(millis(now), Long.toString(Math.max(1, window.toMillis())), member, Integer.toString(requestLimit), Long.toString(reserved), me, TTL_MILLIS);
        return link.call(jedis -> ADMIT.run(jedis, List.of(windowKey(organization, model), budgetKey(organization, model)), args),
            reply -> answer(reply, member), () -> Admission.GO);
    }

    /**
     * Counted with the budget's next coalesced reservation news (which this request's reserve
     * has queued already), not by a script of its own: each script on the request's way cost
     * the 2-core loopback benchmark about a tenth of a millisecond at the median.
     */
    @Override
    public void sent(String organization, String model, Instant now, Duration window, long reserved)
    {
        Pending slot = slot("res", organization, model);
        slot.window = window;
        slot.unchecked.incrementAndGet();
        coalesced("res", RESERVED, organization, model, List.of(channel, me, organization, model, Long.toString(reserved)), false);
    }

    /** The script's {1, count} is go, counted after {@code count} others; {0, ms} the moment of room. */
    private static Admission answer(Object reply, String member)
    {
        if (reply instanceof List<?> answer && answer.size() == 2 && answer.get(0) instanceof Long go && answer.get(1) instanceof Long number)
            return go == 0 ? Admission.refusedUntil(Instant.ofEpochMilli(number)) : new Admission(null, (int)(long)number, member);
        return Admission.GO;
    }

    /** Behind the request, on the calls' lane as a rest is: until then the window holds one attempt more than upstream counted. */
    @Override
    public void notCounted(String organization, String model, String ticket)
    {
        String window = windowKey(organization, model);
        link.call(jedis -> jedis.zrem(window, ticket), reply -> null, () -> null);
    }

    @Override
    public void quarantined(ApiKey key, Instant recheck, String reason)
    {
        send(KEY, keyKey(key.digest()), List.of(channel, me, key.digest(), "q", millis(recheck), reason == null ? "" : key.redact(reason), TTL_MILLIS));
    }

    @Override
    public void recovered(ApiKey key)
    {
        send(KEY, keyKey(key.digest()), List.of(channel, me, key.digest(), "ok", "0", "", TTL_MILLIS));
    }

    /** SET NX on the due moment's turn: the first replica to ask has it, and Redis unreachable gives it to everyone. */
    @Override
    public Boolean recheckTurn(ApiKey key, Instant due)
    {
        Turn[] asked = new Turn[1];
        Turn turn = turns.compute(key.digest(), (digest, old) -> old != null && old.due.equals(due) ? old : (asked[0] = new Turn(due)));
        if (asked[0] != null)
        {
            String name = prefix + "recheck:" + key.digest() + ":" + millis(due);
            link.tell(jedis -> jedis.set(name, me, SetParams.setParams().nx().px(TURN_MILLIS)), "OK"::equals, () -> Boolean.TRUE)
                .thenAccept(ours -> turn.ours = ours);
        }
        return turn.ours;
    }

    private void send(Script script, String key, List<String> args)
    {
        link.tell(jedis -> script.run(jedis, List.of(key), args), reply -> null, () -> null);
    }

    /**
     * One script per budget and kind at a time, with the newest arguments when it runs; the
     * requests sent meanwhile are added up. Arguments after the first five: sends, now, ttl
     * for reservations; none more for reports (they hold their own).
     */
    private Pending slot(String kind, String organization, String model)
    {
        return pending.computeIfAbsent(kind + '\n' + organization + '\n' + model, k -> new Pending());
    }

    private void coalesced(String kind, Script script, String organization, String model, List<String> args, boolean sent)
    {
        Pending slot = slot(kind, organization, model);
        slot.latest.set(args);
        if (sent)
            slot.sends.incrementAndGet();
        if (!slot.queued.compareAndSet(false, true))
            return;
        String key = budgetKey(organization, model);
        link.later(BATCH, () -> link.tell(jedis ->
        {
            // Cleared before reading: news that comes after this read queues a script of its own.
            slot.queued.set(false);
            List<String> latest = slot.latest.get();
            if (script != RESERVED)
                return script.run(jedis, List.of(key), latest);
            int unchecked = slot.unchecked.getAndSet(0);
            long first = attempts.getAndAdd(unchecked) + 1;
            latest = List.of(latest.get(0), latest.get(1), latest.get(2), latest.get(3), latest.get(4),
                Integer.toString(slot.sends.getAndSet(0)), millis(pool.now()), TTL_MILLIS,
                Integer.toString(unchecked), Long.toString(first), Long.toString(Math.max(1, slot.window.toMillis())));
            return script.run(jedis, List.of(key, windowKey(organization, model)), latest);
        }, reply -> null, () ->
        {
            slot.queued.set(false);
            slot.sends.set(0);
            slot.unchecked.set(0);
            return null;
        }));
    }

    private static String millis(Instant instant)
    {
        return Long.toString(instant.toEpochMilli());
    }
}
