package dev.cerebrasproxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * An in-process stand-in for the Cerebras API on a loopback ephemeral port. It records
 * exactly what it received and answers what the test scripted, by the key a request
 * carries: a test says "key sk-b answers 429" and later asks what each key was sent.
 */
public final class FakeCerebras implements AutoCloseable
{
    public static final String BASE_PATH = "/v1";
    /** In a request body, makes the fake read the request whole and drop the connection without an answer. */
    public static final String MOCK_FAIL_CLOSE = "\"mock_fail\":\"close\"";

    /** What the fake received, one per upstream request. */
    public record Received(String method, String target, Map<String, List<String>> headers, byte[] body)
    {
        public String header(String name)
        {
            List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
            return values == null ? null : values.get(0);
        }

        /** The key, from {@code Authorization: Bearer <key>}. */
        public String key()
        {
            String authorization = header("Authorization");
            return authorization == null ? null : authorization.substring("Bearer ".length());
        }
    }

    /** How the fake answers one request; runs on the fake's servlet thread and may block. */
    @FunctionalInterface
    public interface Reply
    {
        void write(Received request, HttpServletResponse response) throws Exception;
    }

    public static Reply json(int status, String body, String... headers)
    {
        return bytes(status, "application/json", body.getBytes(StandardCharsets.UTF_8), headers);
    }

    public static Reply bytes(int status, String contentType, byte[] body, String... headers)
    {
        return (request, response) ->
        {
            response.setStatus(status);
            if (contentType != null)
                response.setContentType(contentType);
            for (int i = 0; i + 1 < headers.length; i += 2)
                response.addHeader(headers[i], headers[i + 1]);
            response.setContentLength(body.length);
            response.getOutputStream().write(body);
        };
    }

    public static Reply ok()
    {
        return json(200, TestData.COMPLETION);
    }

    private final Server server;
    private final boolean tls;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Map<String, Reply> byKey = new ConcurrentHashMap<>();
    private volatile Reply otherwise = ok();
    private volatile Function<Received, Reply> router;
    /** When set, every request is answered with it before its body is read (recorded without one). */
    private volatile Reply unread;
    /** What becomes of the body after such an answer. */
    private volatile AfterAnswer afterAnswer = AfterAnswer.READ_BODY;
    /** Stalled handlers wait on it until the fake closes. */
    private final java.util.concurrent.CountDownLatch closing = new java.util.concurrent.CountDownLatch(1);

    /** What a fake that answered before it read the body does with the body then. */
    public enum AfterAnswer
    {
        /** Reads it: the upload completes. */
        READ_BODY,
        /** Returns without it: the container cuts the upload (closes, or resets the h2 stream). */
        CUT_UPLOAD,
        /** Neither reads it nor returns, until the fake closes: the upload stalls. */
        STALL
    }
    /** The sockets of the proxy's connections: one per socket, however many protocol layers (TLS, ALPN, an h2c upgrade) it carried. */
    private final Set<EndPoint> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tlsHandshakes = new AtomicInteger();
    private final AtomicInteger opened = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger overH2 = new AtomicInteger();
    /** Null for HTTPS over HTTP/1.1 only ({@link #overTls}). */
    private final UpstreamTransport transport;
    private final SelfSignedCertificate certificate;

    /** A clear-text fake: HTTP/1.1, and h2 for a client that starts with its preface (prior knowledge). */
    public FakeCerebras() throws Exception
    {
        this(UpstreamTransport.HTTP_1_1, null);
    }

    /** A fake that speaks HTTPS with this certificate, like the real API, over HTTP/1.1 only. */
    public static FakeCerebras overTls(SelfSignedCertificate certificate) throws Exception
    {
        return new FakeCerebras(null, certificate);
    }

    /** A fake for this transport; {@link ProxyUnderTest#start(FakeCerebras, String...)} configures the proxy to match. */
    public static FakeCerebras over(UpstreamTransport transport) throws Exception
    {
        return new FakeCerebras(transport, transport == UpstreamTransport.H2 ? SelfSignedCertificate.shared() : null);
    }

