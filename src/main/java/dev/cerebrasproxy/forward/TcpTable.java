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
                String[] fields = lines.get(i).strip().split("\\s+");
                if (fields.length < 4)
                    continue;
                try
                {
                    Connection connection = new Connection(port(fields[1]), address(fields[2]), port(fields[2]));
                    states.put(connection, Integer.parseInt(fields[3], 16));
                }
                catch (RuntimeException | UnknownHostException unreadable)
                {
                    // a line of another format: not ours to read
                }
            }
        }
        return states;
    }

    /** How many sockets on this local port are in this state. */
    static long count(int localPort, int state)
    {
        return states().entrySet().stream().filter(e -> e.getKey().localPort() == localPort && e.getValue() == state).count();
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
