package dev.cerebrasproxy.access;

import java.lang.reflect.Proxy;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The status page behind the webapp's real admin access: PROXY_ADMIN_TOKEN, as a header or as a browser's ?token=. */
class AdminAccessTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.ADMIN_TOKEN, "admin-token-7");

    private static HttpResponse<String> get(String path, String... headers) throws Exception
    {
        HttpRequest.Builder request = HttpRequest.newBuilder(proxy.uri(path)).timeout(Duration.ofSeconds(10)).GET();
        for (int i = 0; i + 1 < headers.length; i += 2)
            request.header(headers[i], headers[i + 1]);
        HttpResponse<String> response = Http.CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertFalse(response.body().contains("admin-token-7"), "the page never shows the admin token");
        return response;
    }

    private static int status(String path, String... headers) throws Exception
    {
        return get(path, headers).statusCode();
    }

    @Test
    void theAdminTokenGuardsThePageAndItsJson() throws Exception
    {
        assertEquals(401, status("/_proxy/status"));
        assertEquals(401, status("/_proxy/status.json"));
        assertEquals(401, status("/_proxy/status?token=wrong"));
        assertEquals(200, status("/_proxy/status", "Authorization", "Bearer admin-token-7"));
        assertEquals(200, status("/_proxy/status.json", "Authorization", "Bearer admin-token-7"));
        assertEquals(0, proxy.upstream().received().size());
    }

    /**
     * ?token= is used once: exchanged for a cookie that is not the token, and the browser is
     * sent to the address without it, so no refresh, access log or history holds the token.
     */
    @Test
    void aTokenInTheAddressIsExchangedForACookieAndLeavesTheAddress() throws Exception
    {
        int mark = LogCapture.mark();
        HttpResponse<String> exchanged = get("/_proxy/status?token=admin-token-7");
        assertEquals(303, exchanged.statusCode());
        assertEquals("/_proxy/status", exchanged.headers().firstValue("Location").orElseThrow());
        assertEquals("no-store", exchanged.headers().firstValue("Cache-Control").orElse(""));
        String setCookie = exchanged.headers().firstValue("Set-Cookie").orElseThrow();
        assertFalse(setCookie.contains("admin-token-7"), "the cookie is not the token: " + setCookie);
        List<String> attributes = List.of(setCookie.split(";\\s*"));
        String cookie = attributes.get(0);
        assertTrue(cookie.startsWith(AdminAccess.COOKIE + "="), setCookie);
        assertTrue(attributes.containsAll(List.of("Path=/_proxy/", "HttpOnly", "SameSite=Strict")), setCookie);
        assertFalse(attributes.contains("Secure"), "plain HTTP: a Secure cookie would never come back");

        assertEquals(200, status("/_proxy/status", "Cookie", cookie));
        assertEquals(200, status("/_proxy/status.json", "Cookie", cookie));
        assertEquals(200, status("/_proxy/metrics", "Cookie", cookie));
        assertEquals(401, status("/_proxy/status.json", "Cookie", AdminAccess.COOKIE + "=admin-token-7"), "the token itself is no cookie");
        assertEquals(401, status("/_proxy/status.json", "Cookie", cookie + "x"));

        // Other parameters stay; the token goes, wherever it is.
        assertEquals("/_proxy/status.json?a=1&b=2", get("/_proxy/status.json?a=1&token=admin-token-7&b=2").headers().firstValue("Location").orElseThrow());
        String log = LogCapture.since(mark);
        assertFalse(log.contains("admin-token-7") || log.contains(cookie.substring(cookie.indexOf('=') + 1)), "neither token nor cookie is logged");
    }

    /** The refusal is the one 401 of every admin endpoint (it was invalid_request_error / admin_token_required here before AdminGate went). */
    @Test
    void withAdminAccessOnlyTheTokenLetsIn() throws Exception
    {
        HttpResponse<String> refused = get("/_proxy/status");
        assertEquals(401, refused.statusCode());
        assertEquals("invalid_admin_token", Http.json(refused).get("code").getAsString());
        assertFalse(refused.body().contains("alpha"), "a refusal shows nothing of the pool");
        assertEquals(401, status("/_proxy/status.json"));
        assertEquals(401, status("/_proxy/status?token=wrong"));

        HttpResponse<String> page = get("/_proxy/status", "Authorization", "Bearer admin-token-7");
        assertEquals(200, page.statusCode());
        // The page's refresh carries no query: the cookie lets it in.
        assertTrue(page.body().contains("fetch('status.json',"), page.body());
        assertEquals("no-referrer", page.headers().firstValue("Referrer-Policy").orElse(""));
    }

    /** Metrics and the status page refuse alike: one admin check, one 401. */
    @Test
    void metricsAndTheStatusPageRefuseWithTheSame401() throws Exception
    {
        for (String path : new String[] {"/_proxy/metrics", "/_proxy/status", "/_proxy/status.json"})
        {
            HttpResponse<String> refused = get(path, "Authorization", "Bearer wrong");
            assertEquals(401, refused.statusCode(), path);
            JsonObject error = Http.error(refused);
            assertEquals("authentication_error", error.get("type").getAsString(), path);
            assertEquals("invalid_admin_token", error.get("code").getAsString(), path);
            assertEquals("", error.get("param").getAsString(), path);
            String message = error.get("message").getAsString();
            assertTrue(message.contains("Authorization: Bearer <token>") && message.contains("?token=<token>"), message);
            assertEquals("Bearer", refused.headers().firstValue("WWW-Authenticate").orElse(null), path);
            assertEquals("no-store", refused.headers().firstValue("Cache-Control").orElse(null), path);
        }
    }

    /**
     * Over HTTPS the cookie is Secure, so it never travels in clear text. The test servers
     * speak plain HTTP, so this asks AdminAccess directly, with a request that says it is
     * secure (as a container's is behind its TLS connector).
     */
    @Test
    void overHttpsTheCookieIsSecure() throws Exception
    {
        Map<String, String> headers = new HashMap<>();
        int[] status = {0};
        HttpServletRequest request = (HttpServletRequest)Proxy.newProxyInstance(
            getClass().getClassLoader(), new Class<?>[] {HttpServletRequest.class}, (self, method, args) -> switch (method.getName())
            {
                case "getQueryString" -> "token=admin-token-7";
                case "getParameter" -> "token".equals(args[0]) ? "admin-token-7" : null;
                case "getRequestURI" -> "/_proxy/status";
                case "getContextPath" -> "";
                case "isSecure" -> true;
                default -> throw new UnsupportedOperationException(method.getName());
            });
        HttpServletResponse response = (HttpServletResponse)Proxy.newProxyInstance(
            getClass().getClassLoader(), new Class<?>[] {HttpServletResponse.class}, (self, method, args) ->
            {
                switch (method.getName())
                {
                    case "setStatus" -> status[0] = (Integer)args[0];
                    case "setHeader", "addHeader" -> headers.put((String)args[0], (String)args[1]);
                    case "setContentLength" -> { }
                    default -> throw new UnsupportedOperationException(method.getName());
                }
                return null;
            });
        assertTrue(new AdminAccess(AdminToken.of("admin-token-7")).exchange(request, response));
        assertEquals(303, status[0]);
        assertTrue(List.of(headers.get("Set-Cookie").split(";\\s*")).contains("Secure"), headers.get("Set-Cookie"));
    }
}
