package dev.cerebrasproxy.forward;

import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.ProxyWebapp;
import dev.cerebrasproxy.pool.TaskScheduler;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.client.AbstractConnectionPool;
import org.eclipse.jetty.client.Destination;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.transport.HttpDestination;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.io.ClientConnector;
import org.slf4j.LoggerFactory;

/**
 * The proxy servlet: Jetty's {@link AsyncProxyServlet}, configured from the webapp's
 * {@link ProxyContext} (put there by {@link ProxyWebapp}), with the hooks where the
 * proxy differs from Jetty's. The life of a request, by method:
 * <ol>
 * <li>{@link #service}: {@link Admission#admit} refuses what may not go upstream;
 * {@link ProxyCall#start} takes the rest on (async from here).</li>
 * <li>{@link ClientIntake} reads the body ({@link RequestBodyReader}) and checks the
 * client's limits; {@link Dispatch} takes a key from the pool's rotation and sends the
 * request with it, through {@link #newProxyRequest} and {@link ForwardedHeaders}; with no
 * key to take it parks the call in the queue, or answers {@link NoKeyAvailable}.</li>
 * <li>{@link AttemptListener}: from upstream's status line, the attempt is either about
 * the key (the pool learns, {@link Dispatch#aboutTheKey} replays with the next key),
 * or the answer: {@link ProxyCall#begin} copies status and headers
 * ({@link #onServerResponseHeaders}, {@link #filterServerResponseHeader}), and the
 * {@link Relay} hands each chunk to the client's {@link FlushingWriter}.</li>
 * <li>{@link ProxyCall#finished} or {@link ProxyCall#failed} (or the proxy's own error)
 * ends the request once: the answer or an abnormal end ({@link #sendProxyResponseError}),
 * the one log line, the one count.</li>
 * </ol>
 */
public class CerebrasProxyServlet extends AsyncProxyServlet
{
    private ProxyContext context;
    private Admission admission;
    private UpstreamRoute route;
    private BodyBudget bodyBudget;
    /** Made once the HTTP client (and its scheduler) exists. */
    private ClientDepartures departures;
    private ProxyHooks hooks;
    private RequestLog requestLog;
    /** Made once the HTTP client exists. */
    private RawTargetRequest.Upstream upstream;

    @Override
    public void init() throws ServletException
    {
        context = ProxyContext.of(getServletContext());
        route = new UpstreamRoute(context.settings().upstream());
        bodyBudget = new BodyBudget(context.settings().maxPendingBodyBytes());
        admission = new Admission(context.clients(), route, context.metrics());
        TaskScheduler timers = context.scheduler() != null ? context.scheduler()
            // The HTTP client's own timer thread: nothing extra to start or stop.
            : (delay, task) -> getHttpClient().getScheduler().schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
        hooks = new ProxyHooks()
        {
            @Override
            public Request newUpstreamRequest(HttpServletRequest request, String target)
            {
                // The headers are ProxyCall's to set (ForwardedHeaders), in one pass.
                return newProxyRequest(request, target);
            }

            @Override
            public void copyResponseHeaders(HttpServletRequest request, HttpServletResponse response, Response upstream)
            {
                onServerResponseHeaders(request, response, upstream);
            }

            @Override
            public void endAbnormally(HttpServletRequest request, HttpServletResponse response, int status)
            {
                sendProxyResponseError(request, response, status);
            }

            @Override
            public TaskScheduler timers()
            {
                return timers;
            }

            @Override
            public Executor executor()
            {
                return getHttpClient().getExecutor();
            }

            @Override
            public ClientDepartures departures()
            {
                return departures;
            }

            @Override
            public BodyBudget bodyBudget()
            {
                return bodyBudget;
            }

            @Override
            public RequestLog requestLog()
            {
                return requestLog;
            }
        };
        super.init();
        upstream = new RawTargetRequest.Upstream(getHttpClient(), route.originUri());
        departures = new ClientDepartures(getHttpClient().getScheduler());
        // On the HTTP client's timer thread, not the pool's clock: a test's manual clock must not hold lines back.
        requestLog = new RequestLog(LoggerFactory.getLogger(ProxyCall.class), getHttpClient().getScheduler());
    }

