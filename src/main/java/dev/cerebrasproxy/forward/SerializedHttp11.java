package dev.cerebrasproxy.forward;

import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import org.eclipse.jetty.client.transport.HttpClientConnectionFactory;
import org.eclipse.jetty.client.transport.internal.HttpChannelOverHTTP;
import org.eclipse.jetty.client.transport.internal.HttpConnectionOverHTTP;
import org.eclipse.jetty.client.transport.internal.HttpReceiverOverHTTP;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;

/**
 * HTTP/1.1 to upstream, with each connection's input parsed by one thread at a time.
 * <p>
 * Jetty 12.1.8's HTTP/1.1 receiver parses and fills its network buffer from two entry
 * points: the I/O thread when the socket is readable ({@code onFillable}), and a thread
 * that reads or demands the next chunk ({@code read}). It keeps them apart by fill
 * interest alone, and a queued task breaks that: a thread parsing a response's headers
 * runs the receiver's serialized tasks, among them the previous response's
 * {@code receiveNext}, which finds nothing to read, releases the network buffer and arms
 * fill interest while the outer parse goes on (the application's listener reads the new
 * response's first chunk). The I/O thread then parses the same connection, with the same
 * parser and buffer, at the same time. A check in a copy of the receiver found 9 to 20 such
 * overlaps in each soak run (2026-12-03); with this lock, none.
 * <p>
 * It was the first suspect for the soak's lost answers (about one run in five: a stream
 * stalled with its parser waiting mid-chunk and nothing left in the socket, or skipping
 * events), but those went on with the lock (3 stalls in 18 runs on a doubly loaded
 * machine): that cause is still open. The lock stays because two threads in one parser
 * is a race whatever it costs, and the lock costs two uncontended acquisitions a chunk.
 * <p>
 * The lock is reentrant (a parse re-enters itself through the application's callbacks),
 * uncontended but for those moments, and never held across a wait for another lock of
 * ours: the receiver hands callbacks to its invoker, which queues rather than blocks, and
 * every demand for a chunk runs on the executor ({@link ChunkDemand}).
 */
final class SerializedHttp11 extends ClientConnectionFactory.Info
{
    SerializedHttp11()
    {
        super(new Factory());
    }

    @Override
    public List<String> getProtocols(boolean secure)
    {
        return List.of("http/1.1");
    }

    private static final class Factory extends HttpClientConnectionFactory
    {
        @Override
        public org.eclipse.jetty.io.Connection newConnection(EndPoint endPoint, Map<String, Object> context)
        {
            Connection connection = new Connection(endPoint, context);
            connection.setInitialize(isInitializeConnections());
            connection.setTransferEncodingChunkMaxLength(getTransferEncodingChunkMaxLength());
            return customize(connection, context);
        }
    }

    private static final class Connection extends HttpConnectionOverHTTP
    {
        /** Held by whoever parses this connection's input: the I/O thread, or a reader. */
        private final ReentrantLock parsing = new ReentrantLock();

        Connection(EndPoint endPoint, Map<String, Object> context)
        {
            super(endPoint, context);
        }

        @Override
        protected HttpChannelOverHTTP newHttpChannel()
        {
            // Called by the constructor, before the lock is set: the receiver looks it up when it reads.
            return new Channel(this);
        }

        @Override
        public void onFillable()
        {
            parse(() ->
            {
                super.onFillable();
                return null;
            });
        }

        <T> T parse(Supplier<T> step)
        {
            parsing.lock();
            try
            {
                return step.get();
            }
            finally
            {
                parsing.unlock();
            }
        }
    }

    private static final class Channel extends HttpChannelOverHTTP
    {
        Channel(HttpConnectionOverHTTP connection)
        {
            super(connection);
        }

        @Override
        protected HttpReceiverOverHTTP newHttpReceiver()
        {
            return new Receiver(this);
        }
    }

    private static final class Receiver extends HttpReceiverOverHTTP
    {
        Receiver(HttpChannelOverHTTP channel)
        {
            super(channel);
        }

        @Override
        public Content.Chunk read(boolean fillInterestIfNeeded)
        {
            return connection().parse(() -> super.read(fillInterestIfNeeded));
        }

        @Override
        protected void onInterim()
        {
            connection().parse(() ->
            {
                super.onInterim();
                return null;
            });
        }

        private Connection connection()
        {
            return (Connection)getHttpChannel().getHttpConnection();
        }
    }
}
