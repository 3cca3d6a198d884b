package dev.cerebrasproxy.forward;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.EventStream;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.RawHttp;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHARLIE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A key's value never reaches a log line, an answer's body or a header sent to the
 * client, whatever path a request takes: success, replay, exhaustion, pass-through
 * errors, timeouts, refusals, streams.
 */
class SecretsTest
{
    private static final List<String> SECRETS = List.of(ALPHA, BRAVO, CHARLIE);

    @Test
    void noPathLeaksAKey() throws Exception
    {
        int mark = LogCapture.mark();
        List<String> seenByClient = new ArrayList<>();
        CountDownLatch release = new CountDownLatch(1);
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream, ProxySettings.IDLE_TIMEOUT_MS, "300", ProxySettings.MAX_BODY_BYTES, "100000"))
        {
            // success, replays and upstream errors that quote the key they were sent
            upstream.answer(ALPHA, FakeCerebras.json(429, "{\"message\":\"key " + ALPHA + " limited\"}", "retry-after", "3"));
            upstream.answer(BRAVO, FakeCerebras.json(500, "{\"message\":\"" + BRAVO + "\"}"));
            for (int i = 0; i < 3; i++)
                seenByClient.add(render(Http.send(chat(proxy, "/v1/chat/completions", "{}"))));
            // every key failing
            upstream.answer(CHARLIE, FakeCerebras.json(429, "{}"));
            seenByClient.add(render(Http.send(chat(proxy, "/chat/completions", "{}"))));
            // passed-through client errors, a timeout, a refused body, a refused path
            upstream.reset();
            proxy.pool().reset();
            upstream.otherwise(FakeCerebras.json(401, "{\"message\":\"Wrong API Key\",\"code\":\"wrong_api_key\"}"));
            seenByClient.add(render(Http.send(chat(proxy, "/v1/models", "{}"))));
            proxy.pool().reset(); // the 401 quarantined the keys
            upstream.otherwise((request, response) -> release.await(30, TimeUnit.SECONDS));
            seenByClient.add(render(Http.send(chat(proxy, "/v1/chat/completions", "{}"))));
            release.countDown();
            seenByClient.add(render(Http.send(chat(proxy, "/v1/chat/completions", "x".repeat(100_001)))));
            seenByClient.add(RawHttp.exchange(proxy.port(), "GET /v1/%2e%2e/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            // a stream
            proxy.pool().reset();
            EventStream events = new EventStream(3);
            upstream.otherwise(events.reply());
            HttpResponse<java.io.InputStream> stream = Http.CLIENT.send(chat(proxy, "/v1/chat/completions", "{\"stream\":true}"), HttpResponse.BodyHandlers.ofInputStream());
            seenByClient.add(stream.headers().map().toString());
            events.readAll(stream.body());
        }
        String log = LogCapture.since(mark);
        for (String secret : SECRETS)
        {
            assertFalse(log.contains(secret), "a key's value was logged");
            for (String answer : seenByClient)
                assertFalse(answer.contains(secret), "a key's value reached a client");
        }
    }

    /**
     * Bodies the proxy reads whole before passing them on are redacted: a queue_exceeded
     * 429, the 500 every key answered, an answer it decoded for the client. (Streamed
     * answers pass as upstream sent them.)
     */
    @Test
    void bodiesTheProxyReadsWholeNeverEchoTheKey() throws Exception
    {
        List<String> seenByClient = new ArrayList<>();
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream))
        {
            upstream.route(request -> FakeCerebras.json(429, "{\"message\":\"busy for " + request.key() + "\",\"type\":\"too_many_requests_error\",\"param\":\"queue\",\"code\":\"queue_exceeded\"}"));
            HttpResponse<byte[]> busy = Http.send(chat(proxy, "/v1/chat/completions", "{}"));
            assertEquals(429, busy.statusCode());
            seenByClient.add(render(busy));
            upstream.route(request -> FakeCerebras.json(500, "{\"message\":\"failed for " + request.key() + "\",\"type\":\"server_error\",\"param\":\"\",\"code\":\"x\"}"));
            HttpResponse<byte[]> failed = Http.send(chat(proxy, "/v1/chat/completions", "{}"));
            assertEquals(500, failed.statusCode());
            seenByClient.add(render(failed));
            proxy.pool().reset();
            upstream.route(request -> FakeCerebras.bytes(200, "application/json",
                dev.cerebrasproxy.support.Codings.gzip(("{\"echo\":\"Bearer " + request.key() + "\"}").getBytes(StandardCharsets.UTF_8)), "Content-Encoding", "gzip"));
            HttpResponse<byte[]> decoded = Http.send(chat(proxy, "/v1/chat/completions", "{}")); // no Accept-Encoding: the proxy decodes
            assertEquals(200, decoded.statusCode());
            seenByClient.add(render(decoded));
            assertTrue(render(decoded).contains("\"echo\":\"Bearer <key "), render(decoded));
        }
        for (String secret : SECRETS)
        {
            for (String answer : seenByClient)
                assertFalse(answer.contains(secret), "a key's value reached a client: " + answer.replace(secret, "<the key>"));
        }
    }

    private static HttpRequest chat(ProxyUnderTest proxy, String path, String body)
    {
        return HttpRequest.newBuilder(proxy.uri(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build();
    }

    private static String render(HttpResponse<byte[]> response)
    {
        return response.statusCode() + " " + response.headers().map() + " " + new String(response.body(), StandardCharsets.UTF_8);
    }
}
