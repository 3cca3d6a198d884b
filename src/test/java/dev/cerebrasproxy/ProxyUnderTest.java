package dev.cerebrasproxy;

import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.eclipse.jetty.ee10.webapp.WebAppContext;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.resource.ResourceFactory;

/**
 * The proxy webapp as it ships (its web.xml, listener and servlet) on an embedded Jetty
 * at a loopback ephemeral port, configured with settings the test gives instead of the
 * environment.
 */
final class ProxyUnderTest implements AutoCloseable
{
    /** Keys the tests use; their values must never show up in logs or answers. */
    static final String KEYS = "{\"alpha\":\"sk-alpha-SECRET-0001\",\"bravo\":\"sk-bravo-SECRET-0002\",\"charlie\":\"sk-charlie-SECRET-0003\"}";

    private final Server server;
    private final WebAppContext webapp;

    private ProxyUnderTest(Map<String, String> settings) throws Exception
    {
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        webapp = new WebAppContext();
        webapp.setContextPath("/");
        webapp.setBaseResource(ResourceFactory.of(webapp).newResource(Path.of("src/main/webapp")));
        webapp.setParentLoaderPriority(true);
        webapp.setThrowUnavailableOnStartupException(true);
        UnaryOperator<String> source = settings::get;
        webapp.setAttribute(KeyPoolInitializer.SETTINGS_SOURCE_ATTRIBUTE, source);
        server.setHandler(webapp);
        server.start();
    }

    /** A proxy in front of the fake with the test keys and these settings on top (name, value, ...). */
    static ProxyUnderTest start(FakeCerebras upstream, String... settings) throws Exception
    {
        Map<String, String> map = new HashMap<>();
        map.put(ProxySettings.API_KEYS, KEYS);
        map.put(ProxySettings.UPSTREAM_URL, upstream.baseUrl().toString());
        for (int i = 0; i + 1 < settings.length; i += 2)
            map.put(settings[i], settings[i + 1]);
        return new ProxyUnderTest(map);
    }

    /** A proxy with exactly these settings, nothing added. */
    static ProxyUnderTest startWith(Map<String, String> settings) throws Exception
    {
        return new ProxyUnderTest(settings);
    }

    URI uri(String pathAndQuery)
    {
        return URI.create("http://127.0.0.1:" + port() + pathAndQuery);
    }

    int port()
    {
        return ((ServerConnector)server.getConnectors()[0]).getLocalPort();
    }

    KeyPool pool()
    {
        return (KeyPool)webapp.getServletContext().getAttribute(KeyPoolInitializer.POOL_ATTRIBUTE);
    }

    /** The deployed servlet, to check how web.xml configured it. */
    CerebrasProxyServlet servlet() throws Exception
    {
        return (CerebrasProxyServlet)webapp.getServletHandler().getServlet("cerebras-proxy").getServlet();
    }

    @Override
    public void close() throws Exception
    {
        server.stop();
    }
}
