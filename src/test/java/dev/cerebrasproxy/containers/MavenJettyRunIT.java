package dev.cerebrasproxy.containers;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import dev.cerebrasproxy.support.Http;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The smoke suite on README's `mvn jetty:run`, and what that command sets up itself. */
class MavenJettyRunIT extends ContainerSmokeSuite
{
    MavenJettyRunIT()
    {
        super(new MavenJettyRun());
    }

    /** Started without -Djetty.http.host: an open pool on a developer's machine is not the LAN's. */
    @Test
    void itListensOnLoopbackUnlessToldOtherwise()
    {
        String log = proxy().log();
        assertTrue(log.contains("ServerConnector@") && log.contains("{127.0.0.1:" + proxy().port() + "}"),
            "the connector is bound to 127.0.0.1 only:\n" + log.lines().filter(line -> line.contains("ServerConnector")).reduce("", (a, b) -> a + b + "\n"));
    }

    @Test
    void noServerHeaderAnnouncesJettysVersion() throws Exception
    {
        HttpResponse<String> health = Http.CLIENT.send(HttpRequest.newBuilder(proxy().uri("/_proxy/health")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode());
        assertTrue(health.headers().firstValue("Server").isEmpty(), "Server: " + health.headers().firstValue("Server").orElse(""));
    }
}
