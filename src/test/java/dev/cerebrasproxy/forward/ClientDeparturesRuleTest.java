package dev.cerebrasproxy.forward;

import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the watcher of departures makes of each read of the socket table, read by read (a
 * table of the test's own, the ticks taken by hand): when a call's client has gone, and
 * when it must not be taken for gone.
 */
class ClientDeparturesRuleTest
{
    private static final int PORT = 8080;
    private static final int ESTABLISHED = 0x01;

    /** The table the watcher reads, as the test sets it; and the ports it was asked for. */
    private final Map<TcpTable.Connection, Integer> table = new HashMap<>();
    private final Set<Integer> askedFor = new HashSet<>();
    // Never started: the watcher's own timer stays idle, and the test takes each tick.
    private final ClientDepartures departures = new ClientDepartures(new ScheduledExecutorScheduler(), ports ->
    {
        askedFor.addAll(ports);
        return new HashMap<>(table);
    }, Duration.ZERO);

    private static final class Call implements ClientDepartures.Watched
    {
        final TcpTable.Connection connection;
        int left;

        Call(String address, int remotePort) throws Exception
        {
            connection = new TcpTable.Connection(PORT, InetAddress.getByName(address), remotePort);
        }

        @Override
        public TcpTable.Connection clientConnection()
        {
            return connection;
        }

        @Override
        public boolean ended()
        {
            return left > 0;
        }

        @Override
        public void clientLeft()
        {
            left++;
        }
    }

    @Test
    void aClientsFinEndsItsCallAtTheFirstReadThatShowsIt() throws Exception
    {
        Call call = new Call("127.0.0.1", 40001);
        departures.watch(call);
        table.put(call.connection, ESTABLISHED);
        departures.tick();
        assertEquals(0, call.left);
        table.put(call.connection, TcpTable.CLOSE_WAIT);
        departures.tick();
        assertEquals(1, call.left, "CLOSE_WAIT is the client's FIN: gone, with no second look to wait for");
        departures.tick();
        assertEquals(1, call.left, "told once");
        assertEquals(Set.of(PORT), askedFor, "only the watched port's lines are asked for");
    }

    @Test
    void aListedConnectionMissingFromOneReadIsNotGoneButMissingFromTwoIs() throws Exception
    {
        Call call = new Call("127.0.0.1", 40002);
        departures.watch(call);
        table.put(call.connection, ESTABLISHED);
        departures.tick();
        table.remove(call.connection);
        assertTrue(departures.tick(), "a miss is looked at again soon");
        table.put(call.connection, ESTABLISHED);
        departures.tick();
        assertEquals(0, call.left, "one read that missed a live connection ends nothing");
        table.remove(call.connection);
        departures.tick();
        departures.tick();
        assertEquals(1, call.left, "missing twice in a row: the client reset it");
    }

    /**
     * A container that takes the client's address from X-Forwarded-For gives requests
     * addresses no socket has. One request straight to the proxy (a health check on
     * localhost) must not make every forwarded request's missing connection look reset.
     */
    @Test
    void aConnectionTheTableNeverListedIsNeverTakenForGoneWhateverOtherCallsShow() throws Exception
    {
        Call direct = new Call("127.0.0.1", 40003);
        Call forwarded = new Call("203.0.113.7", 51000);
        departures.watch(direct);
        departures.watch(forwarded);
        table.put(direct.connection, ESTABLISHED);
        for (int i = 0; i < 5; i++)
            departures.tick();
        assertEquals(0, forwarded.left, "a forwarded address's connection is never in the table, and its absence says nothing");
        assertEquals(0, direct.left);
        assertFalse(departures.tick(), "nothing to look at again soon");
    }

    /** Under load calls are always in flight, most for milliseconds: the table is not read for calls younger than the limit. */
    @Test
    void callsYoungerThanTheLimitAreNotLookedFor() throws Exception
    {
        ClientDepartures patient = new ClientDepartures(new ScheduledExecutorScheduler(), ports ->
        {
            askedFor.addAll(ports);
            return new HashMap<>(table);
        }, Duration.ofHours(1));
        Call call = new Call("127.0.0.1", 40004);
        patient.watch(call);
        table.put(call.connection, TcpTable.CLOSE_WAIT);
        patient.tick();
        assertEquals(Set.of(), askedFor, "the table was not read");
        assertEquals(0, call.left);
    }
}
