package dev.cerebrasproxy.forward;

import java.net.http.HttpResponse;
import java.util.List;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keys declared in one organization share its budgets, per model, through the webapp: a 429
 * on one key rests its twin for that model only, and a request no budget can ever hold is
 * answered at once without an upstream call.
 */
class OrganizationBudgetTest
{
    /** alpha and bravo share org-a (object form); charlie is its own (plain form), in one value. */
    static final String KEYS = "{\"alpha\":{\"key\":\"" + ALPHA + "\",\"organization\":\"org-a\"},\"bravo\":{\"key\":\"" + BRAVO + "\",\"organization\":\"org-a\"},\"charlie\":\"" + CHARLIE + "\"}";

    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().manualClock().settings(ProxySettings.API_KEYS, KEYS);

    private static HttpResponse<String> chat(String model, int maxTokens) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), "{\"model\":\"" + model + "\",\"max_completion_tokens\":" + maxTokens + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    }

    @Test
    void aRateLimitOnOneKeyRestsItsTwinForThatModelAndNoOtherModel() throws Exception
    {
        proxy.upstream().route(r -> r.key().equals(ALPHA) || r.key().equals(BRAVO)
            ? (new String(r.body()).contains("model-a") ? FakeCerebras.json(429, RATE_LIMITED, "retry-after", "30") : null) : null);
        for (int i = 0; i < 6; i++)
            assertEquals(200, chat("model-a", 10).statusCode());
        long orgACalls = proxy.upstream().countFor(ALPHA) + proxy.upstream().countFor(BRAVO);
        assertEquals(1, orgACalls, "one 429 for org-a: its twin is not asked for model-a");
        assertEquals(6, proxy.upstream().countFor(CHARLIE));
        proxy.upstream().reset();
        for (int i = 0; i < 6; i++)
            assertEquals(200, chat("model-b", 10).statusCode());
        assertEquals(4, proxy.upstream().countFor(ALPHA) + proxy.upstream().countFor(BRAVO), "model-b is untouched: org-a's two keys take their turns");
    }

    @Test
    void aRequestAboveEveryBudgetsWholeLimitGets429AtOnceAndRestsNoKey() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.json(200, COMPLETION,
            "x-ratelimit-limit-tokens-minute", "1000", "x-ratelimit-remaining-tokens-minute", "990", "x-ratelimit-reset-tokens-minute", "0.6"));
        for (int i = 0; i < 3; i++)
            assertEquals(200, chat("model-a", 10).statusCode());
        int calls = proxy.upstream().received().size();
        HttpResponse<String> response = chat("model-a", 5000);
        assertEquals(429, response.statusCode());
        JsonObject error = Http.error(response);
        assertEquals("token_quota_exceeded", error.get("code").getAsString());
        assertEquals("quota", error.get("param").getAsString());
        String message = error.get("message").getAsString();
        assertTrue(message.contains("estimated at 5002 tokens") && message.contains("the largest is 1000"), message);
        assertEquals("false", response.headers().firstValue("x-should-retry").orElseThrow());
        assertEquals(calls, proxy.upstream().received().size(), "no upstream call");
        assertTrue(proxy.pool().snapshot().stream().allMatch(s -> s.state() == KeyState.AVAILABLE));
        assertEquals(200, chat("model-a", 10).statusCode());
    }

    @Test
    void theKeysFormNamesEachKeysOrganizationAndNoSecretShows() throws Exception
    {
        assertEquals(List.of("org-a", "org-a", "charlie"), proxy.pool().snapshot().stream().map(s -> s.organization()).toList());
        assertFalse(proxy.pool().snapshot().toString().contains("SECRET"));
    }
}
