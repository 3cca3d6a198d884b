package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.Codings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyExtension;
import jakarta.servlet.ServletOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the proxy reads and decodes itself (upstream's error bodies, an answer in a coding
 * the client did not accept) is bounded: a small gzip that inflates to a lot, or a body
 * without end, is cut off at the bound instead of being inflated or read on.
 */
class DecodingBoundTest
{
    private static final int MAX_BODY = 100_000;

    @RegisterExtension
    static final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.MAX_BODY_BYTES, Integer.toString(MAX_BODY));

    /** 16 MiB of zeros: 16 KiB of gzip. */
    private static final byte[] BOMB = Codings.gzip(new byte[16 << 20]);

    @Test
    void anErrorBodyThatInflatesPastTheBoundIsNotInflated() throws Exception
    {
        AtomicBoolean first = new AtomicBoolean(true);
        proxy.upstream().route(request -> first.getAndSet(false) ? FakeCerebras.bytes(429, "application/json", BOMB, "Content-Encoding", "gzip") : null);
        int mark = LogCapture.mark();
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertEquals(200, response.statusCode(), "the next key answers");
        assertEquals(COMPLETION, response.body());
        assertTrue(LogCapture.since(mark).contains("decodes to more than 65536 bytes"), LogCapture.since(mark));
    }

    @Test
    void anAnswerToDecodeThatInflatesPastTheBoundIs502() throws Exception
    {
        proxy.upstream().otherwise(FakeCerebras.bytes(200, "application/json", BOMB, "Content-Encoding", "gzip"));
        // No Accept-Encoding: the proxy must decode for this client.
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertEquals(502, response.statusCode(), response.body());
        assertEquals("upstream_bad_encoding", Http.error(response).get("code").getAsString());
    }

    /** Upstream writes without end: the proxy stops reading at the bound and aborts the exchange. */
    @Test
    void endlessBodiesAreAbortedAtTheBound() throws Exception
    {
        CountDownLatch aborted = new CountDownLatch(2);
        byte[] noise = new byte[8192];
        new Random(3).nextBytes(noise);
        FakeCerebras.Reply endless429 = (request, response) ->
        {
            response.setStatus(429);
            response.setContentType("application/json");
            writeUntilAborted(response.getOutputStream(), noise, aborted);
        };
        FakeCerebras.Reply endlessGzip = (request, response) ->
        {
            response.setContentType("application/json");
            response.setHeader("Content-Encoding", "gzip");
            writeUntilAborted(response.getOutputStream(), noise, aborted);
        };
        AtomicBoolean first = new AtomicBoolean(true);
        proxy.upstream().route(request -> first.getAndSet(false) ? endless429 : endlessGzip);
        HttpResponse<String> response = Http.post(proxy.uri("/v1/chat/completions"), CHAT);
        assertEquals(502, response.statusCode(), response.body());
        assertTrue(aborted.await(10, TimeUnit.SECONDS), "upstream went on writing");
    }

    private static void writeUntilAborted(ServletOutputStream output, byte[] noise, CountDownLatch aborted) throws IOException
    {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        try
        {
            while (System.nanoTime() < deadline)
            {
                output.write(noise);
                output.flush();
            }
        }
        catch (IOException cut)
        {
            aborted.countDown();
            throw cut;
        }
    }
}
