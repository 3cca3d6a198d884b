package dev.cerebrasproxy.forward;

import java.net.URI;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.support.FakeCerebras;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.Destination;
import org.eclipse.jetty.client.HttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** What every request to the one upstream shares, worked out once: its destination and each target's URI. */
class RawTargetRequestTest
{
    private FakeCerebras upstream;
    private HttpClient client;
    private RawTargetRequest.Upstream requests;

    @BeforeEach
    void start() throws Exception
    {
        upstream = new FakeCerebras();
        client = new HttpClient();
        client.start();
        URI base = upstream.baseUrl();
        requests = new RawTargetRequest.Upstream(client, URI.create(base.getScheme() + "://" + base.getRawAuthority()));
    }

    @AfterEach
    void stop() throws Exception
    {
        client.stop();
        upstream.close();
    }

    private ContentResponse get(String target) throws Exception
    {
        return requests.newRequest(target).timeout(10, TimeUnit.SECONDS).send();
    }

    @Test
    void everyRequestTakesTheDestinationResolvedForTheFirst() throws Exception
    {
        assertNull(requests.destination());
        assertEquals(200, get("/v1/models").getStatus());
        Destination first = requests.destination();
        assertNotNull(first);
        for (int i = 0; i < 3; i++)
            assertEquals(200, get("/v1/models?n=" + i).getStatus());
        assertSame(first, requests.destination());
        assertEquals(1, client.getDestinations().size());
    }

    @Test
    void aStoppedClientsDestinationIsNotTaken() throws Exception
    {
        get("/v1/models");
        client.stop();
        assertNull(requests.destination(), "a stopped destination would fail every request sent to it");
    }

    @Test
    void theHostHeaderIsUpstreamsAuthorityWhetherOrNotTheTargetParsesAsAUri() throws Exception
    {
        String authority = upstream.baseUrl().getRawAuthority();
        get("/v1/models?q=a|b");
        assertEquals("/v1/models?q=a|b", upstream.lastReceived().target());
        assertEquals(authority, upstream.lastReceived().header("Host"));
        get("/v1/models?q=plain");
        assertEquals(authority, upstream.lastReceived().header("Host"));
    }

    @Test
    void eachTargetIsParsedOnceAndOnlyAFewAreRemembered()
    {
        URI once = requests.uriOf("/v1/chat/completions");
        assertEquals(URI.create("http://" + upstream.baseUrl().getRawAuthority() + "/v1/chat/completions"), once);
        assertSame(once, requests.uriOf("/v1/chat/completions"));
        assertNull(requests.uriOf("/v1/models?q=a|b"), "as Jetty's own: no URI for what URI refuses");
        for (int i = 0; i < RawTargetRequest.Upstream.MAX_TARGETS * 2; i++)
            assertEquals("/made-up/" + i, requests.uriOf("/made-up/" + i).getRawPath());
        // Made-up paths emptied what was remembered; a real target is remembered again at once.
        URI again = requests.uriOf("/v1/chat/completions");
        assertEquals(once, again);
        assertSame(again, requests.uriOf("/v1/chat/completions"));
    }

    @Test
    void anEmptyPathGoesOutAsTheRoot() throws Exception
    {
        assertEquals("/", requests.newRequest("").getPath());
        assertEquals("/", requests.newRequest("?x=1").getPath());
        assertEquals("x=1", requests.newRequest("?x=1").getQuery());
    }
}
