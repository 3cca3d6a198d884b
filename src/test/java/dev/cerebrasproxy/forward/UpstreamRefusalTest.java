package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.FlakyFront;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.UpstreamTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * h2 lets upstream say it did not process a stream it was sent whole: a reset with
 * REFUSED_STREAM, or a GOAWAY whose last stream is below it (RFC 9113, 8.7), as a front
 * such as Cloudflare does when it sheds load or closes a connection gracefully. Such a
 * request goes again, with the same key, since the key was asked nothing; a stream reset
 * for any other reason once its request was whole may have been processed, and is not
 * replayed (as a drop over HTTP/1.1).
 *
 * <p>Over h2c: {@link FlakyFront} speaks just enough h2 in clear text to refuse. Jetty's
 * client reports the same failures over TLS.
 */
class UpstreamRefusalTest
{
    /** One key: a replay with another key cannot hide a failed request. */
    private static final String ONE_KEY = "{\"alpha\":\"" + ALPHA + "\"}";

    @ParameterizedTest
    @EnumSource(value = FlakyFront.Fault.class, names = {"REFUSE_STREAM", "GO_AWAY"})
    void aStreamUpstreamDidNotProcessGoesAgainWithTheSameKey(FlakyFront.Fault fault) throws Exception
    {
        try (FakeCerebras upstream = FakeCerebras.over(UpstreamTransport.H2C);
             FlakyFront front = new FlakyFront(upstream, 1, fault);
             ProxyUnderTest proxy = ProxyUnderTest.startVia(front.baseUrl(), upstream, ProxySettings.API_KEYS, ONE_KEY))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(200, response.statusCode(), response.body());
            assertEquals(COMPLETION, response.body());
            assertEquals(1, upstream.received().size());
            assertEquals(2, front.accepted(), "the refusing connection, then one that carried the request");
            assertEquals(KeyState.AVAILABLE, proxy.pool().snapshot().get(0).state(), "the key was asked nothing: it stays in rotation");
        }
    }

    /**
     * A burst on one connection: the refused stream and every stream past the GOAWAY's last
     * go again, each with the same key, and each reaches upstream once.
     */
    @ParameterizedTest
    @EnumSource(value = FlakyFront.Fault.class, names = {"REFUSE_STREAM", "GO_AWAY"})
    void aBurstUpstreamDidNotProcessIsAnsweredWhole(FlakyFront.Fault fault) throws Exception
    {
        int requests = 20;
        try (FakeCerebras upstream = FakeCerebras.over(UpstreamTransport.H2C);
             FlakyFront front = new FlakyFront(upstream, 1, fault);
             ProxyUnderTest proxy = ProxyUnderTest.startVia(front.baseUrl(), upstream, ProxySettings.API_KEYS, ONE_KEY))
        {
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < requests; i++)
                answers.add(Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString()));
            for (CompletableFuture<HttpResponse<String>> answer : answers)
            {
                HttpResponse<String> response = answer.get(30, TimeUnit.SECONDS);
                assertEquals(200, response.statusCode(), response.body());
                assertEquals(COMPLETION, response.body());
            }
            assertEquals(requests, upstream.received().size());
        }
    }

    /** An upstream that refuses every stream: the request still ends, after a bounded number of tries. */
    @Test
    void anUpstreamThatRefusesEveryStreamIsAnsweredBadGateway() throws Exception
    {
        try (FakeCerebras upstream = FakeCerebras.over(UpstreamTransport.H2C);
             FlakyFront front = new FlakyFront(upstream, Integer.MAX_VALUE, FlakyFront.Fault.REFUSE_STREAM);
             ProxyUnderTest proxy = ProxyUnderTest.startVia(front.baseUrl(), upstream, ProxySettings.API_KEYS, ONE_KEY))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(502, response.statusCode(), response.body());
            assertEquals("upstream_unreachable", Http.error(response).get("code").getAsString());
            assertTrue(front.accepted() <= 1 + Attempts.RECONNECTS, "connections: " + front.accepted());
            assertEquals(0, upstream.received().size());
        }
    }

    @Test
    void aStreamResetForAnotherReasonAfterItsRequestIsNotReplayed() throws Exception
    {
        try (FakeCerebras upstream = FakeCerebras.over(UpstreamTransport.H2C);
             FlakyFront front = new FlakyFront(upstream, 1, FlakyFront.Fault.RESET_AFTER_REQUEST);
             ProxyUnderTest proxy = ProxyUnderTest.startVia(front.baseUrl(), upstream, ProxySettings.API_KEYS, ONE_KEY))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(502, response.statusCode(), response.body());
            assertEquals("upstream_dropped", Http.error(response).get("code").getAsString());
            assertEquals(0, upstream.received().size());
            assertEquals(1, front.accepted());
        }
    }
}
