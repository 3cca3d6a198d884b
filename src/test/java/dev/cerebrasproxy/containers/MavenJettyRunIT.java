package dev.cerebrasproxy.containers;

import dev.cerebrasproxy.support.RawHttp;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** Not even on what Jetty answers itself, before the webapp sees the request (here a malformed header line). */
    @Test
    void noServerHeaderAnnouncesJettysVersion() throws Exception
    {
        String answer = RawHttp.exchange(proxy().port(), "GET /v1/models HTTP/1.1\r\nHost: localhost\r\nno colon here\r\nConnection: close\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
        String head = answer.substring(0, answer.indexOf("\r\n\r\n")).toLowerCase(java.util.Locale.ROOT);
        assertFalse(head.contains("server: jetty"), head);
    }
}
