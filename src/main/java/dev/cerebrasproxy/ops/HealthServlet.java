package dev.cerebrasproxy.ops;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;

import com.google.gson.JsonObject;
import dev.cerebrasproxy.Drain;
import dev.cerebrasproxy.ProxyContext;
import dev.cerebrasproxy.RetryAfter;
import dev.cerebrasproxy.WholeBody;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.shared.SharedState;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * {@code /_proxy/health} and {@code /_proxy/health/live}: the webapp runs (200).
 * {@code /_proxy/health/ready}: some key can serve now (200), or none can (503, with
 * the keys counted by state and when the soonest is back), so a load balancer can send
 * traffic to another instance meanwhile; also 503, {@code "draining"}, once the container
 * is stopping. With PROXY_REDIS_URL it also says {@code "redis":"ok"} or {@code "degraded"};
 * degraded is still ready. Needs no token: it tells nothing secret.
 */
public class HealthServlet extends HttpServlet
{
    static final String READY_PATH = "/_proxy/health/ready";

    private KeyPool pool;
    private SharedState shared;
    private Drain drain;

    @Override
    public void init()
    {
        ProxyContext context = ProxyContext.of(getServletContext());
        pool = context.pool();
        drain = context.drain();
        shared = context.shared();
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException
    {
        JsonObject body = new JsonObject();
        int status = 200;
        String[] headers = {"Cache-Control", "no-store"};
        if (READY_PATH.equals(request.getServletPath()))
        {
            Duration wait = pool.untilAnyKeyRecovers();
            Map<KeyState, Integer> byState = ProxyMetrics.countByState(pool.snapshot());
            boolean draining = drain.draining();
            // Ready only with a key in rotation: a quarantined key that is merely due for its
            // re-check may well be refused again.
            boolean ready = !draining && byState.getOrDefault(KeyState.AVAILABLE, 0) > 0;
            java.time.Instant down = pool.upstreamDownSince();
            status = ready && down == null ? 200 : 503;
            body.addProperty("status", draining ? "draining" : down != null ? "upstream_down" : ready ? "ready" : "not_ready");
            JsonObject counts = new JsonObject();
            byState.forEach((state, count) -> counts.addProperty(state.label(), count));
            body.add("keys", counts);
            // Degraded Redis leaves the replica ready: it serves from its own counts meanwhile.
            if (shared.redis() != SharedState.Redis.OFF)
                body.addProperty("redis", shared.redis().label());
            if (draining)
            {
                // A stopping instance: no Retry-After, it will not be back.
                body.addProperty("message", "This instance is stopping: it finishes the requests it has (up to " + drain.grace().toSeconds() + " s) and takes no new ones.");
                headers = new String[] {"Cache-Control", "no-store", "Connection", "close"};
            }
            else if (down != null)
            {
                // The keys are fine: upstream answers 502/503/504 or nothing, which benches no key.
                body.addProperty("message", "Upstream is failing (502, 503, 504 or no answer) since " + down + "; no key is to blame and none is benched.");
            }
            else if (!ready)
            {
                long seconds = RetryAfter.of(wait).seconds();
                body.addProperty("message", "No key can serve now (" + byState.entrySet().stream()
                    .filter(entry -> entry.getValue() > 0)
                    .map(entry -> entry.getValue() + " " + entry.getKey().label())
                    .collect(Collectors.joining(", ")) + "); the soonest is back in " + seconds + " s.");
                body.addProperty("retry_after_seconds", seconds);
                headers = new String[] {"Cache-Control", "no-store", "Retry-After", Long.toString(seconds)};
            }
        }
        else
        {
            body.addProperty("status", "up");
        }
        WholeBody.send(response, status, "application/json", body.toString().getBytes(StandardCharsets.UTF_8), headers);
    }
}