    /** @param transport null for HTTPS over HTTP/1.1 only */
    private FakeCerebras(UpstreamTransport transport, SelfSignedCertificate certificate) throws Exception
    {
        this.transport = transport;
        this.certificate = certificate;
        QueuedThreadPool threads = new QueuedThreadPool(600);
        threads.setName("fake-cerebras");
        server = new Server(threads);
        HttpConfiguration config = new HttpConfiguration();
        ServerConnector connector;
        if (certificate == null)
        {
            connector = new ServerConnector(server, new HttpConnectionFactory(config), h2(new HTTP2CServerConnectionFactory(config)));
        }
        else
        {
            SslContextFactory.Server tls = new SslContextFactory.Server();
            tls.setKeyStorePath(certificate.keyStore().toString());
            tls.setKeyStorePassword(SelfSignedCertificate.PASSWORD);
            tls.setKeyStoreType("PKCS12");
            if (transport == null)
            {
                connector = new ServerConnector(server, new SslConnectionFactory(tls, "http/1.1"), new HttpConnectionFactory(config));
            }
            else
            {
                // What the real API does: ALPN offers h2 first, HTTP/1.1 for clients without h2.
                ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1");
                alpn.setDefaultProtocol("http/1.1");
                connector = new ServerConnector(server, new SslConnectionFactory(tls, alpn.getProtocol()), alpn,
                    h2(new HTTP2ServerConnectionFactory(config)), new HttpConnectionFactory(config));
            }
        }
        // Each handshake is one new TLS connection: what connection reuse should keep rare.
        connector.addBean(new SslHandshakeListener()
        {
            @Override
            public void handshakeSucceeded(Event event)
            {
                tlsHandshakes.incrementAndGet();
            }
        });
        this.tls = certificate != null;
        // Longer than any test's stall: over h2 a stream whose writes wait for flow control
        // (a slow client) is reset after this long, and Jetty's 30 s was within reach on a busy machine.
        connector.setIdleTimeout(180_000);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        connector.addEventListener(new Connection.Listener()
        {
            @Override
            public void onOpened(Connection connection)
            {
                if (sockets.add(socketOf(connection)))
                    opened.incrementAndGet();
            }

            @Override
            public void onClosed(Connection connection)
            {
                EndPoint socket = socketOf(connection);
                if (!socket.isOpen())
                    sockets.remove(socket);
            }
        });
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        context.addServlet(new ServletHolder(new HttpServlet()
        {
            @Override
            protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException
            {
active.incrementAndGet();
                if ("HTTP/2.0".equals(request.getProtocol()))
                    overH2.incrementAndGet();
                try
                {
                    Reply early = unread;
                    if (early != null)
                    {
                        Received r = new Received(request.getMethod(), targetOf(request), headersOf(request), new byte[0]);
                        received.add(r);
                        early.write(r, response);
                        response.flushBuffer();
                        switch (afterAnswer)
                        {
                            case READ_BODY -> request.getInputStream().transferTo(OutputStream.nullOutputStream());
                            case CUT_UPLOAD -> { }
                            case STALL -> closing.await();
                        }
                        return;
                    }
                    Received r = record(request);
                    received.add(r);
                    if (new String(r.body(), StandardCharsets.UTF_8).replace(" ", "").contains(MOCK_FAIL_CLOSE))
                    {
                        response.sendError(-1); // the request was received whole; no answer byte
                        return;
                    }
                    replyFor(r).write(r, response);
                }
                catch (IOException e)
                {
                    throw e;
                }
                catch (Exception e)
                {
                    throw new IOException(e);
                }
                finally
                {
                    active.decrementAndGet();
                }
            }
        }), "/*");
        server.setHandler(context);
        server.start();
    }

    private Reply replyFor(Received request)
    {
        Function<Received, Reply> route = router;
        if (route != null)
        {
            Reply reply = route.apply(request);
            if (reply != null)
                return reply;
        }
        String key = request.key();
        Reply reply = key == null ? null : byKey.get(key);
        return reply != null ? reply : otherwise;
    }

