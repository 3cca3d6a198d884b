package dev.cerebrasproxy;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Server-sent events reach the client one by one, as upstream produces them. */
class StreamingTest
{
    private static FakeCerebras upstream;
    private static ProxyUnderTest proxy;

    @BeforeAll
    static void start() throws Exception
    {
        upstream = new FakeCerebras();
        proxy = ProxyUnderTest.start(upstream);
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

    private static HttpResponse<InputStream> stream() throws Exception
    {
        return Http.CLIENT.send(HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .header("Accept", "text/event-stream")
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama3.1-8b\",\"stream\":true,\"messages\":[]}"))
            .build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    @Test
    void eachEventArrivesBeforeUpstreamSendsTheNext() throws Exception
    {
        EventStream events = new EventStream(20);
        upstream.otherwise(events.reply());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
        {
            HttpResponse<InputStream> response = stream();
            assertEquals(200, response.statusCode());
            assertEquals("text/event-stream", response.headers().firstValue("Content-Type").orElseThrow());
            assertEquals("no", response.headers().firstValue("X-Accel-Buffering").orElseThrow());
            try (InputStream body = response.body())
            {
                events.readAll(body);
                assertEquals(-1, body.read(), "the stream ends cleanly after [DONE]");
            }
        });
        assertFalse(events.gateTimedOut());
    }

    @Test
    void aStreamAfterA429FromTheFirstKeyStillFlowsEventByEvent() throws Exception
    {
        EventStream events = new EventStream(5);
        upstream.answer(ReplayTest.ALPHA, FakeCerebras.json(429, ReplayTest.RATE_LIMITED));
        upstream.answer(ReplayTest.BRAVO, FakeCerebras.json(429, ReplayTest.RATE_LIMITED));
        upstream.answer(ReplayTest.CHARLIE, events.reply());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () ->
        {
            HttpResponse<InputStream> response = stream();
            assertEquals(200, response.statusCode());
            try (InputStream body = response.body())
            {
                events.readAll(body);
            }
        });
    }

    @Test
    void aNonStreamingAnswerGetsNoAccelBufferingHeader() throws Exception
    {
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), Http.CHAT);
        assertFalse(response.headers().firstValue("X-Accel-Buffering").isPresent());
    }
}
