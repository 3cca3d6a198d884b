package dev.cerebrasproxy.support;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.ProxyWebapp;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.forward.CerebrasProxyServlet;
import dev.cerebrasproxy.pool.KeyPool;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.resource.ResourceFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The proxy webapp as it ships (its web.xml, listener and servlet) on an embedded Jetty
 * at a loopback ephemeral port, configured with settings the test gives instead of the
 * environment.
 */
public final class ProxyUnderTest implements AutoCloseable
{
    /** The server's threads; the proxy servlet's HttpClient threads are named after the servlet, "cerebras-proxy". */
    public static final String THREAD_NAME = "proxy-server";

    private final Server server;
    private final WebAppContext webapp;
    private final ManualClock clock;

    private ProxyUnderTest(Map<String, String> settings) throws Exception
    {
        this(settings, null, null);
    }

    /**
     * @param clock the pool's time and timer, or null for the system's, as in production
     * @param servlet a subclass of the proxy servlet to deploy in its place (to inject a fault), or null
     */
    private ProxyUnderTest(Map<String, String> settings, ManualClock clock, Class<? extends CerebrasProxyServlet> servlet) throws Exception
    {
        this.clock = clock;
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName(THREAD_NAME);
        // Idle threads go after a second, not a minute, so tests can see counts come back down.
        threads.setIdleTimeout(1000);
        server = new Server(threads);
        // HTTP/1.1 and h2c, as jetty-base/ offers them.
        HttpConfiguration config = new HttpConfiguration();
        ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(config), new HTTP2CServerConnectionFactory(config));
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        // Longer than java.net.http's 30 s keep-alive, as jetty-base's is: with both at 30 s the
        // server could close an idle connection just as the test client reuses it for a POST.
        connector.setIdleTimeout(120_000);
        server.addConnector(connector);
        webapp = new WebAppContext();
        webapp.setContextPath("/");
        webapp.setBaseResource(ResourceFactory.of(webapp).newResource(Path.of("src/main/webapp")));
        webapp.setParentLoaderPriority(true);
        webapp.setThrowUnavailableOnStartupException(true);
        if (servlet != null)
            webapp.addOverrideDescriptor(servletOverride(servlet).toString());
        webapp.setAttribute(ProxyWebapp.EMBEDDING_ATTRIBUTE, new ProxyWebapp.Embedding(settings::get, clock, clock));
        server.setHandler(webapp);
        server.start();
    }

    /** A web.xml fragment that keeps the shipped servlet's name and settings and swaps its class. */
    private static Path servletOverride(Class<? extends CerebrasProxyServlet> servlet) throws java.io.IOException
    {
        Path file = java.nio.file.Files.createTempFile("override-web-", ".xml");
        file.toFile().deleteOnExit();
        java.nio.file.Files.writeString(file, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<web-app xmlns=\"https://jakarta.ee/xml/ns/jakartaee\" version=\"6.0\">"
            + "<servlet><servlet-name>cerebras-proxy</servlet-name><servlet-class>" + servlet.getName() + "</servlet-class></servlet>"
            + "</web-app>\n");
        return file;
    }

    /** Like {@link #start(FakeCerebras, String...)}, on a manual clock if one is given, with another servlet class if one is given. */
    public static ProxyUnderTest start(FakeCerebras upstream, ManualClock clock, Class<? extends CerebrasProxyServlet> servlet, String... settings) throws Exception
    {
        return new ProxyUnderTest(withDefaults(upstream.baseUrl(), matching(upstream, settings)), clock, servlet);
    }

    /** A proxy in front of the fake with the test keys and these settings on top (name, value, ...). */
    public static ProxyUnderTest start(FakeCerebras upstream, String... settings) throws Exception
    {
        return start(upstream.baseUrl(), matching(upstream, settings));
    }

    /** Like {@link #start(FakeCerebras, String...)}, reaching the fake at {@code via} instead (a front in between). */
    public static ProxyUnderTest startVia(URI via, FakeCerebras upstream, String... settings) throws Exception
    {
        return start(via, matching(upstream, settings));
    }

    /** What the proxy needs to speak the fake's transport, then the test's own settings. */
    private static String[] matching(FakeCerebras upstream, String... settings)
    {
        List<String> all = new ArrayList<>(upstream.proxySettings());
        all.addAll(List.of(settings));
        return all.toArray(String[]::new);
    }

    /** A proxy in front of this upstream base URL with the test keys and these settings on top. */
    public static ProxyUnderTest start(URI upstream, String... settings) throws Exception
    {
        return new ProxyUnderTest(withDefaults(upstream, settings));
    }

    /**
     * Like {@link #start}, but the key pool's time stands still until the test moves it with
     * {@link #clock()}: rests never end mid-test by themselves, and a request waiting for a
     * key goes on only when the test advances the clock.
     */
    public static ProxyUnderTest startOnManualClock(FakeCerebras upstream, String... settings) throws Exception
    {
        return new ProxyUnderTest(withDefaults(upstream.baseUrl(), matching(upstream, settings)), new ManualClock(), null);
    }

    /** A proxy with exactly these settings, nothing added. */
    public static ProxyUnderTest startWith(Map<String, String> settings) throws Exception
    {
        return new ProxyUnderTest(settings);
    }

    /** The test keys in front of this upstream, and these settings (name, value, ...) on top. */
    private static Map<String, String> withDefaults(URI upstream, String... settings)
    {
        Map<String, String> map = new HashMap<>();
        map.put(ProxySettings.API_KEYS, TestData.KEYS);
        map.put(ProxySettings.UPSTREAM_URL, upstream.toString());
        for (int i = 0; i + 1 < settings.length; i += 2)
            map.put(settings[i], settings[i + 1]);
        return map;
    }

    public URI uri(String pathAndQuery)
    {
        return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
    }

    public int port()
    {
        return ((ServerConnector)server.getConnectors()[0]).getLocalPort();
    }

    /** Threads of the server in front of the proxy: its pool gives idle ones back after a second. */
    public int serverThreads()
    {
        return ((QueuedThreadPool)server.getThreadPool()).getThreads();
    }

    /** Threads of the proxy's upstream client that are running a task right now. */
    public int busyClientThreads()
    {
        HttpClient client = (HttpClient)webapp.getServletContext().getAttribute("cerebras-proxy.HttpClient");
        return ((QueuedThreadPool)client.getExecutor()).getBusyThreads();
    }

    /** The proxy's clock, for a proxy {@link #startOnManualClock started on one}. */
    public ManualClock clock()
    {
        if (clock == null)
            throw new IllegalStateException("this proxy runs on the system clock: start it with startOnManualClock");
        return clock;
    }

    /** What the running webapp shares between its servlets. */
    public ProxyContext context()
    {
        return ProxyContext.of(webapp.getServletContext());
    }

    public KeyPool pool()
    {
        return context().pool();
    }

    /** The deployed servlet, to check how web.xml configured it. */
    public CerebrasProxyServlet servlet() throws Exception
    {
        return (CerebrasProxyServlet)webapp.getServletHandler().getServlet("cerebras-proxy").getServlet();
    }

    @Override
    public void close() throws Exception
    {
        server.stop();
    }
}
