package dev.cerebrasproxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * {@code /_proxy/status}, the page an operator keeps open, and {@code /_proxy/status.json},
 * the same report for the page's refresh and for scripts. Both show names and counts,
 * never a key's or a token's value, and both answer only whom AdminAccess lets in.
 */
public class StatusServlet extends HttpServlet
{
    static final String JSON_PATH = "/_proxy/status.json";
    /** Where the webapp keeps its {@link UsageLedger}, if it keeps one. */
    static final String LEDGER_ATTRIBUTE = UsageLedger.class.getName();

    private static final Gson GSON = new GsonBuilder().serializeNulls().create();
    private static final SecureRandom RANDOM = new SecureRandom();

    private KeyPool pool;

    @Override
    public void init() throws ServletException
    {
        pool = (KeyPool)getServletContext().getAttribute(KeyPoolInitializer.POOL_ATTRIBUTE);
        if (pool == null)
            throw new ServletException("No key pool in the servlet context: declare " + KeyPoolInitializer.class.getName() + " as a listener in web.xml.");
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        // Read per request: the gate and the ledger are other listeners' to create, in any order.
        if (!AdminGate.of(getServletContext()).allows(request))
        {
            ProxyError.invalidRequest(401, "admin_token_required",
                "This page needs the proxy's admin token (PROXY_ADMIN_TOKEN): open it as /_proxy/status?token=<token>, or send Authorization: Bearer <token>.")
                .sendTo(response, "Cache-Control", "no-store");
            return;
        }
        StatusReport report = StatusReport.of(pool, (UsageLedger)getServletContext().getAttribute(LEDGER_ATTRIBUTE));
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Content-Type-Options", "nosniff");
        // The URL may carry ?token=: never send it on to another site.
        response.setHeader("Referrer-Policy", "no-referrer");
        byte[] body;
        if (JSON_PATH.equals(request.getServletPath()))
        {
            response.setContentType("application/json");
            body = GSON.toJson(report).getBytes(StandardCharsets.UTF_8);
        }
        else
        {
            String nonce = nonce();
            response.setContentType("text/html;charset=utf-8");
            response.setHeader("Content-Security-Policy", "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce
                + "'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
            body = StatusPage.render(report, nonce).getBytes(StandardCharsets.UTF_8);
        }
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    private static String nonce()
    {
        byte[] bytes = new byte[18];
        RANDOM.nextBytes(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }
}
