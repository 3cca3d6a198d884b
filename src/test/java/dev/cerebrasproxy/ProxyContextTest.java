package dev.cerebrasproxy;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import dev.cerebrasproxy.forward.CerebrasProxyServlet;
import dev.cerebrasproxy.ops.HealthServlet;
import dev.cerebrasproxy.ops.MetricsServlet;
import dev.cerebrasproxy.ops.StatusServlet;
import dev.cerebrasproxy.support.Http;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Without its listener the webapp has no context, and then no endpoint serves, let alone lets everyone in. */
class ProxyContextTest
{
    @Test
    void withoutTheListenerNoEndpointAnswers() throws Exception
    {
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler("/");
        context.addServlet(CerebrasProxyServlet.class, "/*");
        context.addServlet(HealthServlet.class, "/_proxy/health");
        context.addServlet(MetricsServlet.class, "/_proxy/metrics");
        context.addServlet(StatusServlet.class, "/_proxy/status");
        server.setHandler(context);
        try
        {
            server.start();
            for (String path : List.of("/v1/chat/completions", "/_proxy/health", "/_proxy/metrics", "/_proxy/status"))
            {
                HttpResponse<byte[]> response = Http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + connector.getLocalPort() + path)).GET().build());
                assertTrue(response.statusCode() >= 500, path + " answered " + response.statusCode());
                assertFalse(new String(response.body()).contains("\"status\":\"up\""), path);
            }
        }
        finally
        {
            server.stop();
        }
    }

    @Test
    void theMissingContextSaysWhichListenerToDeclare() throws Exception
    {
        ServletContextHandler handler = new ServletContextHandler("/");
        IllegalStateException missing = assertThrows(IllegalStateException.class, () -> ProxyContext.of(handler.getServletContext()));
        assertTrue(missing.getMessage().contains("declare " + ProxyWebapp.class.getName() + " as a listener in web.xml"), missing.getMessage());
    }
}
