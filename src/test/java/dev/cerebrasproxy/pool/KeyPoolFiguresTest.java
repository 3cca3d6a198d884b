package dev.cerebrasproxy.pool;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyUnderTest;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static dev.cerebrasproxy.support.TestData.WRONG_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the learning key pool saves, in figures: calls spent on bad keys, rests that last
 * as long as upstream said, the 503 with no key left. Each figure is printed as a FIGURE
 * line (surefire keeps them in
 * target/surefire-reports/dev.cerebrasproxy.pool.KeyPoolFiguresTest-output.txt):
 * {@code mvn -B test -Dtest=KeyPoolFiguresTest}.
 */
class KeyPoolFiguresTest
{
    private static void figure(String text)
    {
        System.out.println("FIGURE " + text);
    }

    private static HttpResponse<String> chat(ProxyUnderTest proxy) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT);
    }

    /** 4 working keys, one that always answers 429, one invalid: 100 requests cost at most 102 upstream calls. */
    @Test
    void aPoolWithARateLimitedAndAnInvalidKeyWastesAtMostTwoCalls() throws Exception
    {
        try (FakeCerebras fake = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.startOnManualClock(fake, ProxySettings.API_KEYS,
                 "{\"ok1\":\"k-ok1\",\"limited\":\"k-limited\",\"ok2\":\"k-ok2\",\"invalid\":\"k-invalid\",\"ok3\":\"k-ok3\",\"ok4\":\"k-ok4\"}"))
        {
            fake.answer("k-limited", FakeCerebras.json(429, RATE_LIMITED));
            fake.answer("k-invalid", FakeCerebras.json(401, WRONG_KEY));
            int succeeded = 0;
            for (int i = 0; i < 100; i++)
            {
                if (chat(proxy).statusCode() == 200)
                    succeeded++;
                proxy.clock().advance(Duration.ofMillis(20)); // 2 s in all: less than the 429's first guessed rest of 5 s
            }
            int calls = fake.received().size();
            figure("4 working + 1 always-429 + 1 invalid (401) keys, 100 sequential chat completions: "
                + succeeded + " succeeded, " + calls + " upstream calls (limited called " + fake.countFor("k-limited")
                + ", invalid called " + fake.countFor("k-invalid") + "; working keys " + List.of(fake.countFor("k-ok1"), fake.countFor("k-ok2"),
                fake.countFor("k-ok3"), fake.countFor("k-ok4")) + ")");
            assertEquals(100, succeeded);
            assertTrue(calls <= 102, calls + " upstream calls");
            assertEquals(1, fake.countFor("k-invalid"));
        }
    }

    /** The issue's own example, which cost 50 upstream calls for 30 requests with blind round-robin. */
    @Test
    void theIssuesExampleNoLongerPaysForKnownBadKeys() throws Exception
    {
        try (FakeCerebras fake = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.startOnManualClock(fake, ProxySettings.API_KEYS,
                 "{\"ok1\":\"k-ok1\",\"ok2\":\"k-ok2\",\"bad1\":\"k-bad1\",\"bad2\":\"k-bad2\",\"ok3\":\"k-ok3\"}"))
        {
            fake.answer("k-bad1", FakeCerebras.json(429, RATE_LIMITED));
            fake.answer("k-bad2", FakeCerebras.json(500, "{}"));
            for (int i = 0; i < 30; i++)
            {
                assertEquals(200, chat(proxy).statusCode());
                proxy.clock().advance(Duration.ofMillis(20));
            }
            int calls = fake.received().size();
            figure("3 working + 1 always-429 + 1 always-500 keys, 30 sequential requests: " + calls + " upstream calls (was 50 with blind round-robin)");
            assertTrue(calls <= 32, calls + " upstream calls");
        }
    }

    /** A key whose 429 says its window resets in 5 s is left alone for 5 s, and used again after. */
    @Test
    void aKeyWhose429SaysFiveSecondsRestsFiveSeconds() throws Exception
    {
        // A guessed rest of 1 s, so only upstream's announced 5 s can keep alpha out for 5 s.
        try (FakeCerebras fake = new FakeCerebras(); ProxyUnderTest proxy = ProxyUnderTest.startOnManualClock(fake, ProxySettings.RATE_LIMIT_COOLDOWN_MS, "1000"))
        {
            AtomicBoolean limited = new AtomicBoolean(true);
            fake.route(r -> r.key().equals(ALPHA) && limited.getAndSet(false)
                ? FakeCerebras.json(429, RATE_LIMITED, "x-ratelimit-remaining-requests-minute", "0", "x-ratelimit-reset-requests-minute", "5.0")
                : null);
            for (int i = 0; i < 3 && fake.countFor(ALPHA) == 0; i++)
                assertEquals(200, chat(proxy).statusCode());
            assertEquals(1, fake.countFor(ALPHA), "alpha met its 429");

            List<String> timeline = new ArrayList<>();
            long at = 0;
            for (long ms : new long[]{0, 1_000, 2_000, 3_000, 4_000, 4_999})
            {
                proxy.clock().advance(Duration.ofMillis(ms - at));
                at = ms;
                for (int i = 0; i < 3; i++)
                    assertEquals(200, chat(proxy).statusCode());
                timeline.add(ms + "ms:" + (fake.countFor(ALPHA) - 1));
            }
            assertEquals(1, fake.countFor(ALPHA), "not called again within 5 s: " + timeline);
            proxy.clock().advance(Duration.ofMillis(1));
            for (int i = 0; i < 3; i++)
                assertEquals(200, chat(proxy).statusCode());
            timeline.add("5000ms:" + (fake.countFor(ALPHA) - 1));
            figure("key alpha answered 429 with x-ratelimit-reset-requests-minute: 5.0; calls to alpha after it, by time since (3 requests at each step): " + timeline);
            assertEquals(2, fake.countFor(ALPHA), "called again once 5 s have passed: " + timeline);
        }
    }

    /** With every key cooling, the 503 comes without an upstream call and says when the soonest key recovers. */
    @Test
    void withEveryKeyCoolingThe503ComesAtOnceWithTheSoonestRecovery() throws Exception
    {
        try (FakeCerebras fake = new FakeCerebras(); ProxyUnderTest proxy = ProxyUnderTest.startOnManualClock(fake, ProxySettings.WAIT_FOR_KEY_MS, "1000"))
        {
            fake.answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
            fake.answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "20"));
            fake.answer(CHARLIE, FakeCerebras.json(429, "{\"message\":\"Tokens per minute limit exceeded\",\"type\":\"too_many_requests_error\",\"param\":\"quota\",\"code\":\"token_quota_exceeded\"}",
                "x-ratelimit-remaining-tokens-minute", "0", "x-ratelimit-reset-tokens-minute", "10.25"));
            assertEquals(503, chat(proxy).statusCode());
            int callsBefore = fake.received().size();
            proxy.clock().advance(Duration.ofSeconds(4));
            HttpResponse<String> response = chat(proxy);
            int calls = fake.received().size() - callsBefore;
            String retryAfter = response.headers().firstValue("Retry-After").orElseThrow();
            String retryAfterMs = response.headers().firstValue("retry-after-ms").orElseThrow();
            figure("all keys cooling (alpha 30 s, bravo 20 s, charlie 10.25 s), asked 4 s later: " + response.statusCode()
                + " after " + calls + " upstream calls, Retry-After: " + retryAfter + ", retry-after-ms: " + retryAfterMs + ", body " + response.body());
            assertEquals(503, response.statusCode());
            assertEquals(0, calls);
            assertEquals("7", retryAfter);
            assertEquals("6250", retryAfterMs);
        }
    }
}
