package dev.cerebrasproxy.forward;

import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyUnderTest;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Over HTTP/1.1 each open event stream holds an upstream connection, so the shipped
 * web.xml must let the proxy carry as many streams as bench/run.sh holds open (10,000)
 * without refusing any for want of a connection or a queue slot.
 */
class UpstreamCapacityTest
{
    @Test
    void theShippedConfigurationCarriesTenThousandStreams() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras(); ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            HttpClient client = proxy.servlet().upstreamClient();
            assertTrue(client.getMaxConnectionsPerDestination() >= 10_000, "connections: " + client.getMaxConnectionsPerDestination());
            assertTrue(client.getMaxRequestsQueuedPerDestination() >= 10_000, "queue: " + client.getMaxRequestsQueuedPerDestination());
            // The servlet still answers with these settings.
            assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
        }
    }
}
