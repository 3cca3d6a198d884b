package dev.cerebrasproxy.forward;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;

import dev.cerebrasproxy.support.Codings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.ALPHA;
import static dev.cerebrasproxy.support.TestData.BRAVO;
import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bytes pass as upstream encoded them, unless the client could not read them. */
class CompressionTest
{
    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension();

    private static final byte[] PLAIN = COMPLETION.getBytes(StandardCharsets.UTF_8);

    static byte[] gzip(byte[] data) throws Exception
    {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(out))
        {
            gzip.write(data);
        }
        return out.toByteArray();
    }

    private static HttpResponse<byte[]> chat(String acceptEncoding) throws Exception
    {
        HttpRequest.Builder request = HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(CHAT));
        if (acceptEncoding != null)
            request.header("Accept-Encoding", acceptEncoding);
        return Http.send(request.build());
    }

    @Test
    void aClientThatAcceptsGzipGetsUpstreamsGzipBytesUntouched() throws Exception
    {
        byte[] gzipped = gzip(PLAIN);
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", gzipped, "Content-Encoding", "gzip"));
        HttpResponse<byte[]> response = chat("gzip, deflate, br");
        assertEquals("gzip", response.headers().firstValue("Content-Encoding").orElseThrow());
        assertArrayEquals(gzipped, response.body());
        assertEquals("gzip, deflate, br", proxy.upstream().lastReceived().header("Accept-Encoding"));
    }

    @Test
    void aClientThatAcceptsBrGetsUpstreamsBrBytesUntouched() throws Exception
    {
        byte[] br = Codings.brotliUncompressed(PLAIN);
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", br, "Content-Encoding", "br"));
        HttpResponse<byte[]> response = chat("br");
        assertEquals("br", response.headers().firstValue("Content-Encoding").orElseThrow());
        assertArrayEquals(br, response.body());
    }

    @Test
    void withoutAcceptEncodingTheProxyAsksUpstreamForIdentity() throws Exception
    {
        chat(null);
        assertEquals("identity", proxy.upstream().lastReceived().header("Accept-Encoding"));
    }

    @Test
    void aClientThatDidNotAcceptGzipNeverReceivesIt() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", gzip(PLAIN), "Content-Encoding", "gzip"));
        HttpResponse<byte[]> response = chat(null);
        assertEquals(200, response.statusCode());
        assertFalse(response.headers().firstValue("Content-Encoding").isPresent());
        assertArrayEquals(PLAIN, response.body());
        assertEquals(Integer.toString(PLAIN.length), response.headers().firstValue("Content-Length").orElseThrow());
    }

    @Test
    void aClientThatAcceptsOnlyGzipNeverReceivesBr() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", Codings.brotliUncompressed(PLAIN), "Content-Encoding", "br"));
        HttpResponse<byte[]> response = chat("gzip;q=1.0, br;q=0");
        assertFalse(response.headers().firstValue("Content-Encoding").isPresent());
        assertArrayEquals(PLAIN, response.body());
    }

    @Test
    void anUndecodableBodyTheClientCannotReadBecomes502() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", "not gzip".getBytes(StandardCharsets.UTF_8), "Content-Encoding", "gzip"));
        HttpResponse<byte[]> response = chat("identity");
        assertEquals(502, response.statusCode());
        assertTrue(new String(response.body(), StandardCharsets.UTF_8).contains("\"code\":\"upstream_bad_encoding\""));
    }

    @Test
    void gzipAndBrErrorBodiesAreDecodedForTheLog() throws Exception
    {
        int mark = LogCapture.mark();
        proxy.upstream().answer(ALPHA, FakeCerebras.bytes(429, "application/json",
            gzip("{\"message\":\"gzipped reason\",\"code\":\"token_quota_exceeded\"}".getBytes(StandardCharsets.UTF_8)), "Content-Encoding", "gzip"));
        proxy.upstream().answer(BRAVO, FakeCerebras.bytes(500, "application/json",
            Codings.brotliUncompressed("{\"message\":\"brotli reason\",\"code\":null}".getBytes(StandardCharsets.UTF_8)), "Content-Encoding", "br"));
        for (int i = 0; i < 3; i++)
            assertEquals(200, chat("gzip, br").statusCode());
        String log = LogCapture.since(mark);
        assertTrue(log.contains("key alpha answered 429 (token_quota_exceeded: gzipped reason)"), log);
        assertTrue(log.contains("key bravo answered 500 (brotli reason)"), log);
    }

    @Test
    void acceptEncodingIsReadWithItsQualities()
    {
        assertTrue(ContentCoding.accepts("gzip, br", "br"));
        assertTrue(ContentCoding.accepts("GZIP;q=0.5", "gzip"));
        assertTrue(ContentCoding.accepts("*", "br"));
        assertTrue(ContentCoding.accepts("x-gzip", "gzip"));
        assertTrue(ContentCoding.accepts(null, "identity"));
        assertTrue(ContentCoding.accepts(null, null));
        assertFalse(ContentCoding.accepts(null, "gzip"));
        assertFalse(ContentCoding.accepts("gzip;q=0", "gzip"));
        assertFalse(ContentCoding.accepts("*, br;q=0", "br"));
        assertFalse(ContentCoding.accepts("*;q=0", "gzip"));
        assertFalse(ContentCoding.accepts("deflate", "br"));
    }
}
