package dev.cerebrasproxy.ops;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Through the proxy: alpha and bravo are one organization upstream, declared as two;
 * upstream's remaining requests-day shows it, the pool says so in its log and on the
 * status page, and a 429 for that organization then costs one upstream call, not two.
 */
class UndeclaredOrganizationTest
{
    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.WAIT_FOR_KEY_MS, "0");

    /** Cerebras's count of requests per day: one for alpha and bravo, one for charlie. */
    private final AtomicLong alphaAndBravo = new AtomicLong(14_400);
    private final AtomicLong charlie = new AtomicLong(14_400);

    private void upstreamCountsPerOrganization()
    {
        proxy.upstream().otherwise((request, response) ->
        {
            AtomicLong count = request.key().equals(ALPHA) || request.key().equals(BRAVO) ? alphaAndBravo : charlie;
            FakeCerebras.json(200, COMPLETION, "x-ratelimit-limit-requests-day", "14400",
                "x-ratelimit-remaining-requests-day", Long.toString(count.decrementAndGet()), "x-ratelimit-reset-requests-day", "33011.38").write(request, response);
        });
    }

    private JsonObject status() throws Exception
    {
        return JsonParser.parseString(Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/status.json")).GET().build(),
            HttpResponse.BodyHandlers.ofString()).body()).getAsJsonObject();
    }

    @Test
    void keysWhoseCountsAreOneAreFoundToShareAnOrganizationAndRestTogether() throws Exception
    {
        upstreamCountsPerOrganization();
        int mark = LogCapture.mark();
        // Round-robin over three keys: seven answers each, alpha's and bravo's counts interleaving.
        for (int i = 0; i < 21; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());

        String log = LogCapture.since(mark);
        assertEquals(1, log.lines().filter(l -> l.contains("share one organization at Cerebras")).count(), log);
        assertTrue(log.contains("keys [bravo] and [alpha] share one organization"), log);
        assertFalse(log.contains("-SECRET-"), log);
        JsonObject status = status();
        JsonArray organizations = status.getAsJsonArray("organizations");
        assertEquals(1, organizations.size(), status.toString());
        JsonObject found = organizations.get(0).getAsJsonObject();
        assertEquals("alpha", found.get("organization").getAsString());
        assertEquals("alpha, bravo", found.get("keys").getAsString());
        assertEquals("bravo", found.get("joined").getAsString());
        assertTrue(found.get("concluded").getAsString().contains("requests-day for llama3.1-8b"), found.toString());
        String page = Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/_proxy/status")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(page.contains("<td class=\"keys\">alpha, bravo</td>"), page);

        // Their organization is rate limited: upstream refuses both keys, and one refusal rests both.
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30"));
        proxy.upstream().forgetReceived();
        for (int i = 0; i < 6; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        long refused = proxy.upstream().countFor(ALPHA) + proxy.upstream().countFor(BRAVO);
        assertEquals(1, refused, "the second key of the organization was not tried after the first one's 429");
    }

    @Test
    void keysOfOrganizationsApartAreNotJoined() throws Exception
    {
        // Each key its own count, all at the same values: the same numbers, never interleaving.
        java.util.Map<String, AtomicLong> counts = new java.util.concurrent.ConcurrentHashMap<>();
        proxy.upstream().otherwise((request, response) -> FakeCerebras.json(200, COMPLETION, "x-ratelimit-remaining-requests-day",
            Long.toString(counts.computeIfAbsent(request.key(), k -> new AtomicLong(14_400)).decrementAndGet())).write(request, response));
        for (int i = 0; i < 30; i++)
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        assertEquals(0, status().getAsJsonArray("organizations").size());
    }
}
