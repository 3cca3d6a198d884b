package dev.cerebrasproxy.ops;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static dev.cerebrasproxy.support.TestData.WRONG_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /_proxy/status and its JSON twin over plain HTTP: what they show, what they never show, and who may see them. */
class StatusPageTest
{
    @RegisterExtension
    final ProxyExtension proxy = // A proxy per test, so each test reads a ledger of its own.
        new ProxyExtension().manualClock().settings(ProxySettings.WAIT_FOR_KEY_MS, "0");

    private HttpResponse<String> get(String path) throws Exception
    {
        return Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri(path)).timeout(Duration.ofSeconds(10)).GET().build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    @Test
    void showsEachKeysStateAndWhenItRecovers() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "42"));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(401, WRONG_KEY));
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());

        HttpResponse<String> page = get("/_proxy/status");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertEquals("no-store", page.headers().firstValue("Cache-Control").orElse(""));
        String html = page.body();
        assertTrue(html.contains("<tr class=\"cooling\"><td class=\"name\">alpha</td><td class=\"state\">cooling</td><td class=\"recovers\">in 42 s</td>"), html);
        assertTrue(html.contains("<td class=\"name\">bravo</td><td class=\"state\">quarantined</td><td class=\"recovers\">re-check in 5 min</td>"), html);
        assertTrue(html.contains("<td class=\"name\">charlie</td><td class=\"state\">available</td>"), html);
        assertTrue(html.contains("<td class=\"name\">alpha</td><td class=\"state\">cooling</td>"), html);
        assertFalse(html.contains("-SECRET-"));

        JsonObject json = JsonParser.parseString(get("/_proxy/status.json").body()).getAsJsonObject();
        JsonObject alpha = json.getAsJsonArray("keys").get(0).getAsJsonObject();
        assertEquals("cooling", alpha.get("state").getAsString());
        assertEquals("request_quota_exceeded", alpha.get("lastError").getAsString());
        // The request is counted as its call completes, which may be just after the client has the answer.
        Poll.untilTrue(Duration.ofSeconds(10), "the anonymous client's request on the page",
            () -> get("/_proxy/status").body().contains("<td class=\"name\">anonymous</td><td class=\"requests\">1</td><td class=\"errors\">0</td><td class=\"tokens\">7</td>"));
        JsonArray clients = JsonParser.parseString(get("/_proxy/status.json").body()).getAsJsonObject().getAsJsonArray("clients");
        assertEquals("anonymous", clients.get(0).getAsJsonObject().get("name").getAsString());
    }

    @Test
    void showsEachOrganizationAndModelsBudget() throws Exception
    {
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "42", "x-ratelimit-limit-tokens-minute", "60000", "x-ratelimit-remaining-tokens-minute", "0"));
        proxy.upstream().otherwise(FakeCerebras.json(200, dev.cerebrasproxy.support.TestData.COMPLETION, "x-ratelimit-limit-tokens-minute", "60000", "x-ratelimit-remaining-tokens-minute", "59000"));
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        String html = get("/_proxy/status").body();
        assertTrue(html.contains("<tr class=\"resting\"><td class=\"organization\">alpha</td><td class=\"model\">llama3.1-8b</td><td class=\"state\">resting</td><td class=\"recovers\">in 42 s</td><td class=\"tokensLeft\">0</td><td class=\"tokenLimit\">60000</td><td class=\"inFlight\">0</td><td class=\"lastError\">request_quota_exceeded</td>"), html);
        assertTrue(html.contains("<td class=\"model\">llama3.1-8b</td><td class=\"state\">available</td><td class=\"recovers\"></td><td class=\"tokensLeft\">59000</td>"), html);
        JsonArray budgets = JsonParser.parseString(get("/_proxy/status.json").body()).getAsJsonObject().getAsJsonArray("budgets");
        assertEquals("alpha", budgets.get(0).getAsJsonObject().get("organization").getAsString());
        assertEquals(0, JsonParser.parseString(get("/_proxy/status.json").body()).getAsJsonObject().getAsJsonArray("waiting").size());
    }

    @Test
    void usageComesFromTheLedgerAndNamesAreEscaped() throws Exception
    {
        UsageLedger ledger = proxy.context().ledger();
        ledger.answered("alpha", "<script>alert(1)</script>", 200);
        ledger.tokens("alpha", "<script>alert(1)</script>", 5, 2);
        ledger.answered(null, "batch-jobs", 503);

        String html = get("/_proxy/status").body();
        assertFalse(html.contains("<script>alert"), html);
        assertTrue(html.contains("<td class=\"name\">&lt;script&gt;alert(1)&lt;/script&gt;</td><td class=\"requests\">1</td><td class=\"errors\">0</td><td class=\"tokens\">7</td>"), html);
        assertTrue(html.contains("<td class=\"name\">batch-jobs</td><td class=\"requests\">1</td><td class=\"errors\">1</td>"), html);
        // The pool's counts outlive reset(), so only the ledger's tokens are checked for the key.
        assertTrue(html.matches("(?s).*<td class=\"name\">alpha</td>(<td class=\"\\w+\">[^<]*</td>){4}<td class=\"tokens\">7</td>.*"), html);

        JsonArray clients = JsonParser.parseString(get("/_proxy/status.json").body()).getAsJsonObject().getAsJsonArray("clients");
        assertEquals(2, clients.size());
    }
}
