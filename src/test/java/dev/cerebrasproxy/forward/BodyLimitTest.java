package dev.cerebrasproxy.forward;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bodies over PROXY_MAX_BODY_BYTES get 413 and are never sent upstream or held whole. */
class BodyLimitTest
{
    private static final int CAP = 1000;

    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.MAX_BODY_BYTES, Integer.toString(CAP));

    @Test
    void aBodyExactlyAtTheCapPasses() throws Exception
    {
        byte[] body = new byte[CAP];
        Http.send(HttpRequest.newBuilder(proxy.uri("/v1/x")).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
        assertArrayEquals(body, proxy.upstream().lastReceived().body());
        // and chunked, where the length is only known at the end
        Http.send(HttpRequest.newBuilder(proxy.uri("/v1/x")).POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build());
        assertArrayEquals(body, proxy.upstream().lastReceived().body());
    }

    @Test
    void aDeclaredLengthOverTheCapIs413() throws Exception
    {
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/x")).POST(HttpRequest.BodyPublishers.ofByteArray(new byte[CAP + 1])).build());
        assertTooLarge(response.statusCode(), new String(response.body(), StandardCharsets.UTF_8));
    }

    @Test
    void aChunkedBodyOverTheCapIs413() throws Exception
    {
        byte[] body = new byte[CAP * 5];
        HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(proxy.uri("/v1/x"))
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build());
        assertTooLarge(response.statusCode(), new String(response.body(), StandardCharsets.UTF_8));
    }

    /** A 10 GB declaration is refused at once: the proxy does not wait to read it. */
    @Test
    void aHugeDeclaredLengthIsRefusedBeforeAnyOfItIsRead() throws Exception
    {
        String answer = RawHttp.exchange(proxy.port(), "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{\"model\":");
        assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
        assertTooLarge(413, answer.substring(answer.indexOf("\r\n\r\n") + 4));
    }

    private static void assertTooLarge(int status, String body)
    {
        assertEquals(413, status);
        assertTrue(body.contains("\"type\":\"invalid_request_error\""), body);
        assertTrue(body.contains("\"code\":\"request_too_large\""), body);
        assertEquals(0, proxy.upstream().received().size(), "nothing reaches upstream");
    }
}
