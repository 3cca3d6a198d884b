package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The kernel's table of TCP sockets as Linux shows it in {@code /proc/net/tcp} and
 * {@code /proc/net/tcp6}: what tells, on any servlet container, that a client has closed
 * its side of a connection the server is not reading from (the socket is in CLOSE_WAIT),
 * which no servlet API reports while the request is waiting for upstream. Elsewhere the
 * table is empty and nothing is told.
 */
final class TcpTable
{
    /** The kernel's number for CLOSE_WAIT: the peer sent FIN, this side has not closed yet. */
    static final int CLOSE_WAIT = 0x08;
    /** This side closed first and waits out late segments; the connection is over. */
    static final int TIME_WAIT = 0x06;

    private static final List<Path> FILES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));

    /** One connection as the server sees it: its own port, and the peer's address and port. */
    record Connection(int localPort, InetAddress remote, int remotePort)
    {
    }

    private TcpTable()
    {
    }

    /** Whether this machine has the table at all. */
    static boolean available()
    {
        return Files.isReadable(FILES.get(0));
    }

    /** The state of every TCP socket now, by connection. */
    static Map<Connection, Integer> states()
    {
        return states(null);
    }

    /**
     * The state of the TCP sockets on these local ports (all when null), by connection.
     * Read often while requests are in flight, so each line is looked at only as far as its
     * local port, and only a watched port's lines are parsed whole. Should a connection be
     * listed twice (a socket in TIME_WAIT beside a new one on the same addresses), a live
     * state wins.
     */
    static Map<Connection, Integer> states(Set<Integer> localPorts)
    {
        Map<Connection, Integer> states = new HashMap<>();
        for (Path file : FILES)
        {
            List<String> lines;
            try
            {
                lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
            }
            catch (IOException | SecurityException absent)
            {
                continue;
            }
            for (int i = 1; i < lines.size(); i++)
            {
                try
                {
                    read(lines.get(i), localPorts, states);
                }
                catch (RuntimeException | UnknownHostException unreadable)
                {
                    // a line of another format: not ours to read
                }
            }
        }
        return states;
    }

    /** One line: "  sl: local:port remote:port st ...", addresses and ports in hex. */
    private static void read(String line, Set<Integer> localPorts, Map<Connection, Integer> states) throws UnknownHostException
    {
        int local = line.indexOf(':') + 1; // past the slot number
        while (line.charAt(local) == ' ')
            local++;
        int localEnd = line.indexOf(' ', local);
        int localPort = port(line.substring(local, localEnd));
        if (localPorts != null && !localPorts.contains(localPort))
            return;
        int remote = localEnd + 1;
        int remoteEnd = line.indexOf(' ', remote);
        String remoteEndpoint = line.substring(remote, remoteEnd);
        int state = Integer.parseInt(line.substring(remoteEnd + 1, remoteEnd + 3), 16);
        Connection connection = new Connection(localPort, address(remoteEndpoint), port(remoteEndpoint));
        Integer listed = states.get(connection);
        if (listed == null || listed == TIME_WAIT)
            states.put(connection, state);
    }

    /** How many sockets on this local port are in this state. */
    static long count(int localPort, int state)
    {
        return states(Set.of(localPort)).values().stream().filter(s -> s == state).count();
    }

    private static int port(String endpoint)
    {
        return Integer.parseInt(endpoint.substring(endpoint.indexOf(':') + 1), 16);
    }

    /** The kernel prints each 32-bit word of the address in host order (little-endian here). */
    private static InetAddress address(String endpoint) throws UnknownHostException
    {
        String hex = endpoint.substring(0, endpoint.indexOf(':'));
        byte[] bytes = new byte[hex.length() / 2];
        for (int word = 0; word < bytes.length / 4; word++)
        {
            for (int b = 0; b < 4; b++)
                bytes[word * 4 + b] = (byte)Integer.parseInt(hex.substring(word * 8 + (3 - b) * 2, word * 8 + (3 - b) * 2 + 2), 16);
        }
        // An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d; this gives a.b.c.d back.
        return InetAddress.getByAddress(bytes);
    }
}
