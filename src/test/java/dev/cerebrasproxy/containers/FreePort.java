package dev.cerebrasproxy.containers;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Ports for containers started as other processes. They cannot bind port 0 and tell us
 * the result, so we ask the OS for an ephemeral port, release it and hand it over; the
 * window in which another process could take it is a few milliseconds.
 */
final class FreePort
{
    private FreePort()
    {
    }

    static int onLoopback() throws IOException
    {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
    }

    /** Whether nothing listens on this loopback port any more (we can bind it ourselves). */
    static boolean isFree(int port)
    {
        try (ServerSocket socket = new ServerSocket())
        {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        }
        catch (IOException e)
        {
            return false;
        }
    }
}
