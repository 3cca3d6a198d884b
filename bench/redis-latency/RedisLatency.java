import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.TestData;

/**
 * What Redis adds to a request: two proxies in this JVM in front of one fake Cerebras,
 * the same client with limits on both (so every request is checked and settled), one
 * counting in memory and one in Redis. Requests go one at a time, in rounds that
 * alternate between the two, so both see the same machine. Prints p50/p90/p99 of each
 * and the difference. Run by bench/redis-latency.sh, which starts redis-server.
 *
 * <p>Usage: RedisLatency REDIS_URL [rounds] [requestsPerRound]
 */
public final class RedisLatency
{
    private static final String TOKEN = "tok-bench-SECRET-1";
    private static final String TOKENS = "{\"bench\":{\"token\":\"" + TOKEN + "\",\"requests_per_minute\":1000000000,\"tokens_per_minute\":1000000000000}}";

    public static void main(String[] args) throws Exception
    {
        String redisUrl = args[0];
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int perRound = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest off = ProxyUnderTest.start(upstream, ProxySettings.CLIENT_TOKENS, TOKENS);
             ProxyUnderTest on = ProxyUnderTest.start(upstream, ProxySettings.CLIENT_TOKENS, TOKENS, RedisSettings.URL, redisUrl))
        {
            if (!"ok".equals(on.context().shared().redis().label()))
                throw new IllegalStateException("Redis at " + redisUrl + " does not answer");
            ProxyUnderTest[] proxies = {off, on};
            // Warm-up: JIT, connections (client to proxy, proxy to upstream, proxy to Redis).
            for (ProxyUnderTest proxy : proxies)
                measure(client, proxy, 2000, upstream);
            List<long[]> offTimes = new ArrayList<>();
            List<long[]> onTimes = new ArrayList<>();
            for (int round = 0; round < rounds; round++)
            {
                // Alternate which goes first, so neither always follows the other's garbage.
                boolean offFirst = round % 2 == 0;
                (offFirst ? offTimes : onTimes).add(measure(client, offFirst ? off : on, perRound, upstream));
                (offFirst ? onTimes : offTimes).add(measure(client, offFirst ? on : off, perRound, upstream));
            }
            if (!"ok".equals(on.context().shared().redis().label()))
                throw new IllegalStateException("Redis went degraded during the run: its figures would be memory's");
            long[] a = merged(offTimes);
            long[] b = merged(onTimes);
            System.out.printf("requests: %d per proxy (%d rounds of %d, alternating), one at a time, HTTP/1.1 keep-alive, loopback%n", a.length, rounds, perRound);
            System.out.printf("%-18s %9s %9s %9s%n", "proxy", "p50 (us)", "p90 (us)", "p99 (us)");
            row("redis off", a);
            row("redis on", b);
            System.out.printf("%-18s %9.1f %9.1f %9.1f%n", "added by redis", (pct(b, 50) - pct(a, 50)) / 1e3, (pct(b, 90) - pct(a, 90)) / 1e3, (pct(b, 99) - pct(a, 99)) / 1e3);
            System.out.printf("per-round p50 added (us):");
            for (int i = 0; i < rounds; i++)
                System.out.printf(" %.0f", (pct(sorted(onTimes.get(i)), 50) - pct(sorted(offTimes.get(i)), 50)) / 1e3);
            System.out.println();
        }
    }

    private static long[] measure(HttpClient client, ProxyUnderTest proxy, int count, FakeCerebras upstream) throws Exception
    {
        URI uri = proxy.uri("/v1/chat/completions");
        HttpRequest request = HttpRequest.newBuilder(uri).header("Content-Type", "application/json").header("Authorization", "Bearer " + TOKEN)
            .POST(HttpRequest.BodyPublishers.ofString(TestData.CHAT)).build();
        long[] nanos = new long[count];
        for (int i = 0; i < count; i++)
        {
            long start = System.nanoTime();
            HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());
            nanos[i] = System.nanoTime() - start;
            if (response.statusCode() != 200)
                throw new IllegalStateException("answered " + response.statusCode());
        }
        upstream.forgetReceived(); // the fake keeps what it received; a long run must not fill the heap
        return nanos;
    }

    private static long[] merged(List<long[]> parts)
    {
        return sorted(parts.stream().flatMapToLong(Arrays::stream).toArray());
    }

    private static long[] sorted(long[] values)
    {
        long[] copy = values.clone();
        Arrays.sort(copy);
        return copy;
    }

    private static double pct(long[] sorted, int percentile)
    {
        return sorted[Math.min(sorted.length - 1, (int)Math.ceil(percentile / 100.0 * sorted.length) - 1)];
    }

    private static void row(String name, long[] sorted)
    {
        System.out.printf("%-18s %9.1f %9.1f %9.1f%n", name, pct(sorted, 50) / 1e3, pct(sorted, 90) / 1e3, pct(sorted, 99) / 1e3);
    }
}
