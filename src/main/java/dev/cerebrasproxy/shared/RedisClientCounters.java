package dev.cerebrasproxy.shared;

import java.util.List;
import java.util.concurrent.CompletionStage;

import dev.cerebrasproxy.access.ClientCounters;
import dev.cerebrasproxy.access.ClientLimits;
import dev.cerebrasproxy.access.InMemoryClientCounters;

/**
 * Client counts shared by every replica: one Redis hash per client, {@code <prefix>client:{name}},
 * changed only by the scripts below, so two replicas' check-and-count cannot interleave.
 * The hash holds the client's name in its key and numbers in its fields (the minute and
 * day it counts, requests, tokens): never a token. Each answer is mirrored into this
 * replica's memory, so when Redis fails the replica goes on from the shared counts as it
 * last saw them rather than from zero. Counts made while Redis was away stay local.
 */
final class RedisClientCounters implements ClientCounters
{
    /** A day's window plus a day: a hash outlives every window it counts, then goes by itself. */
    private static final String TTL_SECONDS = Long.toString(2 * 86_400);

    /** The counts in the given windows, a count of another window read as zero (the same rule as in memory). */
    private static final String READ = """
        local v = redis.call('HMGET', KEYS[1], 'm', 'r', 'mt', 'd', 'dt')
        local r, mt, dt = 0, 0, 0
        if v[1] == ARGV[1] then r = tonumber(v[2]) or 0; mt = tonumber(v[3]) or 0 end
        if v[4] == ARGV[2] then dt = tonumber(v[5]) or 0 end
        """;
    private static final String WRITE = """
        redis.call('HSET', KEYS[1], 'm', ARGV[1], 'r', r, 'mt', mt, 'd', ARGV[2], 'dt', dt)
        redis.call('EXPIRE', KEYS[1], ARGV[3])
        """;
    /** ARGV: minute, day, ttl, requests/min, tokens/min, tokens/day (-1 unlimited), estimate. The order of InMemoryClientCounters. */
    private static final Script ADMIT = new Script(READ + """
        local rpm, tpm, tpd, estimate = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
        local over, held = 0, 0
        if tpd >= 0 and dt >= tpd then over = 3
        elseif rpm >= 0 and r >= rpm then over = 1
        elseif tpm >= 0 then
          held = math.min(math.max(0, estimate), tpm)
          if mt >= tpm or mt + held > tpm then over = 2 end
        end
        if over == 0 then
          r = r + 1
          mt = mt + held
        """ + WRITE + """
        end
        return {over, r, mt, dt, held}
        """);
    /** ARGV: minute, day, ttl, the reservation's minute, its tokens, the tokens used. */
    private static final Script SETTLE = new Script(READ + """
        local used = tonumber(ARGV[6])
        if ARGV[4] == ARGV[1] then mt = math.max(0, mt - tonumber(ARGV[5]) + used) end
        dt = dt + math.max(0, used)
        """ + WRITE + """
        return {0, r, mt, dt, 0}
        """);

    private final RedisLink link;
    private final String prefix;
    private final InMemoryClientCounters local = new InMemoryClientCounters();

    RedisClientCounters(RedisLink link, String prefix)
    {
        this.link = link;
        this.prefix = prefix;
    }

    @Override
    public CompletionStage<Outcome> tryAdmit(String client, ClientLimits limits, long estimate, long minute, long day)
    {
        List<String> args = List.of(Long.toString(minute), Long.toString(day), TTL_SECONDS,
            Long.toString(limits.requestsPerMinute()), Long.toString(limits.tokensPerMinute()), Long.toString(limits.tokensPerDay()), Long.toString(estimate));
        return link.call(jedis -> ADMIT.run(jedis, List.of(key(client)), args), reply ->
        {
            List<?> values = (List<?>)reply;
            Use use = mirror(client, values, minute, day);
            Over over = switch ((int)number(values, 0))
            {
                case 0 -> null;
                case 1 -> Over.REQUESTS_PER_MINUTE;
                case 2 -> Over.TOKENS_PER_MINUTE;
                default -> Over.TOKENS_PER_DAY;
            };
            return new Outcome(over, over == null ? new Reservation(minute, day, number(values, 4)) : null, use);
        }, () -> local.admitNow(client, limits, estimate, minute, day));
    }

    @Override
    public CompletionStage<Void> settle(String client, Reservation reservation, long tokens, long minute, long day)
    {
        List<String> args = List.of(Long.toString(minute), Long.toString(day), TTL_SECONDS,
            Long.toString(reservation.minute()), Long.toString(reservation.tokens()), Long.toString(tokens));
        return link.call(jedis -> SETTLE.run(jedis, List.of(key(client)), args), reply ->
        {
            mirror(client, (List<?>)reply, minute, day);
            return null;
        }, () ->
        {
            local.settleNow(client, reservation, tokens, minute, day);
            return null;
        });
    }

    /** ARGV: minute, day. Reads only. */
    private static final Script PEEK = new Script(READ + """
        return {0, r, mt, dt, 0}
        """);

    /**
     * This replica's view at once, and a look at Redis behind it, so the next look (the
     * status page refreshes) shows what the other replicas counted too.
     */
    @Override
    public Use use(String client, long minute, long day)
    {
        Use now = local.use(client, minute, day);
        link.call(jedis -> PEEK.run(jedis, List.of(key(client)), List.of(Long.toString(minute), Long.toString(day))), reply -> mirror(client, (List<?>)reply, minute, day), () -> now);
        return now;
    }

    private Use mirror(String client, List<?> values, long minute, long day)
    {
        Use use = new Use(number(values, 1), number(values, 2), number(values, 3));
        local.mirror(client, use, minute, day);
        return use;
    }

    private static long number(List<?> values, int index)
    {
        return ((Number)values.get(index)).longValue();
    }

    /**
     * The client's hash. The name in braces is Redis Cluster's hash tag (all of a client on
     * one node); characters that could make two names one key are percent-encoded.
     */
    String key(String client)
    {
        return prefix + "client:{" + escaped(client) + "}";
    }

    /** A name as part of a key: the characters that could make two names one key, percent-encoded. */
    static String escaped(String name)
    {
        StringBuilder key = new StringBuilder();
        for (char c : name.toCharArray())
        {
            if (c == '{' || c == '}' || c == '%' || c <= ' ' || c == 0x7f)
                key.append('%').append(String.format("%02X", (int)c));
            else
                key.append(c);
        }
        return key.toString();
    }
}
