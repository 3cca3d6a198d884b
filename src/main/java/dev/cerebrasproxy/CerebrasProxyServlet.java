package dev.cerebrasproxy;

import java.io.IOException;
import java.nio.ByteBuffer;
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
    /** Set on a client request whose upstream body the proxy decoded, so its coding headers are not copied. */
    private static final String DECODED_ATTRIBUTE = CerebrasProxyServlet.class.getName() + ".decoded";

    private ProxySettings settings;
    private KeyPool pool;
    private UpstreamRoute route;

    @Override
    public void init() throws ServletException
    {
        settings = (ProxySettings)getServletContext().getAttribute(KeyPoolInitializer.SETTINGS_ATTRIBUTE);
        pool = (KeyPool)getServletContext().getAttribute(KeyPoolInitializer.POOL_ATTRIBUTE);
        if (settings == null || pool == null)
            throw new ServletException("No key pool in the servlet context: declare " + KeyPoolInitializer.class.getName() + " as a listener in web.xml.");
        route = new UpstreamRoute(settings.upstream());
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
        String path = request.getRequestURI().substring(request.getContextPath().length());
        String target = route.targetOf(path, request.getQueryString());
        if (target == null)
        {
            ProxyError.invalidRequest(400, "invalid_path", "The request path must not contain dot segments or encoded slashes, dots or backslashes.").sendTo(response);
            return;
        }

        AsyncContext async = request.startAsync();
        async.setTimeout(0); // the upstream idle timeout governs; a total would cut long streams
        ProxiedCall call = new ProxiedCall(request, response, target, pool.rotation());
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
                LOG.info("{} {}: reading the client's body failed ({}); nothing was sent upstream", request.getMethod(), path, failure.toString());
                async.complete();
            }
        });
    }

    /** A declared length (even 0) or a chunked body: upstream must see a body too. */
    private static boolean hasBody(HttpServletRequest request)
    {
        return request.getContentLengthLong() >= 0 || request.getHeader("Transfer-Encoding") != null;
    }

    /** Sends the call upstream with the next key it has not tried, or answers that none is left. */
    void sendAttempt(ProxiedCall call)
    {
        ApiKey key = call.rotation.next();
        if (key == null)
        {
            answerExhausted(call);
            return;
        }
        Request upstream = newProxyRequest(call.request, call.target);
        copyRequestHeaders(call.request, upstream);
        upstream.headers(headers ->
        {
            headers.put(HttpHeader.AUTHORIZATION, key.authorization());
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
        upstream.send(new ReplayingResponseListener(this, call, key));
    }

    /** Upstream answered 429 or 500 with this key: try the next one. */
    void replay(ProxiedCall call, ApiKey key, int status, String reason)
    {
        LOG.info("{} {}: key {} answered {} ({}); replaying with the next key", call.request.getMethod(), pathOf(call), key, status, reason);
        sendAttempt(call);
    }

    /** Copies upstream's status and headers to the client, which commits to this attempt. */
    void beginResponse(ProxiedCall call, Response upstream, boolean keepCoding)
    {
        if (!keepCoding)
            call.request.setAttribute(DECODED_ATTRIBUTE, Boolean.TRUE);
        call.response.setStatus(upstream.getStatus());
        onServerResponseHeaders(call.request, call.response, upstream);
        String contentType = upstream.getHeaders().get(HttpHeader.CONTENT_TYPE);
        if (contentType != null && contentType.regionMatches(true, 0, "text/event-stream", 0, 17))
            call.response.setHeader("X-Accel-Buffering", "no"); // so an nginx in front streams too
    }

    @Override
    protected String filterServerResponseHeader(HttpServletRequest request, Response upstream, String name, String value)
    {
        if (request.getAttribute(DECODED_ATTRIBUTE) != null && (HttpHeader.CONTENT_ENCODING.is(name) || HttpHeader.CONTENT_LENGTH.is(name)))
            return null;
        return value;
    }

    void writeContent(ProxiedCall call, Response upstream, ByteBuffer content, Callback callback)
    {
        try
        {
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
        beginResponse(call, upstream, false);
        call.response.setContentLength(decoded.length);
        writeContent(call, upstream, ByteBuffer.wrap(decoded), Callback.from(() -> complete(call, key, upstream.getStatus()), x -> fail(call, key, x)));
    }

    void complete(ProxiedCall call, ApiKey key, int status)
    {
        logOutcome(call, status, key);
        call.request.getAsyncContext().complete();
    }

    /** The attempt failed without a replayable status: unreachable, silent, or cut off. */
    void fail(ProxiedCall call, ApiKey key, Throwable failure)
    {
        if (call.response.isCommitted())
        {
            // Bytes went out already: end the client's response abnormally so it can tell.
            LOG.info("{} {}: key {}: the response was cut off after it began ({})", call.request.getMethod(), pathOf(call), key, failure.toString());
            logOutcome(call, call.response.getStatus(), key);
            sendProxyResponseError(call.request, call.response, 502);
            return;
        }
        if (failure instanceof TimeoutException)
            answer(call, ProxyError.server(504, "upstream_timeout", "Upstream sent nothing for " + settings.idleTimeout().toMillis() + " ms (PROXY_IDLE_TIMEOUT_MS)."), key);
        else
            answer(call, ProxyError.server(502, "upstream_unreachable", "The proxy could not get an answer from upstream: " + failure.getClass().getSimpleName() + "."), key);
    }

    private void answerExhausted(ProxiedCall call)
    {
        long retryAfter = call.retryAfterSeconds();
        answer(call, ProxyError.server(503, "no_key_available",
            "No API key of the proxy's pool could serve this request (" + pool.size() + " tried: " + call.failureSummary() + "). Retry after " + retryAfter + " s."), null,
            "Retry-After", Long.toString(retryAfter));
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

    private void logOutcome(ProxiedCall call, int status, ApiKey key)
    {
        if (LOG.isInfoEnabled())
            LOG.info("{} {} {} key={} attempts={} {}ms", call.request.getMethod(), pathOf(call), status, key == null ? "-" : key.name(), call.rotation.attempts(), call.elapsedMillis());
    }

    private static String pathOf(ProxiedCall call)
    {
        return call.request.getRequestURI();
    }
}
