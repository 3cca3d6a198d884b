package dev.cerebrasproxy.forward;

import java.net.InetAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
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
 * CLOSE_WAIT, and its reset takes the socket out of the table. Every {@link #TICK} this
 * reads the socket table ({@link TcpTable}, Linux's /proc/net/tcp{,6}; the same on Jetty
 * and Tomcat, since it needs only the request's addresses and ports) for the connections
 * of the calls in flight. A call whose connection is in CLOSE_WAIT has lost its client;
 * one that the table listed before and now misses on two reads in a row ({@link #CONFIRM}
 * apart) was reset. Either ends as the client's departure: upstream aborted, counted 499.
 * A connection the table never listed says nothing by its absence: its request's
 * addresses are not the socket's (a container that takes the client's address from
 * X-Forwarded-For), and only its CLOSE_WAIT, never found there, could tell.
 *
 * <p>It runs only while calls are in flight, on the HTTP client's scheduler, and reads
 * only the lines of the ports it watches. Where there is no socket table, it does
 * nothing: departures are then noticed at the next write.
 */
final class ClientDepartures
{
    /**
     * How often the table is read while calls are in flight: a departure is told within
     * about this plus {@link #CONFIRM}, which leaves most of the second the issue allows for
     * a loaded machine's late timers. A read costs the kernel about a microsecond a socket.
     */
    static final Duration TICK = Duration.ofMillis(100);
    /** A listed connection that went missing is looked for again this soon. */
    static final Duration CONFIRM = Duration.ofMillis(50);
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

    /** The kernel's socket table, for the given local ports. */
    @FunctionalInterface
    interface Table
    {
        Map<TcpTable.Connection, Integer> states(Set<Integer> localPorts);
    }

    private final Scheduler scheduler;
    private final long youngestNanos;
    /** Null where there is none. */
    private final Table table;
    /** Each call in flight, and what the last ticks saw of its connection. */
    private final Map<Watched, Seen> calls = new ConcurrentHashMap<>();

    /** Whether the connection was ever in the table, and on how many reads in a row it has been missing since. */
    private static final class Seen
    {
        /** When the call began to be watched. */
        final long sinceNanos = System.nanoTime();
        boolean listed;
        int missing;
    }
    private final AtomicBoolean ticking = new AtomicBoolean();
    /** Whether the table has ever listed a call's connection under the request's addresses (for tests to wait on). */
    private volatile boolean addressesMatch;

    ClientDepartures(Scheduler scheduler)
    {
        this(scheduler, TcpTable.available() ? TcpTable::states : null, TICK);
    }

    /** @param youngest calls watched for less than this are not looked for in the table yet */
    ClientDepartures(Scheduler scheduler, Table table, Duration youngest)
    {
        this.scheduler = scheduler;
        this.table = table;
        this.youngestNanos = youngest.toNanos();
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
        if (table == null || call.clientConnection() == null)
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
            scheduler.schedule(this::tickAndGoOn, delay.toMillis(), TimeUnit.MILLISECONDS);
        }
        catch (Exception stopping)
        {
            ticking.set(false);
        }
    }

    /** One look at the table for every call in flight; package-private so a test can take it step by step. */
    boolean tick()
    {
        boolean suspect = false;
        try
        {
            calls.keySet().removeIf(Watched::ended);
            // Calls younger than a tick are not looked at yet: most requests end sooner, and
            // reading the socket table at every tick for them (calls are always in flight
            // under load) was ~5% of the proxy's CPU. A departure is still told within two
            // ticks and a confirmation of the request's start.
            long now = System.nanoTime();
            if (calls.values().stream().anyMatch(seen -> now - seen.sinceNanos >= youngestNanos))
            {
                Set<Integer> ports = new HashSet<>();
                for (Watched call : calls.keySet())
                    ports.add(call.clientConnection().localPort());
                Map<TcpTable.Connection, Integer> states = table.states(ports);
                for (Map.Entry<Watched, Seen> entry : calls.entrySet())
                {
                    Watched call = entry.getKey();
                    Seen seen = entry.getValue();
                    if (now - seen.sinceNanos < youngestNanos)
                        continue;
                    Integer state = states.get(call.clientConnection());
                    boolean gone;
                    if (state == null)
                    {
                        // Missing: reset, if it was ever there. Twice in a row, so that a read
                        // that raced the kernel's changes to its table cannot end a live call.
                        seen.missing = seen.listed ? seen.missing + 1 : 0;
                        gone = seen.missing >= 2;
                        suspect |= seen.missing == 1;
                    }
                    else
                    {
                        seen.listed = true;
                        addressesMatch = true;
                        seen.missing = 0;
                        gone = state == TcpTable.CLOSE_WAIT; // the client's FIN
                    }
                    if (gone)
                    {
                        calls.remove(call);
                        call.clientLeft();
                    }
                }
            }
        }
        catch (Throwable failure)
        {
            LOG.warn("could not check for clients that left", failure);
        }
        return suspect;
    }

    private void tickAndGoOn()
    {
        boolean suspect = tick();
        ticking.set(false);
        // A call may have been added after the check for empty: start again for it.
        if (!calls.isEmpty() && ticking.compareAndSet(false, true))
            schedule(suspect ? CONFIRM : TICK);
    }
}
