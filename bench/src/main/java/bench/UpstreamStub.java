package bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A stand-in for the Cerebras API that costs as little as possible, so the benchmark
 * measures the proxies and not it: Jetty core (no servlets), non-blocking, answers from
 * a prebuilt buffer.
 *
 * <ul>
 * <li>{@code POST <any path>}: a fixed chat completion (application/json).</li>
 * <li>{@code POST <any path>?events=N&delay_ms=D}: a server-sent event stream of N
 * chunks D ms apart (the first at once), then {@code data: [DONE]}. Each event carries
 * {@code "sent_us":<epoch microseconds>} so a reader on this machine can tell how long
 * the event took to reach it.</li>
 * <li>A request whose {@code Authorization} contains {@code ratelimited} gets 429 with
 * {@code Retry-After: 1}, like a key over its limit.</li>
 * <li>{@code GET /_stub/connections}: how many connections each listener accepted, has
 * open, and had open at most, and requests by HTTP version (one line of
 * {@code name=value}); {@code ?reset=1} starts the counts afresh.</li>
 * </ul>
 *
 * <p>The plain listener speaks HTTP/1.1 and prior-knowledge h2c (as Jetty does on one
 * port). With a key store it also listens with TLS, where ALPN offers the given
 * protocols in the server's order of preference (by default h2, then http/1.1), as
 * Cerebras's front (Cloudflare) does.
 *
 * <p>Usage: {@code UpstreamStub <host> <port> [<tlsPort> <keyStore> <password> <alpn,...>
 * <maxConcurrentStreams>]}.
 */