    /**
     * Jetty's own parses the target with {@link java.net.URI}, which throws on queries that
     * clients send and upstream takes ({@code ?q=a|b}): see {@link RawTargetRequest}.
     */
    @Override
    protected Request newProxyRequest(HttpServletRequest request, String rewrittenTarget)
    {
        String origin = route.origin();
        if (!rewrittenTarget.startsWith(origin))
            throw new IllegalArgumentException("not a target of this upstream");
        return upstream.newRequest(rewrittenTarget.substring(origin.length()))
            .method(request.getMethod())
            .attribute(CLIENT_REQUEST_ATTRIBUTE, request);
    }

    @Override
    protected ClientConnector newClientConnector()
    {
        ClientConnector connector = super.newClientConnector();
        UpstreamTls.configure(connector.getSslContextFactory(), context.settings().upstreamTrust());
        return connector;
    }

    @Override
    protected HttpClient newHttpClient(ClientConnector connector)
    {
        boolean secure = "https".equalsIgnoreCase(context.settings().upstream().getScheme());
        return new HttpClient(UpstreamConnections.transport(connector, context.settings().upstreamProtocol(), secure));
    }

    @Override
    protected HttpClient createHttpClient() throws ServletException
    {
        HttpClient client = super.createHttpClient();
        client.setConnectTimeout(context.settings().connectTimeout().toMillis());
        String queued = getServletConfig().getInitParameter("maxRequestsQueuedPerDestination");
        if (queued != null)
            client.setMaxRequestsQueuedPerDestination(Integer.parseInt(queued));
        // Without this Jetty labels a body the client sent untyped; upstream must see it as sent.
        client.setDefaultRequestContentType(null);
        // Heap buffers: a chunk goes to the client's ServletOutputStream as a byte[], and a
        // direct buffer had to be copied into a new array for it, chunk by chunk.
        client.setUseInputDirectByteBuffers(false);
        return client;
    }

    /** The watcher of clients that leave, for tests. */
    ClientDepartures departures()
    {
        return departures;
    }

    /**
     * On SIGTERM, before the upstream client stops with the servlet: Tomcat pauses its
     * connectors but does not wait for requests in flight (unloadDelay waits only for
     * threads inside a servlet, and async requests hold none), so the stop waits here while
     * upstream exchanges are open, up to PROXY_DRAIN_SECONDS. On Jetty, the graceful stop has
     * already waited, and this returns at once.
     */
    @Override
    public void destroy()
    {
        context.drain().awaitWhile(this::upstreamBusy);
        if (requestLog != null)
            requestLog.flush();
        super.destroy();
        if (requestLog != null)
            requestLog.flush(); // lines of requests that ended while the client stopped
    }

    /** Whether an exchange with upstream is open or waiting for a connection. */
    private boolean upstreamBusy()
    {
        HttpClient client = getHttpClient();
        if (client == null)
            return false;
        for (Destination destination : client.getDestinations())
        {
            if (destination instanceof HttpDestination http && http.getQueuedRequestCount() > 0)
                return true;
            if (destination.getConnectionPool() instanceof AbstractConnectionPool pool && pool.getActiveConnectionCount() > 0)
                return true;
        }
        return false;
    }

    /** What bodies still arriving hold now, of PROXY_MAX_PENDING_BODY_BYTES. */
    long pendingBodyBytes()
    {
        return bodyBudget.held();
    }

    /** The client that talks to upstream, as configured from web.xml. */
    HttpClient upstreamClient()
    {
        return getHttpClient();
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        Admission.Admitted admitted = admission.admit(request, response);
        if (admitted != null)
            ProxyCall.start(hooks, context, request, response, admitted);
    }

    @Override
    protected String filterServerResponseHeader(HttpServletRequest request, Response upstream, String name, String value)
    {
        return ProxyCall.of(request).responseHeader(name, value);
    }
}
