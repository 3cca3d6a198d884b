package dev.cerebrasproxy.support;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP front on loopback for a fake upstream, whose first connections fail: each of the
 * first {@code failing} connections it accepts is held silent (a connect that hangs, as
 * under a SYN flood or a loaded upstream) until the test {@link #release}s them, then
 * closed without a byte; or, over h2c, speaks h2 and refuses the streams it is sent
 * ({@link Fault}). Later connections are piped to the fake, bytes as they are (TLS
 * included). With {@code failing} = {@link Integer#MAX_VALUE} every connection fails:
 * upstream is down.
 */
public final class FlakyFront implements AutoCloseable
{
    /** What a failing connection does. */
    public enum Fault
    {
        /** Silent until released, then closed without a byte. */
        HOLD_THEN_CLOSE,
        /** h2c: each stream reset with REFUSED_STREAM, which says upstream did not process it (RFC 9113, 8.7); then a GOAWAY. */
        REFUSE_STREAM,
        /** h2c: a GOAWAY whose last stream is 0 at the first stream: upstream processed none of them. */
        GO_AWAY,
        /** h2c: each stream reset with INTERNAL_ERROR once its request is whole, which says nothing of what upstream did with it; then a GOAWAY. */
        RESET_AFTER_REQUEST
    }

    private static final int DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, GOAWAY = 7;
    private static final int END_STREAM = 0x1, ACK = 0x1;
    private static final int NO_ERROR = 0, INTERNAL_ERROR = 2, REFUSED_STREAM = 7;

    private final ServerSocket listener;
    private final Fault fault;
    private final int target;
    private final int failing;
    private final String scheme;
    private final AtomicInteger accepted = new AtomicInteger();
    private final CountDownLatch released = new CountDownLatch(1);
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    public FlakyFront(FakeCerebras upstream, int failing) throws IOException
    {
        this(upstream, failing, Fault.HOLD_THEN_CLOSE);
    }

    public FlakyFront(FakeCerebras upstream, int failing, Fault fault) throws IOException
    {
        this.fault = fault;
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
            if (fail && fault != Fault.HOLD_THEN_CLOSE)
            {
                refuse(client);
                return;
            }
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

    /**
     * Speaks just enough h2 to refuse: its SETTINGS, the client's acknowledged, and each
     * stream met with the fault; after the GOAWAY it closes its side and reads to the end,
     * so no unread byte turns the close into a reset that could overtake its frames.
     */
    private void refuse(Socket client) throws IOException
    {
        DataInputStream in = new DataInputStream(client.getInputStream());
        OutputStream out = client.getOutputStream();
        frame(out, SETTINGS, 0, 0, new byte[0]);
        in.readFully(new byte[24]); // the client's preface: PRI * HTTP/2.0 ...
        boolean goneAway = false;
        while (!goneAway)
        {
            int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & 0x7fffffff;
            in.readFully(new byte[length]);
            if (type == SETTINGS && (flags & ACK) == 0)
                frame(out, SETTINGS, ACK, 0, new byte[0]);
            else if (type == HEADERS && fault == Fault.GO_AWAY)
            {
                frame(out, GOAWAY, 0, 0, ByteBuffer.allocate(8).putInt(0).putInt(NO_ERROR).array());
                goneAway = true;
            }
            else if (type == HEADERS && fault == Fault.REFUSE_STREAM
                || (type == HEADERS || type == DATA) && (flags & END_STREAM) != 0 && fault == Fault.RESET_AFTER_REQUEST)
            {
                frame(out, RST_STREAM, 0, stream, ByteBuffer.allocate(4).putInt(fault == Fault.REFUSE_STREAM ? REFUSED_STREAM : INTERNAL_ERROR).array());
                frame(out, GOAWAY, 0, 0, ByteBuffer.allocate(8).putInt(stream).putInt(NO_ERROR).array());
                goneAway = true;
            }
        }
        client.shutdownOutput();
        in.transferTo(OutputStream.nullOutputStream());
        client.close();
    }

    private static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException
    {
        ByteBuffer header = ByteBuffer.allocate(9);
        header.put((byte)(payload.length >>> 16)).put((byte)(payload.length >>> 8)).put((byte)payload.length);
        header.put((byte)type).put((byte)flags).putInt(stream);
        out.write(header.array());
        out.write(payload);
        out.flush();
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
