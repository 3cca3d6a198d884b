package dev.cerebrasproxy.forward;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices clients that left while their request waits: for a key, for upstream's
 * headers, or between the events of a stream. No servlet API tells: a container learns
 * that a client closed only when it next reads or writes that connection, and a request
 * waiting on upstream does neither, so upstream worked on (and charged for) an answer
 * nobody would read. The kernel knows: the client's FIN puts the server's socket in
 * CLOSE_WAIT. Every {@link #TICK} this reads the socket table ({@link TcpTable}, Linux's
 * /proc/net/tcp{,6}; the same on Jetty and Tomcat, since it needs only the request's
 * addresses and ports) for the connections of the calls in flight. A call whose
 * connection is in CLOSE_WAIT (or, once listed, gone from the table: the client reset
 * it) on two ticks in a row has lost its client (one tick could catch a table that a
 * recycled port has not caught up with yet), and ends as the client's departure:
 * upstream aborted, counted 499.
 *
 * <p>It runs only while calls are in flight, on the HTTP client's scheduler. Where there
 * is no socket table, it does nothing: departures are then noticed at the next write.
 */
final class ClientDepartures
{
    static final Duration TICK = Duration.ofMillis(250);
    /** A connection that looked closed is looked at again this soon, to confirm it within the second. */
    static final Duration CONFIRM = Duration.ofMillis(100);
    private static final Logger LOG = LoggerFactory.getLogger(ClientDepartures.class);

    /** What the watcher needs of a call. */
    interface Watched
    {
        /** The client's connection as the server's socket table names it, or null if unknown. */
        TcpTable.Connection clientConnection();

        /** Whether the call has ended (then it is no longer watched). */
        boolean ended();

        /** The client has gone: end the call as its departure. */
        void clientLeft();
    }

    private final Scheduler scheduler;
    private final boolean available = TcpTable.available();
    /** Each call in flight, and what the last ticks saw of its connection. */
    private final Map<Watched, Seen> calls = new ConcurrentHashMap<>();

    /** Whether the connection was ever in the table, and for how many ticks in a row it has looked closed. */
    private static final class Seen
    {
        /** When the call began to be watched. */
        final long sinceNanos = System.nanoTime();
        boolean listed;
        int closedTicks;
    }
    private final AtomicBoolean ticking = new AtomicBoolean();
    /**
     * Whether the table has ever listed a call's connection under the request's addresses.
     * A container that rewrites the client's address (from X-Forwarded-For) never does, and
     * there a connection missing from the table says nothing.
     */
    private volatile boolean addressesMatch;

    ClientDepartures(Scheduler scheduler)
    {
        this.scheduler = scheduler;
    }

    /** The connection of a servlet request, or null when its addresses cannot be read as the kernel's. */
    static TcpTable.Connection connectionOf(int localPort, String remoteAddress, int remotePort)
    {
        try
        {
            String literal = remoteAddress.startsWith("[") ? remoteAddress.substring(1, remoteAddress.length() - 1) : remoteAddress;
            // A literal address: no name lookup.
            return new TcpTable.Connection(localPort, InetAddress.getByName(literal), remotePort);
        }
        catch (Exception unknown)
        {
            return null;
        }
    }

    /** Tells {@code call} when the container sees its client's connection fail: the other way a departure is noticed. */
    static AsyncListener onError(Watched call)
    {
        return new AsyncListener()
        {
            @Override
            public void onError(AsyncEvent event)
            {
                call.clientLeft();
            }

            @Override
            public void onComplete(AsyncEvent event)
            {
            }

            @Override
            public void onTimeout(AsyncEvent event)
            {
            }

            @Override
            public void onStartAsync(AsyncEvent event)
            {
            }
        };
    }

    void watch(Watched call)
    {
        if (!available || call.clientConnection() == null)
            return;
        calls.put(call, new Seen());
        if (ticking.compareAndSet(false, true))
            schedule(TICK);
    }

    /** Whether a connection was ever found under its request's addresses (for tests to wait on). */
    boolean addressesMatch()
    {
        return addressesMatch;
    }

    void forget(Watched call)
    {
        calls.remove(call);
    }

    private void schedule(Duration delay)
    {
        try
        {
            scheduler.schedule(this::tick, delay.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (Exception stopping)
        {
            ticking.set(false);
        }
    }

    private void tick()
    {
        boolean suspect = false;
        try
        {
            calls.keySet().removeIf(Watched::ended);
            // Calls younger than a tick are not looked at yet: most requests end sooner, and
            // reading the whole socket table four times a second for them (calls are always
            // in flight under load) was ~5% of the proxy's CPU. A departure is still told
            // within TICK + TICK + CONFIRM of the request's start, 0.6 s.
            long now = System.nanoTime();
            if (calls.values().stream().anyMatch(seen -> now - seen.sinceNanos >= TICK.toNanos()))
            {
                Map<TcpTable.Connection, Integer> states = TcpTable.states();
                for (Map.Entry<Watched, Seen> entry : calls.entrySet())
                {
                    Watched call = entry.getKey();
                    Seen seen = entry.getValue();
                    if (now - seen.sinceNanos < TICK.toNanos())
                        continue;
                    Integer state = states.get(call.clientConnection());
                    // Closed: the client's FIN (CLOSE_WAIT), or its reset (the socket left the
                    // table), which can come before a tick saw the connection at all. Where no
                    // connection was ever found under the request's addresses (a forwarded
                    // client address), a missing one is never taken for gone.
                    boolean closed = state == null ? seen.listed || addressesMatch : state == TcpTable.CLOSE_WAIT;
                    if (state != null)
                    {
                        seen.listed = true;
                        addressesMatch = true;
                    }
                    seen.closedTicks = closed ? seen.closedTicks + 1 : 0;
                    if (seen.closedTicks >= 2)
                    {
                        calls.remove(call);
                        call.clientLeft();
                    }
                    else if (seen.closedTicks == 1)
                    {
                        suspect = true;
                    }
                }
            }
        }
        catch (Throwable failure)
        {
            LOG.warn("could not check for clients that left", failure);
        }
        finally
        {
            ticking.set(false);
            // A call may have been added after the check for empty: start again for it.
            if (!calls.isEmpty() && ticking.compareAndSet(false, true))
                schedule(suspect ? CONFIRM : TICK);
        }
    }
}
