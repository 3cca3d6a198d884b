package dev.cerebrasproxy;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The status page behind the webapp's real admin access: PROXY_ADMIN_TOKEN, as a header or as a browser's ?token=. */
class StatusPageAdminTokenTest
{
    private static int status(ProxyUnderTest proxy, String path, String... headers) throws Exception
    {
        HttpRequest.Builder request = HttpRequest.newBuilder(proxy.uri(path)).timeout(Duration.ofSeconds(10)).GET();
        for (int i = 0; i + 1 < headers.length; i += 2)
            request.header(headers[i], headers[i + 1]);
        HttpResponse<String> response = Http.CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertFalse(response.body().contains("admin-token-7"), "the page never shows the admin token");
        return response.statusCode();
    }

    @Test
    void theAdminTokenGuardsThePageAndItsJson() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream, ProxySettings.ADMIN_TOKEN, "admin-token-7"))
        {
            assertEquals(401, status(proxy, "/_proxy/status"));
            assertEquals(401, status(proxy, "/_proxy/status.json"));
            assertEquals(401, status(proxy, "/_proxy/status?token=wrong"));
            assertEquals(200, status(proxy, "/_proxy/status?token=admin-token-7"));
            assertEquals(200, status(proxy, "/_proxy/status.json?token=admin-token-7"));
            assertEquals(200, status(proxy, "/_proxy/status", "Authorization", "Bearer admin-token-7"));
            assertEquals(0, upstream.received().size());
        }
    }
}
