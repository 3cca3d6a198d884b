package dev.cerebrasproxy.shared;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.support.Concurrently;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.RedisServer;
import dev.cerebrasproxy.support.Replicas;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import redis.clients.jedis.RedisClient;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three replicas of the proxy (each with its own manual clock, all at one moment) in
 * front of one fake Cerebras, sharing one real Redis: a client's limit holds across them,
 * a Redis that dies or stalls fails no request, and a Redis that returns is rejoined
 * without a restart. Redis never sees a token or a key.
 */
class ThreeReplicasTest
{
    @RegisterExtension
    static final RedisServer redis = new RedisServer();

    private static final String TEAM_TOKEN = "tok-team-SECRET-5555";
    private static final String SOLO_TOKEN = "tok-solo-SECRET-6666";
    /** Solo's minute holds one request of the default estimate (8,192 completion tokens), not two. */
    private static final String TOKENS = "{\"team\":{\"token\":\"" + TEAM_TOKEN + "\",\"requests_per_minute\":30},"
        + "\"solo\":{\"token\":\"" + SOLO_TOKEN + "\",\"tokens_per_minute\":10000}}";
    /** Generous for 2 shared cores: this test is about sharing and failing over, not about the default 100 ms. */
    private static final String TIMEOUT_MS = "1000";
    private static final Duration REJOIN_BOUND = Duration.ofSeconds(30);

    @RegisterExtension
    final Replicas replicas = new Replicas(redis);

    private FakeCerebras upstream;

    @BeforeEach
    void start() throws Exception
    {
        upstream = replicas.upstream();
        for (int i = 0; i < 3; i++)
            replicas.start(ProxySettings.CLIENT_TOKENS, TOKENS, RedisSettings.TIMEOUT_MS, TIMEOUT_MS);
    }

    private HttpResponse<String> send(int replica) throws Exception
    {
        return Http.post(replicas.get(replica % 3).uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + TEAM_TOKEN);
    }

    private JsonObject ready(int replica) throws Exception
    {
        HttpResponse<String> response = Http.CLIENT.send(HttpRequest.newBuilder(replicas.get(replica).uri("/_proxy/health/ready")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), "a replica without Redis is still ready: " + response.body());
        return Http.json(response);
    }

    private String redisOnStatusPage(int replica) throws Exception
    {
        HttpResponse<String> response = Http.CLIENT.send(HttpRequest.newBuilder(replicas.get(replica).uri("/_proxy/status.json")).GET().build(), HttpResponse.BodyHandlers.ofString());
        return Http.json(response).get("redis").getAsString();
    }

    private static void assertNoSecretIn(Map<String, String> everything)
    {
        assertFalse(everything.isEmpty(), "the replicas wrote their counts");
        everything.forEach((key, value) ->
        {
            assertFalse(key.contains("SECRET") || value.contains("SECRET"), "a secret in Redis: " + key);
            assertFalse(key.contains("sk-") || value.contains("sk-") || key.contains("tok-") || value.contains("tok-"), "a secret in Redis: " + key);
        });
    }

    @Test
    void aClientsLimitHoldsAcrossTheReplicasAndRedisHoldsNoSecret() throws Exception
    {
        for (int i = 0; i < 3; i++)
            assertEquals("ok", ready(i).get("redis").getAsString());
        for (int i = 0; i < 30; i++)
            assertEquals(200, send(i).statusCode(), "request " + (i + 1));
        for (int i = 30; i < 33; i++)
        {
            HttpResponse<String> refused = send(i);
            assertEquals(429, refused.statusCode(), "request " + (i + 1) + " on replica " + i % 3 + ": " + refused.body());
            assertEquals("client_request_limit_exceeded", Http.error(refused).get("code").getAsString());
            assertEquals("0", refused.headers().firstValue("x-proxy-ratelimit-remaining-requests-minute").orElseThrow());
        }
        assertEquals(30, upstream.received().size(), "no refused request went upstream");
        Map<String, String> everything = redis.everything();
        assertTrue(everything.containsKey("cerebras-proxy:client:{team}"), everything.toString());
        assertTrue(everything.keySet().stream().allMatch(key -> key.startsWith("cerebras-proxy:client:") || key.startsWith("cerebras-proxy:budget:") || key.startsWith("cerebras-proxy:window:")), "client counts, budgets and their windows only: " + everything);
        assertNoSecretIn(everything);
    }

    @Test
    void eachReplicasStatusPageShowsWhatTheOthersCounted() throws Exception
    {
        for (int i = 0; i < 5; i++)
            assertEquals(200, send(0).statusCode());
        // Each look shows this replica's view at once and refreshes it from Redis for the next.
        Poll.untilTrue(Duration.ofSeconds(10), "replica 2's status page to show the 5 requests replica 0 served", () ->
        {
            HttpResponse<String> status = Http.CLIENT.send(HttpRequest.newBuilder(replicas.get(2).uri("/_proxy/status.json")).GET().build(), HttpResponse.BodyHandlers.ofString());
            return Http.json(status).getAsJsonArray("limits").get(0).getAsJsonObject().get("requestsThisMinute").getAsLong() == 5;
        });
    }

