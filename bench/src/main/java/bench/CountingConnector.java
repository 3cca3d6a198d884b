package bench;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A listener that counts its TCP connections: accepted in all, open now, and the most
 * open at once. Counted per socket (end point), so TLS, ALPN and an h2c upgrade, which
 * each put a new protocol connection on the same socket, still count once.
 */
final class CountingConnector extends ServerConnector
{
    private final String label;
    private final LongAdder accepted = new LongAdder();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger maxOpen = new AtomicInteger();

    CountingConnector(Server server, String label, ConnectionFactory... factories)
    {
        super(server, 1, 1, factories);
        this.label = label;
        setAcceptQueueSize(4096);
        setIdleTimeout(300_000);
    }

    @Override
    protected void onEndPointOpened(EndPoint endPoint)
    {
        super.onEndPointOpened(endPoint);
        accepted.increment();
        maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
    }

    @Override
    protected void onEndPointClosed(EndPoint endPoint)
    {
        open.decrementAndGet();
        super.onEndPointClosed(endPoint);
    }

    void describe(StringBuilder line)
    {
        line.append(label).append("_accepted=").append(accepted.sum())
            .append(' ').append(label).append("_open=").append(open.get())
            .append(' ').append(label).append("_max_open=").append(maxOpen.get()).append(' ');
    }

    /** Starts counting afresh from the connections open now. */
    void reset()
    {
        accepted.reset();
        maxOpen.set(open.get());
    }
}
