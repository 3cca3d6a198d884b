package dev.cerebrasproxy.forward;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.UpstreamTransport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Clients over h2c (the JDK's HTTP client in HTTP/2 mode, which upgrades a clear-text
 * connection), to each upstream transport. Over h2 a body needs no Content-Length.
 */
@ParameterizedClass
@EnumSource(value = UpstreamTransport.class, names = {"HTTP_1_1", "H2"})
class ClientHttp2Test
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension();

    @Parameter
    UpstreamTransport transport;

    @BeforeParameterizedClassInvocation
    static void over(UpstreamTransport transport) throws Exception
    {
        proxy.over(transport);
    }

    private HttpClient h2;

    @BeforeEach
    void upgradeAConnection() throws Exception
    {
        h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
        // The JDK upgrades its first clear-text connection to h2c with this request; what follows goes over h2.
        HttpResponse<String> first = h2.send(HttpRequest.newBuilder(proxy.uri("/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, first.statusCode());
        assertEquals(HttpClient.Version.HTTP_2, first.version());
        FakeCerebras.Received get = proxy.upstream().lastReceived();
        assertEquals(0, get.body().length);
        assertNull(get.header("Transfer-Encoding"), "a GET over h2 goes upstream without a body");
    }

    @Test
    void aPostOverH2WithoutContentLengthKeepsItsBody() throws Exception
    {
        byte[] body = CHAT.getBytes(StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            // A body of unknown length: over h2 the JDK sends it in DATA frames, no Content-Length.
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
            .build();
        HttpResponse<String> response = h2.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(HttpClient.Version.HTTP_2, response.version());
        assertEquals(200, response.statusCode());
        assertEquals(COMPLETION, response.body());
        assertArrayEquals(body, proxy.upstream().lastReceived().body());
    }

    @Test
    void aStreamOverH2ArrivesEventByEvent() throws Exception
    {
        EventStream events = new EventStream(5);
        proxy.upstream().otherwise(events.reply());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
        {
            HttpResponse<InputStream> response = h2.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(HttpClient.Version.HTTP_2, response.version());
            assertEquals(200, response.statusCode());
            try (InputStream in = response.body())
            {
                events.readAll(in);
                assertEquals(-1, in.read());
            }
        });
        assertFalse(events.gateTimedOut());
    }

    @Test
    void aReplayOverH2SendsTheSameBody() throws Exception
    {
        // Whichever key the rotation gives first answers 429: the next key gets the same bytes.
        java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
        proxy.upstream().route(request -> request.method().equals("POST") && first.getAndSet(false) ? FakeCerebras.json(429, RATE_LIMITED) : null);
        byte[] body = CHAT.getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> response = h2.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        java.util.List<FakeCerebras.Received> posts = proxy.upstream().received().stream().filter(r -> r.method().equals("POST")).toList();
        assertEquals(2, posts.size(), "the 429, then the replay");
        for (FakeCerebras.Received post : posts)
            assertArrayEquals(body, post.body());
    }
}