    @Test
    void requestsRacingOnAllThreeReplicasCannotBothTakeTheLastOne() throws Exception
    {
        AtomicInteger admitted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        // 12 threads, 5 requests each, every thread on its own rotation of the replicas.
        Concurrently.run(12, thread ->
        {
            for (int i = 0; i < 5; i++)
            {
                int status = send(thread + i).statusCode();
                (status == 200 ? admitted : refused).incrementAndGet();
                assertTrue(status == 200 || status == 429, "status " + status);
            }
        });
        assertEquals(30, admitted.get(), "check and count are one step in Redis");
        assertEquals(30, refused.get());
        assertEquals(30, upstream.received().size());
        for (int i = 0; i < 3; i++)
            assertEquals("ok", ready(i).get("redis").getAsString(), "every answer came from Redis, none from memory");
    }

    @Test
    void redisDyingFailsNoRequestAndReturningRedisIsRejoinedWithoutARestart() throws Exception
    {
        for (int i = 0; i < 12; i++)
            assertEquals(200, send(i).statusCode());
        assertNoSecretIn(redis.everything());
        int logMark = LogCapture.mark();
        redis.kill();
        // Each replica counts on from the shared count it last saw: replica 2 saw the 12th request.
        for (int i = 0; i < 18; i++)
            assertEquals(200, send(2).statusCode(), "request " + (i + 1) + " after Redis died");
        HttpResponse<String> refused = send(2);
        assertEquals(429, refused.statusCode(), "its own memory holds it to the limit: " + refused.body());
        for (int i = 0; i < 2; i++)
            assertEquals(200, send(i).statusCode(), "the others answer too, from their own counts");
        for (int i = 0; i < 3; i++)
        {
            assertEquals("degraded", ready(i).get("redis").getAsString());
            assertEquals("ready", ready(i).get("status").getAsString());
            assertEquals("degraded", redisOnStatusPage(i));
        }
        String log = LogCapture.since(logMark);
        assertEquals(3, log.lines().filter(line -> line.contains("WARN") && line.contains("this replica counts from its own memory")).count(),
            "one WARN per replica, not one per request:\n" + log);
        assertFalse(log.contains("SECRET"), log);

        redis.restart();
        for (int i = 0; i < 3; i++)
        {
            int replica = i;
            Poll.untilTrue(REJOIN_BOUND, "replica " + i + " to rejoin Redis", () -> "ok".equals(ready(replica).get("redis").getAsString()));
        }
        // Redis came back empty: the counts are shared again from there, whatever replica 2 counted alone.
        assertEquals(200, send(0).statusCode());
        assertEquals(200, send(2).statusCode(), "replica 2 counts in Redis again, not in its own memory");
        try (RedisClient client = redis.client())
        {
            assertEquals("2", client.hget("cerebras-proxy:client:{team}", "r"));
        }
        assertNoSecretIn(redis.everything());
    }

    @Test
    void aStalledRedisCostsARequestOneTimeoutAtMostAndFailsNone() throws Exception
    {
        assertEquals(200, send(0).statusCode());
        redis.pause(Duration.ofSeconds(3));
        long start = System.nanoTime();
        HttpResponse<String> answered = send(1);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(200, answered.statusCode(), answered.body());
        assertTrue(millis < 2500, "answered from memory after the " + TIMEOUT_MS + " ms bound, not after Redis's pause: " + millis + " ms");
        assertEquals("degraded", ready(1).get("redis").getAsString());
        Poll.untilTrue(REJOIN_BOUND, "replica 1 to rejoin once Redis answers", () -> "ok".equals(ready(1).get("redis").getAsString()));
        assertEquals(200, send(1).statusCode());
    }

    /**
     * A client that leaves while Redis is slow to check its limits: the call has ended when
     * the check answers, so nothing goes upstream, and what the check reserved of the
     * client's minute goes back (it used to stay held, and the client's next request was
     * refused for tokens it never spent).
     */
    @Test
    void aClientThatLeavesWhileRedisChecksItsLimitsGetsItsReservationBack() throws Exception
    {
        int mark = LogCapture.mark();
        redis.pause(Duration.ofSeconds(2));
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", replicas.get(0).port()))
        {
            byte[] body = CHAT.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + SOLO_TOKEN
                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().write(body);
            socket.getOutputStream().flush();
        }
        Poll.untilTrue(Duration.ofSeconds(10), "the departed request's log line", () -> LogCapture.since(mark).contains("POST /v1/chat/completions 499 "));
        Poll.untilTrue(REJOIN_BOUND, "replica 0 to rejoin once Redis answers", () -> "ok".equals(ready(0).get("redis").getAsString()));
        HttpResponse<String> next = Http.post(replicas.get(0).uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + SOLO_TOKEN);
        assertEquals(200, next.statusCode(), "the departed request holds none of solo's minute: " + next.body());
        assertEquals(1, upstream.received().size(), "only the second request went upstream");
    }
}
