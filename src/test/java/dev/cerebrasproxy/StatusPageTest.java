package dev.cerebrasproxy;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import jakarta.servlet.http.HttpServletRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.ReplayTest.ALPHA;
import static dev.cerebrasproxy.ReplayTest.BRAVO;
import static dev.cerebrasproxy.ReplayTest.RATE_LIMITED;
import static dev.cerebrasproxy.SmartPoolTest.WRONG_KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /_proxy/status and its JSON twin over plain HTTP: what they show, what they never show, and who may see them. */
class StatusPageTest
{
    private static FakeCerebras upstream;
    private static ProxyUnderTest proxy;

    /** Stands in for AdminAccess from the other branch: the same method, a fixed token. */
    public static final class TokenAccess
    {
        public boolean allows(HttpServletRequest request)
        {
            return "let-me-in".equals(request.getParameter("token"));
        }
    }

    @BeforeAll
    static void start() throws Exception
    {
        upstream = new FakeCerebras();
        proxy = ProxyUnderTest.startOnManualClock(upstream, ProxySettings.WAIT_FOR_KEY_MS, "0");
    }

    @AfterAll
    static void stop() throws Exception
    {
        proxy.close();
        upstream.close();
    }

    @BeforeEach
    void reset()
    {
        upstream.reset();
        proxy.pool().reset();
    }

    @AfterEach
    void removeAttributes()
    {
        proxy.setContextAttribute(AdminGate.ATTRIBUTE, null);
        proxy.setContextAttribute(StatusServlet.LEDGER_ATTRIBUTE, null);
    }

    private static HttpResponse<String> get(String path) throws Exception
    {
        return Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri(path)).timeout(Duration.ofSeconds(10)).GET().build(),
            HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    @Test
    void showsEachKeysStateAndWhenItRecovers() throws Exception
    {
        upstream.answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED, "retry-after", "42"));
        upstream.answer(BRAVO, FakeCerebras.json(401, WRONG_KEY));
        assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT).statusCode());

        HttpResponse<String> page = get("/_proxy/status");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertEquals("no-store", page.headers().firstValue("Cache-Control").orElse(""));
        String html = page.body();
        assertTrue(html.contains("<tr class=\"cooling\"><td class=\"name\">alpha</td><td class=\"state\">cooling</td><td class=\"recovers\">in 42 s</td>"), html);
        assertTrue(html.contains("<td class=\"name\">bravo</td><td class=\"state\">quarantined</td><td class=\"recovers\">re-check in 5 min</td>"), html);
        assertTrue(html.contains("<td class=\"name\">charlie</td><td class=\"state\">available</td>"), html);
        assertTrue(html.contains(StatusPage.NO_LEDGER), "without a ledger the page says so");
        assertFalse(html.contains("-SECRET-"));

        JsonObject json = JsonParser.parseString(get("/_proxy/status.json").body()).getAsJsonObject();
        JsonObject alpha = json.getAsJsonArray("keys").get(0).getAsJsonObject();
        assertEquals("cooling", alpha.get("state").getAsString());
        assertEquals("request_quota_exceeded", alpha.get("lastError").getAsString());
        assertTrue(json.get("clients").isJsonNull());
    }

    @Test
    void usageComesFromTheLedgerAndNamesAreEscaped() throws Exception
    {
        UsageLedger ledger = new UsageLedger();
        ledger.answered("alpha", "<script>alert(1)</script>", 200);
        ledger.tokens("alpha", "<script>alert(1)</script>", 5, 2);
        ledger.answered(null, "batch-jobs", 503);
        proxy.setContextAttribute(StatusServlet.LEDGER_ATTRIBUTE, ledger);

        String html = get("/_proxy/status").body();
        assertFalse(html.contains("<script>alert"), html);
        assertTrue(html.contains("<td class=\"name\">&lt;script&gt;alert(1)&lt;/script&gt;</td><td class=\"requests\">1</td><td class=\"errors\">0</td><td class=\"tokens\">7</td>"), html);
        assertTrue(html.contains("<td class=\"name\">batch-jobs</td><td class=\"requests\">1</td><td class=\"errors\">1</td>"), html);
        // The pool's counts outlive reset(), so only the ledger's tokens are checked for the key.
        assertTrue(html.matches("(?s).*<td class=\"name\">alpha</td>(<td class=\"\\w+\">[^<]*</td>){4}<td class=\"tokens\">7</td>.*"), html);

        JsonArray clients = JsonParser.parseString(get("/_proxy/status.json").body()).getAsJsonObject().getAsJsonArray("clients");
        assertEquals(2, clients.size());
    }

    @Test
    void recoveryTimesReadAsAPersonWouldSayThem()
    {
        assertEquals("1 s", CooldownPolicy.readable(Duration.ofMillis(1)));
        assertEquals("42 s", CooldownPolicy.readable(Duration.ofSeconds(42)));
        assertEquals("1 min", CooldownPolicy.readable(Duration.ofSeconds(60)));
        assertEquals("1 min 5 s", CooldownPolicy.readable(Duration.ofSeconds(65)));
        assertEquals("2 h 10 min", CooldownPolicy.readable(Duration.ofMinutes(130)));
        assertEquals("25 h", CooldownPolicy.readable(Duration.ofHours(25)));
    }

    @Test
    void withAdminAccessOnlyTheTokenLetsIn() throws Exception
    {
        proxy.setContextAttribute(AdminGate.ATTRIBUTE, new TokenAccess());

        HttpResponse<String> refused = get("/_proxy/status");
        assertEquals(401, refused.statusCode());
        assertEquals("admin_token_required", Http.json(refused).get("code").getAsString());
        assertFalse(refused.body().contains("alpha"), "a refusal shows nothing of the pool");
        assertEquals(401, get("/_proxy/status.json").statusCode());
        assertEquals(401, get("/_proxy/status?token=wrong").statusCode());

        HttpResponse<String> page = get("/_proxy/status?token=let-me-in");
        assertEquals(200, page.statusCode());
        // The page's refresh asks for the JSON with the page's own query, so the token goes along.
        assertTrue(page.body().contains("fetch('status.json' + location.search"), page.body());
        assertEquals(200, get("/_proxy/status.json?token=let-me-in").statusCode());
        assertEquals("no-referrer", page.headers().firstValue("Referrer-Policy").orElse(""));
    }
}
