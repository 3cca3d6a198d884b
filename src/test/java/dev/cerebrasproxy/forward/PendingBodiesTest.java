package dev.cerebrasproxy.forward;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.Poll;
import dev.cerebrasproxy.support.ProxyExtension;
import dev.cerebrasproxy.support.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory for bodies still arriving follows the bytes that came, not the length declared,
 * and all of them together stay within PROXY_MAX_PENDING_BODY_BYTES.
 */
class PendingBodiesTest
{
    private static final int BUDGET = 100_000;

    @RegisterExtension
    final ProxyExtension proxy = new ProxyExtension().settings(ProxySettings.MAX_PENDING_BODY_BYTES, Integer.toString(BUDGET));

    private Socket announce(long declared, int send) throws Exception
    {
        Socket socket = new Socket("127.0.0.1", proxy.port());
        socket.setSoTimeout(20_000);
        OutputStream output = socket.getOutputStream();
        output.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + declared + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        output.write(new byte[send]);
        output.flush();
        return socket;
    }

    private long held() throws Exception
    {
        return proxy.proxy().servlet().pendingBodyBytes();
    }

    /** Eight sockets announce 32 MiB and send one byte: they hold a small buffer each, not 256 MiB. */
    @Test
    void aDeclaredLengthAllocatesNothingAheadOfTheBytes() throws Exception
    {
        List<Socket> sockets = new ArrayList<>();
        try
        {
            for (int i = 0; i < 8; i++)
                sockets.add(announce(32L * 1024 * 1024, 1));
            assertTrue(Poll.until(Duration.ofSeconds(10), () -> unchecked(this::held) == 8L * RequestBodyReader.INITIAL_CAPACITY),
                "held " + held());
        }
        finally
        {
            for (Socket socket : sockets)
                socket.close();
        }
        assertTrue(Poll.until(Duration.ofSeconds(10), () -> unchecked(this::held) == 0), "a body whose client left gives its memory back: held " + held());
    }

    /** Past the budget a body is refused in shape, and told not to reuse the connection; the budget comes back after. */
    @Test
    void pastTheBudgetABodyIs503WithConnectionClose() throws Exception
    {
        try (Socket first = announce(60_000, 50_000))
        {
            assertTrue(Poll.until(Duration.ofSeconds(10), () -> unchecked(this::held) == 60_000), "held " + held());
            try (Socket second = announce(60_000, 60_000))
            {
                String answer = RawHttp.readUntilClosed(second.getInputStream());
                assertTrue(answer.startsWith("HTTP/1.1 503"), answer);
                assertTrue(answer.contains("\"code\":\"proxy_overloaded\""), answer);
                assertTrue(answer.toLowerCase().contains("connection: close"), answer);
            }
            first.getOutputStream().write(new byte[10_000]);
            first.getOutputStream().flush();
            assertTrue(RawHttp.readUntil(first.getInputStream(), "\r\n\r\n").startsWith("HTTP/1.1 200"));
        }
        assertEquals(0, held());
        try (Socket again = announce(60_000, 60_000))
        {
            assertTrue(RawHttp.readUntil(again.getInputStream(), "\r\n\r\n").startsWith("HTTP/1.1 200"));
        }
    }

    /** Refused before its body was read: the client must not reuse the connection. */
    @Test
    void aRefusalBeforeTheBodyIsReadClosesTheConnection() throws Exception
    {
        String answer = RawHttp.exchange(proxy.port(), "POST /v1/a/../b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello");
        String noBody = RawHttp.exchange(proxy.port(), "POST /_proxy/nothing HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello");
        assertTrue(noBody.startsWith("HTTP/1.1 404"), noBody);
        assertTrue(noBody.toLowerCase().contains("connection: close"), noBody);
        assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
    }

    private static long unchecked(Poll.Probe<Long> probe)
    {
        try
        {
            return probe.get();
        }
        catch (Exception e)
        {
            throw new AssertionError(e);
        }
    }
}
