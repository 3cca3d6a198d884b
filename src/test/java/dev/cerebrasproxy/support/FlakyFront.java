package dev.cerebrasproxy.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP front on loopback for a fake upstream, whose first connections fail: each of the
 * first {@code failing} connections it accepts is held silent (a connect that hangs, as
 * under a SYN flood or a loaded upstream) until the test {@link #release}s them, then
 * closed without a byte. Later connections are piped to the fake, bytes as they are (TLS
 * included). With {@code failing} = {@link Integer#MAX_VALUE} every connection fails:
 * upstream is down.
 */
public final class FlakyFront implements AutoCloseable
{
    private final ServerSocket listener;
    private final int target;
    private final int failing;
    private final String scheme;
    private final AtomicInteger accepted = new AtomicInteger();
    private final CountDownLatch released = new CountDownLatch(1);
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    public FlakyFront(FakeCerebras upstream, int failing) throws IOException
    {
        this.target = upstream.port();
        this.failing = failing;
        this.scheme = upstream.baseUrl().getScheme();
        listener = new ServerSocket();
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        acceptor = new Thread(this::accept, "flaky-front");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** The fake's base URL, through this front. */
    public URI baseUrl()
    {
        return URI.create(scheme + "://127.0.0.1:" + listener.getLocalPort() + "/v1");
    }

    /** Connections accepted so far, failed ones included. */
    public int accepted()
    {
        return accepted.get();
    }

    /** The held connections close now, and failing ones from now on close at once. */
    public void release()
    {
        released.countDown();
    }

    private void accept()
    {
        while (!listener.isClosed())
        {
            Socket client;
            try
            {
                client = listener.accept();
            }
            catch (IOException closed)
            {
                return;
            }
            sockets.add(client);
            int n = accepted.incrementAndGet();
            Thread handler = new Thread(() -> handle(client, n <= failing), "flaky-front-" + n);
            handler.setDaemon(true);
            handler.start();
        }
    }

    private void handle(Socket client, boolean fail)
    {
        try
        {
            if (fail)
            {
                released.await(60, TimeUnit.SECONDS);
                client.close();
                return;
            }
            Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
            sockets.add(server);
            Thread back = new Thread(() -> pipe(server, client), "flaky-front-back");
            back.setDaemon(true);
            back.start();
            pipe(client, server);
        }
        catch (Exception e)
        {
            closeQuietly(client);
        }
    }

    private static void pipe(Socket from, Socket to)
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int read;
            while ((read = in.read(buffer)) >= 0)
            {
                out.write(buffer, 0, read);
                out.flush();
            }
        }
        catch (IOException ended)
        {
            // either side closed: close both
        }
        closeQuietly(from);
        closeQuietly(to);
    }

    private static void closeQuietly(Socket socket)
    {
        try
        {
            socket.close();
        }
        catch (IOException ignored)
        {
        }
    }

    @Override
    public void close() throws Exception
    {
        released.countDown();
        listener.close();
        for (Socket socket : sockets)
            closeQuietly(socket);
        acceptor.join(5000);
    }
}
