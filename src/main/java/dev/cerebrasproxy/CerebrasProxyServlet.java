package dev.cerebrasproxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's Jetty hooks: it reads the client's body, builds each upstream attempt with
 * a key from the pool, and moves bytes back to the client. Which attempts are replayed
 * is decided by {@link ReplayingResponseListener}; which key comes next, by
 * {@link KeyPool}. Configuration comes from the servlet context, put there by
 * {@link KeyPoolInitializer}.
 */
public class CerebrasProxyServlet extends AsyncProxyServlet
{
    private static final Logger LOG = LoggerFactory.getLogger(CerebrasProxyServlet.class);
    /** The client request's {@link ProxiedCall}, for the header hooks that only get the request. */
    private static final String CALL_ATTRIBUTE = ProxiedCall.class.getName();

    /** The proxy's own endpoints live here; nothing under it is ever forwarded. */
    static final String RESERVED_PREFIX = "/_proxy/";

    private ProxySettings settings;
    private KeyPool pool;
    private UpstreamRoute route;
    private TaskScheduler scheduler;
    private ClientTokens clients;
    private ProxyMetrics metrics;

    @Override
    public void init() throws ServletException
    {
        settings = (ProxySettings)getServletContext().getAttribute(KeyPoolInitializer.SETTINGS_ATTRIBUTE);
        pool = (KeyPool)getServletContext().getAttribute(KeyPoolInitializer.POOL_ATTRIBUTE);
        if (settings == null || pool == null)
            throw new ServletException("No key pool in the servlet context: declare " + KeyPoolInitializer.class.getName() + " as a listener in web.xml.");
        route = new UpstreamRoute(settings.upstream());
        clients = settings.clientTokens();
        metrics = (ProxyMetrics)getServletContext().getAttribute(ProxyMetrics.ATTRIBUTE);
        scheduler = (TaskScheduler)getServletContext().getAttribute(KeyPoolInitializer.SCHEDULER_ATTRIBUTE);
        if (scheduler == null) // the HTTP client's own timer thread: nothing extra to start or stop
            scheduler = (delay, task) -> getHttpClient().getScheduler().schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        super.init();
    }

    @Override
    protected ClientConnector newClientConnector()
    {
        ClientConnector connector = super.newClientConnector();
        UpstreamTls.configure(connector.getSslContextFactory(), settings);
        return connector;
    }

    @Override
    protected HttpClient createHttpClient() throws ServletException
    {
        HttpClient client = super.createHttpClient();
        client.setConnectTimeout(settings.connectTimeout().toMillis());
        String queued = getServletConfig().getInitParameter("maxRequestsQueuedPerDestination");
        if (queued != null)
            client.setMaxRequestsQueuedPerDestination(Integer.parseInt(queued));
        // Without this Jetty labels a body the client sent untyped; upstream must see it as sent.
        client.setDefaultRequestContentType(null);
        return client;
    }

    /** The client that talks to upstream, as configured from web.xml. */
    HttpClient upstreamClient()
    {
        return getHttpClient();
    }

