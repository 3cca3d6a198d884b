package bench;

import java.net.InetSocketAddress;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** Jetty HTTP clients as the stream probes use them: many connections, few threads. */
final class Clients
{
    static final String STREAM_BODY = "{\"model\":\"llama3.1-8b\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

    private Clients()
    {
    }

    /** @param sourceAddress the loopback address to connect from, or null for any */
    static HttpClient start(String sourceAddress, int maxConnections) throws Exception
    {
        QueuedThreadPool threads = new QueuedThreadPool(16, 2);
        threads.setName("probe-" + (sourceAddress == null ? "any" : sourceAddress));
        threads.setDaemon(true);
        HttpClient client = new HttpClient();
        client.setExecutor(threads);
        client.setMaxConnectionsPerDestination(maxConnections);
        client.setMaxRequestsQueuedPerDestination(maxConnections * 2);
        client.setIdleTimeout(120_000);
        client.setConnectTimeout(30_000);
        if (sourceAddress != null)
            client.setBindAddress(new InetSocketAddress(sourceAddress, 0));
        client.start();
        return client;
    }
}
