package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.SelfSignedCertificate;
import dev.cerebrasproxy.support.UpstreamTransport;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PROXY_UPSTREAM_PROTOCOL chooses what the proxy speaks to upstream; h2 streams share few connections. */
class UpstreamProtocolTest
{
    /** One request through a proxy in front of this fake with these settings: the HTTP versions upstream saw. */
    private static int requestsOverH2(FakeCerebras upstream, String... settings) throws Exception
    {
        try (upstream; ProxyUnderTest proxy = ProxyUnderTest.start(upstream, settings))
        {
            HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
            assertEquals(200, response.statusCode());
            assertEquals(COMPLETION, response.body());
            return upstream.requestsOverH2();
        }
    }

    @Test
    void autoNegotiatesH2OverTls() throws Exception
    {
        assertEquals(1, requestsOverH2(FakeCerebras.over(UpstreamTransport.H2)));
    }

    @Test
    void autoFallsBackToHttp11WhenTlsUpstreamOffersNoH2() throws Exception
    {
        SelfSignedCertificate certificate = SelfSignedCertificate.shared();
        assertEquals(0, requestsOverH2(FakeCerebras.overTls(certificate),
            ProxySettings.TRUST_STORE, certificate.trustStore().toString(), ProxySettings.TRUST_STORE_PASSWORD, SelfSignedCertificate.PASSWORD));
    }

    @Test
    void autoSpeaksHttp11InClearTextEvenToAnUpstreamThatKnowsH2c() throws Exception
    {
        assertEquals(0, requestsOverH2(new FakeCerebras()));
    }

    @Test
    void h2InClearTextIsPriorKnowledgeH2c() throws Exception
    {
        assertEquals(1, requestsOverH2(new FakeCerebras(), ProxySettings.UPSTREAM_PROTOCOL, "h2"));
    }

    @Test
    void http11IsSpokenOverTlsEvenWhenUpstreamOffersH2() throws Exception
    {
        assertEquals(0, requestsOverH2(FakeCerebras.over(UpstreamTransport.H2), ProxySettings.UPSTREAM_PROTOCOL, "http/1.1"));
    }

    /**
     * 300 requests held open at once, over h2 to a fake announcing 128 streams per
     * connection: they share 3 connections. Jetty's pool on its own assumed a connection
     * still opening carries one request, and opened one per request of the burst.
     */
    @Test
    void aBurstOfStreamsSharesConnectionsUpToWhatUpstreamAnnounces() throws Exception
    {
        int requests = 300;
        CountDownLatch allArrived = new CountDownLatch(requests);
        try (FakeCerebras upstream = FakeCerebras.over(UpstreamTransport.H2);
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            // The pool probes a budget with one request until it has its first answer: one each, first.
            for (int i = 0; i < 3; i++)
                assertEquals(200, Http.post(proxy.uri("/v1/chat/completions"), CHAT).statusCode());
            upstream.otherwise((request, response) ->
            {
                allArrived.countDown();
                // Every request stays open until all are under way at once.
                assertTrue(allArrived.await(30, TimeUnit.SECONDS));
                FakeCerebras.ok().write(request, response);
            });
            List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
            for (int i = 0; i < requests; i++)
                answers.add(Http.CLIENT.sendAsync(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(), HttpResponse.BodyHandlers.ofString()));
            for (CompletableFuture<HttpResponse<String>> answer : answers)
                assertEquals(200, answer.get(60, TimeUnit.SECONDS).statusCode());
            assertEquals(requests + 3, upstream.requestsOverH2());
            assertEquals(3, upstream.connectionsOpened(), "ceil(300 / 128) connections");
        }
    }
}