    private static Received record(HttpServletRequest request) throws IOException
    {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try (InputStream input = request.getInputStream())
        {
            input.transferTo(body);
        }
        return new Received(request.getMethod(), targetOf(request), headersOf(request), body.toByteArray());
    }

    private static Map<String, List<String>> headersOf(HttpServletRequest request)
    {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : Collections.list(request.getHeaderNames()))
            headers.put(name.toLowerCase(Locale.ROOT), Collections.list(request.getHeaders(name)));
        return headers;
    }

    private static String targetOf(HttpServletRequest request)
    {
        return request.getRequestURI() + (request.getQueryString() == null ? "" : "?" + request.getQueryString());
    }

    /** The base URL the proxy should be configured with, like https://api.cerebras.ai/v1. */
    public URI baseUrl()
    {
        return URI.create((tls ? "https" : "http") + "://127.0.0.1:" + port() + BASE_PATH);
    }

    private static EndPoint socketOf(Connection connection)
    {
        EndPoint endPoint = connection.getEndPoint();
        return endPoint instanceof SslConnection.SslEndPoint decrypted ? decrypted.getSslConnection().getEndPoint() : endPoint;
    }

    /** A fake speaking h2 lets each connection carry up to 128 streams at once, as common servers announce. */
    private static AbstractHTTP2ServerConnectionFactory h2(AbstractHTTP2ServerConnectionFactory h2)
    {
        h2.setMaxConcurrentStreams(128);
        return h2;
    }

    /** What the proxy must be told to speak this fake's transport (name, value, ...). */
    List<String> proxySettings()
    {
        return transport == null ? List.of() : transport.proxySettings(certificate);
    }

    /** Requests the fake is serving right now. */
    public int activeRequests()
    {
        return active.get();
    }

    /** Requests that came over h2 so far. */
    public int requestsOverH2()
    {
        return overH2.get();
    }

    /** Connections the proxy opened so far, open or closed since. */
    public int connectionsOpened()
    {
        return opened.get();
    }

    /** TLS handshakes completed so far: one per connection the proxy opened. */
    public int tlsHandshakes()
    {
        return tlsHandshakes.get();
    }

    public int port()
    {
        return ((ServerConnector)server.getConnectors()[0]).getLocalPort();
    }

    /** Requests carrying this key get this reply. */
    public FakeCerebras answer(String key, Reply reply)
    {
        byKey.put(key, reply);
        return this;
    }

    /** Requests whose key has no reply of its own get this one (a 200 completion unless set). */
    public FakeCerebras otherwise(Reply reply)
    {
        otherwise = reply;
        return this;
    }

    /**
     * Every request gets this reply before its body is read, as a front refusing a body
     * too large answers (null: read bodies first again), recorded with an empty body; then
     * the body is read, the upload cut, or left to stall.
     */
    public FakeCerebras answerUnread(Reply reply, AfterAnswer then)
    {
        afterAnswer = then;
        unread = reply;
        return this;
    }

    /** Decides per request before the per-key replies; return null to fall through to them. */
    public FakeCerebras route(Function<Received, Reply> router)
    {
        this.router = router;
        return this;
    }

    /** Connections from the proxy that are open right now. */
    public int openConnections()
    {
        sockets.removeIf(socket -> !socket.isOpen());
        return sockets.size();
    }

    public List<Received> received()
    {
        return new ArrayList<>(received);
    }

    public Received lastReceived()
    {
        List<Received> all = received();
        if (all.isEmpty())
            throw new AssertionError("upstream received nothing");
        return all.get(all.size() - 1);
    }

    public long countFor(String key)
    {
        return received.stream().filter(r -> key.equals(r.key())).count();
    }

    /** Drops what was recorded so far, e.g. so a long run measures the proxy's memory, not ours. */
    public void forgetReceived()
    {
        received.clear();
    }

    public void reset()
    {
        received.clear();
        byKey.clear();
        otherwise = ok();
        router = null;
        unread = null;
    }

    public static void writeAndFlush(OutputStream output, String text) throws IOException
    {
        output.write(text.getBytes(StandardCharsets.UTF_8));
        output.flush();
    }

    @Override
    public void close() throws Exception
    {
        closing.countDown();
        server.stop();
    }
}