    long maxBodyBytes()
    {
        return settings.maxBodyBytes();
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        String method = request.getMethod();
        if (method.equals("CONNECT"))
        {
            // A tunnel to a host of the client's choosing is exactly what must never happen.
            ProxyError.invalidRequest(400, "unsupported_method", "CONNECT is not supported: this is a reverse proxy for the Cerebras API.").sendTo(response, "Connection", "close");
            return;
        }
        if (method.equals("TRACE"))
        {
            // Upstream would echo the request back, pool key included.
            ProxyError.invalidRequest(405, "unsupported_method", "TRACE is not supported.").sendTo(response);
            return;
        }
        String path = request.getRequestURI().substring(request.getContextPath().length());
        if (path.startsWith(RESERVED_PREFIX))
        {
            ProxyError.invalidRequest(404, "not_found", "Nothing under " + RESERVED_PREFIX + " goes upstream, and " + path + " is not one of the proxy's own endpoints.").sendTo(response);
            return;
        }
        String client = clients.clientOf(request.getHeader("Authorization"), request.getHeader("x-api-key"));
        if (client == null)
        {
            refuseClient(request, response);
            return;
        }
        String target = route.targetOf(path, request.getQueryString());
        if (target == null)
        {
            ProxyError.invalidRequest(400, "invalid_path", "The request path must not contain dot segments or encoded slashes, dots or backslashes.").sendTo(response);
            return;
        }

        AsyncContext async = request.startAsync();
        async.setTimeout(0); // the upstream idle timeout governs; a total would cut long streams
        ProxiedCall call = new ProxiedCall(request, response, target, pool.rotation(), client);
        request.setAttribute(CALL_ATTRIBUTE, call);
        call.writer = FlushingWriter.listenOn(response.getOutputStream());
        if (!hasBody(request))
        {
            sendAttempt(call);
            return;
        }
        RequestBodyReader.read(request.getInputStream(), request.getContentLengthLong(), settings.maxBodyBytes(), new RequestBodyReader.Outcome()
        {
            @Override
            public void bodyRead(RequestBody body)
            {
                call.body = body;
                sendAttempt(call);
            }

            @Override
            public void bodyTooLarge(long cap)
            {
                // The unread rest of the body makes the connection unusable for another request.
                answer(call, ProxyError.invalidRequest(413, "request_too_large", "The request body is larger than this proxy accepts (" + cap + " bytes; see PROXY_MAX_BODY_BYTES)."), null,
                    "Connection", "close");
            }

            @Override
            public void bodyFailed(Throwable failure)
            {
                // A body shorter than its Content-Length, bad chunking, or a client gone: the
                // request is incomplete, so nothing goes upstream.
                answer(call, ProxyError.invalidRequest(400, "incomplete_body", "The request body could not be read whole (" + failure.getClass().getSimpleName() + "); nothing was sent upstream."), null,
                    "Connection", "close");
            }
        });
    }

    /** No valid client token: nothing goes upstream, and the token (if any) is not echoed or logged. */
    private void refuseClient(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        boolean presented = request.getHeader("Authorization") != null || request.getHeader("x-api-key") != null;
        // Counted before the answer goes out, so whoever got the 401 can already see it counted.
        LOG.info("{} {} 401 key=- attempts=0 client={} ({} client token)", request.getMethod(), request.getRequestURI(), ClientTokens.UNAUTHENTICATED, presented ? "unknown" : "no");
        metrics.answered(null, ClientTokens.UNAUTHENTICATED, 401);
        new ProxyError(401, "authentication_error", "invalid_client_token", null, presented
            ? "The client token is not one this proxy knows. Send a token from PROXY_CLIENT_TOKENS as Authorization: Bearer <token> (the SDKs' API key) or x-api-key: <token>."
            : "This proxy needs a client token: send one from PROXY_CLIENT_TOKENS as Authorization: Bearer <token> (the SDKs' API key) or x-api-key: <token>.")
            .sendTo(response, "WWW-Authenticate", "Bearer");
    }

    /** A declared length (even 0) or a chunked body: upstream must see a body too. */
    private static boolean hasBody(HttpServletRequest request)
    {
        return request.getContentLengthLong() >= 0 || request.getHeader("Transfer-Encoding") != null;
    }

