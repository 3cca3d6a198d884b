package dev.cerebrasproxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An upstream on a raw socket, for faults an HTTP server library will not commit: closing
 * before a response byte, or resetting a stream halfway. It reads each request whole,
 * then does what the test scripted for the request's key. It counts connections, so a
 * test can see that none is left open.
 */
public final class MisbehavingUpstream implements AutoCloseable
{
    public enum Fault
    {
        /** Answer 200 with a small JSON body and close. */
        ANSWER,
        /** Read the request whole, then close the connection without a response byte: upstream may have processed it. */
        CLOSE_BEFORE_RESPONSE,
        /** Read the request's head only, then reset the connection: the body never arrived, so nothing was processed. */
        CLOSE_UNREAD,
        /** Send 200 headers and one event of a chunked event stream, then reset the connection. */
        RESET_MID_STREAM
    }

    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Map<String, Fault> byKey = new ConcurrentHashMap<>();
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger open = new AtomicInteger();

    public MisbehavingUpstream() throws IOException
    {
        server = new ServerSocket();
        // A fixed receive buffer (inherited by accepted sockets): Linux otherwise grows it up
        // to tcp_rmem's maximum, 32 MiB here, so a 16 MiB body that CLOSE_UNREAD never reads
        // could go out whole into the kernel, and the proxy rightly take it as delivered.
        server.setReceiveBufferSize(64 * 1024);
        server.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        threads.execute(this::acceptLoop);
    }

    public MisbehavingUpstream on(String key, Fault fault)
    {
        byKey.put(key, fault);
        return this;
    }

    /** The same fault for each key of {@link TestData#KEYS}, the pool a proxy under test starts with. */
    public MisbehavingUpstream onEveryKey(Fault fault)
    {
        return on(TestData.ALPHA, fault).on(TestData.BRAVO, fault).on(TestData.CHARLIE, fault);
    }

    public URI baseUrl()
    {
        return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v1");
    }

    public int requests()
    {
        return requests.get();
    }

    public int openConnections()
    {
        return open.get();
    }

    private void acceptLoop()
    {
        while (!server.isClosed())
        {
            try
            {
                Socket socket = server.accept();
                open.incrementAndGet();
                threads.execute(() -> serve(socket));
            }
            catch (IOException closed)
            {
                return;
            }
        }
    }

    private void serve(Socket socket)
    {
        try (socket)
        {
            Head head = readHead(socket.getInputStream());
            requests.incrementAndGet();
            Fault fault = byKey.getOrDefault(head.key(), Fault.ANSWER);
            if (fault == Fault.CLOSE_UNREAD)
            {
                socket.setSoLinger(true, 0); // close() with the body unread sends RST
                return;
            }
            socket.getInputStream().readNBytes((int)head.length());
            OutputStream output = socket.getOutputStream();
            switch (fault)
            {
                case ANSWER -> output.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}").getBytes(StandardCharsets.US_ASCII));
                case CLOSE_BEFORE_RESPONSE, CLOSE_UNREAD -> { }
                case RESET_MID_STREAM ->
                {
                    String event = EventStream.event(0) + "\n\n";
                    output.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + Integer.toHexString(event.length()) + "\r\n" + event + "\r\n").getBytes(StandardCharsets.UTF_8));
                    output.flush();
                    socket.setSoLinger(true, 0); // close() now sends RST
                }
            }
            output.flush();
        }
        catch (IOException e)
        {
            // the proxy went away; nothing to answer
        }
        finally
        {
            open.decrementAndGet();
        }
    }

    private record Head(String key, long length)
    {
    }

    /** Reads one request's head: its bearer key and Content-Length. */
    private static Head readHead(InputStream input) throws IOException
    {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n"))
        {
            int b = input.read();
            if (b < 0)
                throw new IOException("request cut short");
            head.write(b);
        }
        String key = null;
        long length = 0;
        for (String line : head.toString(StandardCharsets.ISO_8859_1).split("\r\n"))
        {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("authorization: bearer "))
                key = line.substring("authorization: bearer ".length());
            else if (lower.startsWith("content-length:"))
                length = Long.parseLong(line.substring("content-length:".length()).strip());
        }
        return new Head(key, length);
    }

    @Override
    public void close() throws IOException
    {
        server.close();
        threads.shutdownNow();
    }
}
