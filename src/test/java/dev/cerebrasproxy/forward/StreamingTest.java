package dev.cerebrasproxy.forward;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.UpstreamTransport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Server-sent events reach the client one by one, as upstream produces them. */
@ParameterizedClass
@EnumSource(UpstreamTransport.class)
class StreamingTest
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
        proxy.upstream().otherwise(events.reply());
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
        proxy.upstream().answer(ALPHA, FakeCerebras.json(429, RATE_LIMITED));
        proxy.upstream().answer(BRAVO, FakeCerebras.json(429, RATE_LIMITED));
        proxy.upstream().answer(CHARLIE, events.reply());
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
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertFalse(response.headers().firstValue("X-Accel-Buffering").isPresent());
    }
}