    /** Sends the call upstream with the next key it has not tried that can serve, or waits for one, or answers that none can. */
    void sendAttempt(ProxiedCall call)
    {
        ApiKey key = call.rotation.next();
        if (key == null)
        {
            waitForKeyOrGiveUp(call);
            return;
        }
        Request upstream = newProxyRequest(call.request, call.target);
        copyRequestHeaders(call.request, upstream);
        upstream.headers(headers ->
        {
            headers.put(HttpHeader.AUTHORIZATION, key.authorization());
            // With client tokens on, x-api-key is ours (a client's token), never upstream's.
            if (clients.required())
                headers.remove("x-api-key");
            // The body is already read: length comes from it, and a 100-continue is moot.
            headers.remove(HttpHeader.CONTENT_LENGTH);
            headers.remove(HttpHeader.EXPECT);
            // No Accept-Encoding would allow any coding; keep upstream's bytes readable to this client.
            if (!headers.contains(HttpHeader.ACCEPT_ENCODING))
                headers.put(HttpHeader.ACCEPT_ENCODING, "identity");
        });
        upstream.idleTimeout(settings.idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
        if (call.body != null)
            upstream.body(call.body.toContent());
        upstream.send(new ReplayingResponseListener(this, pool, call, key));
    }

    /**
     * No key can serve now. If one this call has not tried recovers within the grace
     * (PROXY_WAIT_FOR_KEY_MS), the call waits for it on a timer, holding no thread;
     * otherwise the client learns at once, without an upstream call, when to come back.
     */
    private void waitForKeyOrGiveUp(ProxiedCall call)
    {
        if (call.onlyUnreachable() && call.rotation.untriedStates().isEmpty())
        {
            // Every key was tried and none got an answer: upstream is down, not the keys.
            answer(call, ProxyError.server(502, "upstream_unreachable",
                "The proxy could not get an answer from upstream with any of its " + pool.size() + " keys (connection refused or closed before a response)."), null);
            return;
        }
        Duration wait = call.rotation.untilAnUntriedKeyRecovers();
        if (wait != null && call.mayWait(pool.now(), wait, settings.waitForKey()))
        {
            scheduler.runAfter(wait, () -> sendAttempt(call));
            return;
        }
        NoKeyAvailable.Answer answer = NoKeyAvailable.of(call, pool);
        answer(call, answer.error(), null, answer.headers());
    }

    /**
     * Cerebras is out of capacity (a 429 with code queue_exceeded): every key would hear
     * the same, so the client gets upstream's answer with a short Retry-After instead.
     */
    void answerBusy(ProxiedCall call, ApiKey key, byte[] upstreamBody)
    {
        long millis = settings.busyRetryAfter().toMillis();
        LOG.info("{} {}: key {} answered 429 queue_exceeded (upstream has no capacity); the client is told to retry in {} ms", call.request.getMethod(), pathOf(call), key, millis);
        try
        {
            ProxyError.sendJson(call.response, 429, upstreamBody, "Retry-After", Long.toString((millis + 999) / 1000), "retry-after-ms", Long.toString(millis));
        }
        catch (IOException e)
        {
            LOG.debug("could not send 429 to the client", e);
        }
        logOutcome(call, 429, key);
        call.request.getAsyncContext().complete();
    }

    /** Upstream's answer with this key was about the key: try the next one. */
    void replay(ProxiedCall call, ApiKey key, int status, String reason, String code)
    {
        metrics.retried(key, "answered_" + status, code);
        LOG.info("{} {}: key {} answered {} ({}); replaying with the next key", call.request.getMethod(), pathOf(call), key, status, reason);
        sendAttempt(call);
    }

    /** Upstream answered this attempt's headers, {@code nanos} after it was sent. */
    void upstreamAnswered(ApiKey key, long nanos)
    {
        metrics.upstreamAnswered(key, nanos);
    }

    /** Upstream gave no answer at all with this key: try the next one. */
    void replayUnanswered(ProxiedCall call, ApiKey key, Throwable failure)
    {
        metrics.retried(key, "unreachable", null);
        LOG.info("{} {}: no answer from upstream with key {} ({}); trying the next key", call.request.getMethod(), pathOf(call), key, brief(failure));
        sendAttempt(call);
    }

    /** Copies upstream's status and headers to the client, which commits to this attempt. */
    void beginResponse(ProxiedCall call, ApiKey key, Response upstream, boolean decoded)
    {
        call.answeringKey = key;
        call.decoded = decoded;
        call.response.setStatus(upstream.getStatus());
        onServerResponseHeaders(call.request, call.response, upstream);
        String contentType = upstream.getHeaders().get(HttpHeader.CONTENT_TYPE);
        call.streaming = contentType != null && contentType.regionMatches(true, 0, "text/event-stream", 0, 17);
        if (call.streaming)
            call.response.setHeader("X-Accel-Buffering", "no"); // so an nginx in front streams too
        // Only a successful completion (JSON or a stream) reports usage.
        boolean json = contentType != null && contentType.regionMatches(true, 0, "application/json", 0, 16);
        if (upstream.getStatus() / 100 == 2 && (json || call.streaming))
            call.usage = UsageScanner.forCoding(decoded ? null : upstream.getHeaders().get(HttpHeader.CONTENT_ENCODING));
    }

    @Override
    protected String filterServerResponseHeader(HttpServletRequest request, Response upstream, String name, String value)
    {
        ProxiedCall call = (ProxiedCall)request.getAttribute(CALL_ATTRIBUTE);
        if (call.decoded && (HttpHeader.CONTENT_ENCODING.is(name) || HttpHeader.CONTENT_LENGTH.is(name)))
            return null;
        // An upstream that echoes the key in a header must not hand it to the client.
        if (call.answeringKey.appearsIn(value))
            return null;
        return value;
    }

    void writeContent(ProxiedCall call, Response upstream, ByteBuffer content, Callback callback)
    {
        try
        {
            if (call.usage != null)
                call.usage.scan(content); // a copy of the tail only: the bytes go on unheld
            if (call.streaming && !call.firstEventSeen && content.hasRemaining())
            {
                call.firstEventSeen = true;
                metrics.firstEvent(call.answeringKey, System.nanoTime() - call.startNanos);
            }
            byte[] bytes;
            int offset;
            int length = content.remaining();
            if (content.hasArray())
            {
                bytes = content.array();
                offset = content.arrayOffset() + content.position();
            }
            else
            {
                bytes = new byte[length];
                content.get(bytes);
                offset = 0;
            }
            call.writer.write(upstream, bytes, offset, length, callback);
        }
        catch (Throwable x)
        {
            callback.failed(x);
        }
    }

    /** The answer was in a coding the client did not accept: send it decoded. */
    void sendDecoded(ProxiedCall call, ApiKey key, Response upstream, byte[] encoded)
    {
        String coding = upstream.getHeaders().get(HttpHeader.CONTENT_ENCODING);
        byte[] decoded;
        try
        {
            if (encoded == null)
                throw new IOException("larger than " + settings.maxBodyBytes() + " bytes");
            decoded = ContentCoding.decode(coding, encoded);
        }
        catch (IOException e)
        {
            LOG.warn("{} {}: key {}: upstream answered {} in {} coding, which the client does not accept, and it could not be decoded ({})",
                call.request.getMethod(), pathOf(call), key, upstream.getStatus(), coding, e.getMessage());
            answer(call, ProxyError.server(502, "upstream_bad_encoding", "Upstream answered in " + coding + " coding, which the client does not accept, and the proxy could not decode it."), key);
            return;
        }
        beginResponse(call, key, upstream, true);
        call.response.setContentLength(decoded.length);
        writeContent(call, upstream, ByteBuffer.wrap(decoded), Callback.from(() -> complete(call, key, upstream.getStatus()), x -> fail(call, key, x)));
    }

    void complete(ProxiedCall call, ApiKey key, int status)
    {
        UsageScanner.Usage usage = call.usage == null ? null : call.usage.usage();
        if (usage != null)
            metrics.tokens(key, call.client, usage);
        logOutcome(call, status, key);
        call.request.getAsyncContext().complete();
    }

    /** The attempt failed without a replayable status: unreachable, silent, or cut off. */
    void fail(ProxiedCall call, ApiKey key, Throwable failure)
    {
        if (call.response.isCommitted())
        {
            // Bytes went out already: end the client's response abnormally so it can tell.
            LOG.info("{} {}: key {}: the response was cut off after it began ({})", call.request.getMethod(), pathOf(call), key, brief(failure));
            logOutcome(call, call.response.getStatus(), key);
            // After the chunk in flight, if any: what reached us before the failure is delivered.
            call.writer.whenIdle(() -> sendProxyResponseError(call.request, call.response, 502));
            return;
        }
        if (failure instanceof TimeoutException)
            answer(call, ProxyError.server(504, "upstream_timeout", "Upstream sent nothing for " + settings.idleTimeout().toMillis() + " ms (PROXY_IDLE_TIMEOUT_MS)."), key);
        else
            answer(call, ProxyError.server(502, "upstream_failed", "Upstream's answer broke off before any of it reached the client (" + failure.getClass().getSimpleName() + ")."), key);
    }

    /** Answers the client with the proxy's own error, once, and ends the call. */
    private void answer(ProxiedCall call, ProxyError error, ApiKey key, String... headers)
    {
        try
        {
            error.sendTo(call.response, headers);
        }
        catch (IOException e)
        {
            LOG.debug("could not send {} to the client", error.status(), e);
        }
        logOutcome(call, error.status(), key);
        call.request.getAsyncContext().complete();
    }

    /** The request's one log line, and its count in the metrics and the ledger: every answer passes here once. */
    private void logOutcome(ProxiedCall call, int status, ApiKey key)
    {
        metrics.answered(key, call.client, status);
        if (LOG.isInfoEnabled())
            LOG.info("{} {} {} key={} attempts={} client={} {}ms", call.request.getMethod(), pathOf(call), status, key == null ? "-" : key.name(), call.rotation.attempts(), call.client, call.elapsedMillis());
    }

    /** A failure in one short line: Jetty's I/O exceptions carry a dump of the whole connection. */
    private static String brief(Throwable failure)
    {
        String message = String.valueOf(failure.getMessage());
        return failure.getClass().getSimpleName() + ": " + (message.length() > 100 ? message.substring(0, 100) + "..." : message);
    }

    private static String pathOf(ProxiedCall call)
    {
        return call.request.getRequestURI();
    }
}
