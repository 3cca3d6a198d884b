package bench;

import java.util.List;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.transport.HttpClientConnectionFactory;
import org.eclipse.jetty.client.transport.HttpClientTransportDynamic;
import org.eclipse.jetty.http.HttpScheme;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.ClientConnectionFactoryOverHTTP2;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Jetty's core reverse proxy ({@code ProxyHandler.Reverse}, artifact jetty-proxy), stock,
 * as one of the benchmark's references: no servlet container, no features, the same
 * sizes as the project's jetty-base and web.xml (bench/run.sh reads them from there and
 * passes them in).
 *
 * <p>An embedded main rather than a jetty-home base: jetty-home's {@code proxy} module only
 * puts the jar on the class path (there is no XML that sets up a ProxyHandler), and here
 * the same tool can give the proxy's HTTP client each upstream transport the benchmark
 * compares.
 *
 * <p>Usage: {@code CoreProxy <host> <port> <upstreamBase> <maxThreads> <acceptQueueSize>
 * <idleTimeoutMs> <outputAggregationSize> <clientMaxThreads> <maxConnections>
 * <maxRequestsQueued> <upstreamIdleTimeoutMs> <auto|h2|http/1.1> <h2c:true|false>}. A
 * TLS upstream is checked against the JVM's trust store ({@code -Djavax.net.ssl.trustStore}).
 */
public final class CoreProxy
{
    public static void main(String[] args) throws Exception
    {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String upstream = args[2].endsWith("/") ? args[2].substring(0, args[2].length() - 1) : args[2];
        int maxThreads = Integer.parseInt(args[3]);
        int acceptQueue = Integer.parseInt(args[4]);
        long idleTimeout = Long.parseLong(args[5]);
        int outputAggregation = Integer.parseInt(args[6]);
        int clientThreads = Integer.parseInt(args[7]);
        int maxConnections = Integer.parseInt(args[8]);
        int maxQueued = Integer.parseInt(args[9]);
        long upstreamIdleTimeout = Long.parseLong(args[10]);
        String protocol = args[11];
        boolean h2c = Boolean.parseBoolean(args[12]);
        boolean secure = HttpScheme.isSecure(HttpURI.from(upstream).getScheme());

        Server server = new Server(new QueuedThreadPool(maxThreads));
        HttpConfiguration config = new HttpConfiguration();
        config.setOutputAggregationSize(outputAggregation);
        HttpConnectionFactory http = new HttpConnectionFactory(config);
        ServerConnector connector = h2c
            ? new ServerConnector(server, http, new HTTP2CServerConnectionFactory(config))
            : new ServerConnector(server, http);
        connector.setHost(host);
        connector.setPort(port);
        connector.setAcceptQueueSize(acceptQueue);
        connector.setIdleTimeout(idleTimeout);
        server.addConnector(connector);

        ProxyHandler.Reverse proxy = new ProxyHandler.Reverse(request -> HttpURI.build(upstream + request.getHttpURI().getPathQuery()))
        {
            @Override
            protected HttpClient newHttpClient()
            {
                ClientConnector clientConnector = new ClientConnector();
                clientConnector.setSslContextFactory(new SslContextFactory.Client());
                HttpClient client = new HttpClient(new HttpClientTransportDynamic(clientConnector, transports(clientConnector, protocol, secure)));
                QueuedThreadPool threads = new QueuedThreadPool(clientThreads);
                threads.setName("proxy-client");
                client.setExecutor(threads);
                return client;
            }

            @Override
            protected void configureHttpClient(HttpClient client)
            {
                super.configureHttpClient(client);
                client.setMaxConnectionsPerDestination(maxConnections);
                client.setMaxRequestsQueuedPerDestination(maxQueued);
                client.setIdleTimeout(upstreamIdleTimeout);
            }
        };
        server.setHandler(proxy);
        server.start();
        System.out.println("core proxy on " + host + ":" + connector.getLocalPort() + " to " + upstream + " over " + protocol);
        server.join();
    }

    /**
     * The upstream protocols, as the proxy's PROXY_UPSTREAM_PROTOCOL will choose them: auto
     * is ALPN (h2, then http/1.1) over TLS and http/1.1 in clear text; h2 is ALPN h2 over
     * TLS and prior-knowledge h2c in clear text.
     */
    static ClientConnectionFactory.Info[] transports(ClientConnector connector, String protocol, boolean secure)
    {
        return switch (protocol)
        {
            case "http/1.1" -> new ClientConnectionFactory.Info[]{HttpClientConnectionFactory.HTTP11};
            case "h2" -> new ClientConnectionFactory.Info[]{h2(connector)};
            case "auto" -> secure
                ? new ClientConnectionFactory.Info[]{h2(connector), HttpClientConnectionFactory.HTTP11}
                : new ClientConnectionFactory.Info[]{HttpClientConnectionFactory.HTTP11};
            default -> throw new IllegalArgumentException("upstream protocol must be auto, h2 or http/1.1, not " + protocol);
        };
    }

    private static ClientConnectionFactory.Info h2(ClientConnector connector)
    {
        return new ClientConnectionFactoryOverHTTP2.HTTP2(new HTTP2Client(connector), List.of("h2", "h2c"));
    }
}