public final class UpstreamStub extends Handler.Abstract.NonBlocking
{
    static final byte[] COMPLETION = ("{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1764200000,"
        + "\"model\":\"llama3.1-8b\",\"system_fingerprint\":\"fp_bench\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        + "\"content\":\"Hello! How can I help you today? This is a fixed answer from the benchmark's upstream stub.\"},"
        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":21,\"total_tokens\":33},"
        + "\"time_info\":{\"queue_time\":0.0001,\"prompt_time\":0.0002,\"completion_time\":0.01,\"total_time\":0.0103}}")
        .getBytes(StandardCharsets.UTF_8);
    static final byte[] RATE_LIMITED = "{\"message\":\"Requests per minute limit exceeded\",\"type\":\"too_many_requests_error\",\"param\":\"quota\",\"code\":\"request_quota_exceeded\"}"
        .getBytes(StandardCharsets.UTF_8);
    private static final ByteBuffer COMPLETION_BUFFER = ByteBuffer.allocateDirect(COMPLETION.length).put(COMPLETION).flip();
    private static final ByteBuffer RATE_LIMITED_BUFFER = ByteBuffer.allocateDirect(RATE_LIMITED.length).put(RATE_LIMITED).flip();
    private static final ByteBuffer DONE = ByteBuffer.wrap("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));

    /** One thread paces every stream's events; writes themselves never block. */
    private final ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor(r ->
    {
        Thread thread = new Thread(r, "stub-pacer");
        thread.setDaemon(true);
        return thread;
    });

    private final CountingConnector[] connectors;
    private final LongAdder http1Requests = new LongAdder();
    private final LongAdder http2Requests = new LongAdder();

    private UpstreamStub(CountingConnector... connectors)
    {
        this.connectors = connectors;
    }

    public static void main(String[] args) throws Exception
    {
        QueuedThreadPool threads = new QueuedThreadPool(64, 4);
        threads.setName("stub");
        Server server = new Server(threads);
        int maxStreams = args.length > 7 ? Integer.parseInt(args[7]) : 128;
        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendDateHeader(false);
        CountingConnector plain = new CountingConnector(server, "plain",
            new HttpConnectionFactory(config), h2(new HTTP2CServerConnectionFactory(config), maxStreams));
        plain.setHost(args[0]);
        plain.setPort(Integer.parseInt(args[1]));
        server.addConnector(plain);
        CountingConnector tls = null;
        if (args.length > 2)
        {
            SslContextFactory.Server ssl = new SslContextFactory.Server();
            ssl.setKeyStorePath(args[3]);
            ssl.setKeyStorePassword(args[4]);
            String[] alpn = args.length > 5 ? args[5].split(",") : new String[]{"h2", "http/1.1"};
            HttpConfiguration secure = new HttpConfiguration(config);
            // A certificate for 127.0.0.1 is fine: SNI host checks are for names.
            secure.addCustomizer(new SecureRequestCustomizer(false));
            ALPNServerConnectionFactory negotiation = new ALPNServerConnectionFactory(alpn);
            negotiation.setDefaultProtocol("http/1.1");
            tls = new CountingConnector(server, "tls", new SslConnectionFactory(ssl, negotiation.getProtocol()), negotiation,
                h2(new HTTP2ServerConnectionFactory(secure), maxStreams), new HttpConnectionFactory(secure));
            tls.setHost(args[0]);
            tls.setPort(Integer.parseInt(args[2]));
            server.addConnector(tls);
        }
        server.setHandler(tls == null ? new UpstreamStub(plain) : new UpstreamStub(plain, tls));
        server.start();
        System.out.println("stub listening on " + args[0] + ":" + plain.getLocalPort() + " (http/1.1, h2c)"
            + (tls == null ? "" : " and " + args[0] + ":" + tls.getLocalPort() + " (TLS, ALPN " + args[5] + ", " + maxStreams + " streams per h2 connection)"));
        server.join();
    }

    private static ConnectionFactory h2(AbstractHTTP2ServerConnectionFactory h2, int maxStreams)
    {
        h2.setMaxConcurrentStreams(maxStreams);
        return h2;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback)
    {
        if (request.getHttpURI().getPath().equals("/_stub/connections"))
        {
            connections(request, response, callback);
            return true;
        }
        (request.getConnectionMetaData().getHttpVersion() == HttpVersion.HTTP_2 ? http2Requests : http1Requests).increment();
        drainThenAnswer(request, response, callback);
        return true;
    }

    private void connections(Request request, Response response, Callback callback)
    {
        StringBuilder line = new StringBuilder();
        for (CountingConnector connector : connectors)
            connector.describe(line);
        line.append("requests_http1=").append(http1Requests.sum()).append(" requests_h2=").append(http2Requests.sum()).append('\n');
        String query = request.getHttpURI().getQuery();
        if (query != null && query.contains("reset=1"))
        {
            for (CountingConnector connector : connectors)
                connector.reset();
            http1Requests.reset();
            http2Requests.reset();
        }
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
        response.write(true, ByteBuffer.wrap(line.toString().getBytes(StandardCharsets.US_ASCII)), callback);
    }

    /** Reads the request body to its end without a blocked thread, then answers. */
    private void drainThenAnswer(Request request, Response response, Callback callback)
    {
        while (true)
        {
            Content.Chunk chunk = request.read();
            if (chunk == null)
            {
                request.demand(() -> drainThenAnswer(request, response, callback));
                return;
            }
            if (Content.Chunk.isFailure(chunk))
            {
                callback.failed(chunk.getFailure());
                return;
            }
            chunk.release();
            if (chunk.isLast())
            {
                answer(request, response, callback);
                return;
            }
        }
    }

    private void answer(Request request, Response response, Callback callback)
    {
        String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        if (authorization != null && authorization.contains("ratelimited"))
        {
            response.setStatus(429);
            response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
            sendFixed(response, RATE_LIMITED_BUFFER, callback);
            return;
        }
        String query = request.getHttpURI().getQuery();
        int events = intParameter(query, "events", -1);
        if (events < 0)
        {
            response.setStatus(200);
            sendFixed(response, COMPLETION_BUFFER, callback);
            return;
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.getHeaders().put("X-Accel-Buffering", "no");
        new Stream(response, callback, events, intParameter(query, "delay_ms", 0)).send(0);
    }

    private static void sendFixed(Response response, ByteBuffer body, Callback callback)
    {
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.remaining());
        response.write(true, body.slice(), callback);
    }

    static int intParameter(String query, String name, int otherwise)
    {
        if (query == null)
            return otherwise;
        for (String pair : query.split("&"))
        {
            if (pair.startsWith(name + "="))
                return Integer.parseInt(pair.substring(name.length() + 1));
        }
        return otherwise;
    }

    /** One event stream: writes event i, and when it is written schedules event i+1. */
    private final class Stream
    {
        private final Response response;
        private final Callback done;
        private final int events;
        private final int delayMillis;

        Stream(Response response, Callback done, int events, int delayMillis)
        {
            this.response = response;
            this.done = done;
            this.events = events;
            this.delayMillis = delayMillis;
        }

        void send(int index)
        {
            if (index == events)
            {
                response.write(true, DONE.slice(), done);
                return;
            }
            ByteBuffer event = ByteBuffer.wrap(event(index).getBytes(StandardCharsets.UTF_8));
            response.write(false, event, Callback.from(() -> next(index + 1), done::failed));
        }

        private void next(int index)
        {
            if (delayMillis <= 0 || index == events)
                send(index);
            else
                pacer.schedule(() -> send(index), delayMillis, TimeUnit.MILLISECONDS);
        }
    }

    static String event(int index)
    {
        return "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"model\":\"llama3.1-8b\","
            + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token" + index + "\"}}],\"sent_us\":" + Clock.epochMicros() + "}\n\n";
    }
}
