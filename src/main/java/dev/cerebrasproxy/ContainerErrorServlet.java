package dev.cerebrasproxy;

import java.io.IOException;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * Renders the errors the container raises inside this webapp (an ambiguous path, a
 * request the container refuses) in Cerebras's error shape, like the proxy's own, so
 * SDKs can parse every error they get from us. Mapped as the webapp's error page.
 */
public class ContainerErrorServlet extends HttpServlet
{
    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        if (request.getDispatcherType() != DispatcherType.ERROR)
        {
            // Only reachable directly by a client: nothing here to proxy or show.
            ProxyError.invalidRequest(404, "not_found", "Not found.").sendTo(response);
            return;
        }
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        int status = code instanceof Integer ? (Integer)code : 500;
        Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
        String text = message instanceof String && !((String)message).isBlank() ? (String)message : "HTTP " + status;
        ProxyError error = status >= 500
            ? ProxyError.server(status, "http_" + status, text + ".")
            : ProxyError.invalidRequest(status, "http_" + status, text + ".");
        error.sendTo(response);
    }
}
