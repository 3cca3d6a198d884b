package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import dev.cerebrasproxy.config.UpstreamProtocol;
import org.eclipse.jetty.client.Connection;
import org.eclipse.jetty.client.ConnectionPool;
import org.eclipse.jetty.client.Destination;
import org.eclipse.jetty.client.HttpClientTransport;
import org.eclipse.jetty.client.MultiplexConnectionPool;
import org.eclipse.jetty.client.Origin;
import org.eclipse.jetty.client.transport.HttpClientTransportDynamic;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.client.transport.ClientConnectionFactoryOverHTTP2;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.EndPoint;

/**
 * How the proxy's HTTP client connects to upstream: which HTTP versions it may speak
 * (PROXY_UPSTREAM_PROTOCOL), and a connection pool that multiplexes h2 streams up to
 * what upstream announces, opening another connection only when every one is full.
 */
final class UpstreamConnections
{
    /**
     * Streams per h2 connection when upstream announces no limit. The protocol would allow
     * any number, but thousands of streams on one socket put every stream behind one TCP
     * window; 128 is what common servers (nginx, Jetty) announce.
     */
    static final int STREAMS_WHEN_UNANNOUNCED = 128;

    private UpstreamConnections()
    {
    }

    /** The client transport for this protocol setting and an upstream with (secure) or without TLS. */
    static HttpClientTransport transport(ClientConnector connector, UpstreamProtocol protocol, boolean secure)
    {
        ClientConnectionFactory.Info http11 = new SerializedHttp11();
        ClientConnectionFactory.Info[] infos = switch (protocol)
        {
            case HTTP_1_1 -> new ClientConnectionFactory.Info[]{http11};
            // h2 over TLS by ALPN, else h2c with prior knowledge.
            case H2 -> new ClientConnectionFactory.Info[]{h2(connector)};
            // Clear text has no ALPN to negotiate with, and prior knowledge would fail on an
            // HTTP/1.1-only server: auto means HTTP/1.1 there.
            case AUTO -> secure
                ? new ClientConnectionFactory.Info[]{h2(connector), http11}
                : new ClientConnectionFactory.Info[]{http11};
        };
        HttpClientTransportDynamic transport = new Http11WithoutAlpn(connector, infos);
        // Until the first connection says what it is, guess from the setting: whoever speaks h2 is told
        // a connection in the making can take many requests, so a burst opens a few, not one each.
        int guess = protocol == UpstreamProtocol.HTTP_1_1 || (protocol == UpstreamProtocol.AUTO && !secure) ? 1 : STREAMS_WHEN_UNANNOUNCED;
        transport.setConnectionPoolFactory(destination -> new LearningPool(destination, guess));
        return transport;
    }

    private static ClientConnectionFactory.Info h2(ClientConnector connector)
    {
        HTTP2Client http2 = new HTTP2Client(connector);
        // Upstream's SETTINGS_MAX_CONCURRENT_STREAMS replaces this when it announces one.
        http2.setMaxLocalStreams(STREAMS_WHEN_UNANNOUNCED);
        // As the HTTP/1.1 side (see CerebrasProxyServlet): chunks reach the servlet API as byte arrays.
        http2.setUseInputDirectByteBuffers(false);
        return new ClientConnectionFactoryOverHTTP2.HTTP2(http2, List.of("h2", "h2c"));
    }

    /**
     * h2 over TLS exists only by ALPN (RFC 9113, 3.2), so a server that selected no
     * protocol speaks HTTP/1.1; Jetty would pick the first protocol offered, h2, and the
     * exchange would break on the first frame.
     */
    private static final class Http11WithoutAlpn extends HttpClientTransportDynamic
    {
        Http11WithoutAlpn(ClientConnector connector, ClientConnectionFactory.Info... infos)
        {
            super(connector, infos);
        }

        @Override
        public org.eclipse.jetty.io.Connection newConnection(EndPoint endPoint, Map<String, Object> context) throws IOException
        {
            Origin.Protocol protocol = context.get(Destination.CONTEXT_KEY) instanceof Destination destination ? destination.getOrigin().getProtocol() : null;
            if (protocol != null && protocol.isNegotiate() && context.get(ClientConnector.APPLICATION_PROTOCOL_CONTEXT_KEY) == null)
                context.put(ClientConnector.APPLICATION_PROTOCOL_CONTEXT_KEY, "http/1.1");
            return super.newConnection(endPoint, context);
        }
    }

    /**
     * Jetty's multiplexing pool (each connection carries as many requests at once as it
     * says it can: 1 for HTTP/1.1, upstream's announced limit for h2), which decides how
     * many connections to open for queued requests by what a connection not yet open is
     * assumed to carry. Jetty assumes 1, so 10,000 streams arriving at once would open
     * 10,000 h2 connections before the first SETTINGS frame told otherwise. This pool
     * assumes what the last connection opened could carry.
     */
    static final class LearningPool extends MultiplexConnectionPool
    {
        LearningPool(Destination destination, int guess)
        {
            // 1 for connections that do not say (HTTP/1.1); h2 ones say theirs.
            super(destination, destination.getHttpClient().getMaxConnectionsPerDestination(), 1);
            setInitialMaxMultiplex(guess);
        }

        @Override
        protected void onCreated(Connection connection)
        {
            super.onCreated(connection);
            int carries = connection instanceof ConnectionPool.MaxMultiplexable multiplexable ? multiplexable.getMaxMultiplex() : 1;
            setInitialMaxMultiplex(carries > 0 ? carries : STREAMS_WHEN_UNANNOUNCED);
        }

        int assumedMultiplex()
        {
            return getInitialMaxMultiplex();
        }
    }
}
