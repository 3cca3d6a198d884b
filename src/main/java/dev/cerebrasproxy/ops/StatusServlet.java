package dev.cerebrasproxy.ops;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.WholeBody;
import dev.cerebrasproxy.pool.FairQueue;
import dev.cerebrasproxy.access.Clients;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.shared.SharedState;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * {@code /_proxy/status}, the page an operator keeps open, and {@code /_proxy/status.json},
 * the same report for the page's refresh and for scripts. Both show names and counts,
 * never a key's or a token's value, and both answer only whom AdminAccess lets in.
 */
public class StatusServlet extends AdminServlet
{
    static final String JSON_PATH = "/_proxy/status.json";

    private static final Gson GSON = new GsonBuilder().serializeNulls().create();
    private static final SecureRandom RANDOM = new SecureRandom();

    private KeyPool pool;
    private UsageLedger ledger;
    private FairQueue queue;
    private SharedState shared;
    private Clients clients;

    @Override
    void init(ProxyContext context)
    {
        pool = context.pool();
        ledger = context.ledger();
        queue = context.queue();
        shared = context.shared();
        clients = context.clients();
    }

    @Override
    void answer(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        StatusReport report = StatusReport.of(pool, queue, ledger, clients, shared.redis());
        if (JSON_PATH.equals(request.getServletPath()))
        {
            send(response, "application/json", GSON.toJson(report));
            return;
        }
        String nonce = nonce();
        send(response, "text/html;charset=utf-8", StatusPage.render(report, nonce),
            "Content-Security-Policy", "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce
                + "'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    }

    private static void send(HttpServletResponse response, String contentType, String body, String... headers) throws IOException
    {
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Content-Type-Options", "nosniff");
        // Nothing of the page's address goes to another site.
        response.setHeader("Referrer-Policy", "no-referrer");
        WholeBody.send(response, 200, contentType, body.getBytes(StandardCharsets.UTF_8), headers);
    }

    private static String nonce()
    {
        byte[] bytes = new byte[18];
        RANDOM.nextBytes(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }
}
