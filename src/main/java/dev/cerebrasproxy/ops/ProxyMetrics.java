package dev.cerebrasproxy.ops;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import dev.cerebrasproxy.pool.ApiKey;
import dev.cerebrasproxy.pool.BudgetSnapshot;
import dev.cerebrasproxy.pool.FairQueue;
import dev.cerebrasproxy.pool.KeySnapshot;
import dev.cerebrasproxy.pool.KeyState;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * What the proxy measures, in one place: the Prometheus metrics of this webapp (in a
 * registry of its own, so two webapps in one JVM never collide) and the {@link UsageLedger}
 * the status page reads. The forwarding code says what happened where it learns it;
 * this class decides what that counts as. Labels are key and client names, never values.
 */
public final class ProxyMetrics
{
    /** The key label of an answer no key took part in (refused, or no key could serve). */
    static final String NO_KEY = "none";

    /** Seconds: upstream answers in tens of ms to tens of seconds (a long completion's headers come first). */
    private static final double[] LATENCY_BUCKETS = {0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final UsageLedger ledger;
    private final Counter requests;
    private final Counter retries;
    private final Counter tokens;
    private final Counter clientRefusals;
    private final Histogram upstreamLatency;
    private final Histogram firstEvent;
    private final Histogram queueWait;

    /** @param keyStates each key's state at scrape time (a supplier, so a reloaded pool is what is shown) */
    public ProxyMetrics(UsageLedger ledger, Supplier<List<KeySnapshot>> keyStates, FairQueue queue, Supplier<List<BudgetSnapshot>> budgets, Supplier<java.time.Instant> clock)
    {
        this.ledger = ledger;
        requests = Counter.builder().name("cerebras_proxy_requests")
            .help("Client requests answered, by the key that answered (\"none\" if no key did), the client, and the status the client got.")
            .labelNames("key", "client", "status").register(registry);
        retries = Counter.builder().name("cerebras_proxy_retries")
            .help("Attempts replayed, by the key that failed and why: with the next key (answered_429, answered_500, answered_401, unreachable, ...), or with the same key on another connection when its connection failed before the request went out (not_sent).")
            .labelNames("key", "reason").register(registry);
        tokens = Counter.builder().name("cerebras_proxy_tokens")
            .help("Tokens used, as the answers' usage reported them, by key, client and kind (prompt or completion).")
            .labelNames("key", "client", "kind").register(registry);
        clientRefusals = Counter.builder().name("cerebras_proxy_client_limit_refusals")
            .help("Requests refused for their client's own limits before any key was used, by client and reason (client_request_limit_exceeded, client_token_limit_exceeded, client_daily_token_limit_exceeded, model_not_allowed).")
            .labelNames("client", "reason").register(registry);
        upstreamLatency = Histogram.builder().name("cerebras_proxy_upstream_latency").unit(Unit.SECONDS)
            .help("Time from sending an attempt upstream to its response headers, by key.")
            .labelNames("key").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        firstEvent = Histogram.builder().name("cerebras_proxy_stream_first_event").unit(Unit.SECONDS)
            .help("Time from a streaming request's arrival to its first bytes of events reaching the client, replays and waits included, by key.")
            .labelNames("key").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        GaugeWithCallback.builder().name("cerebras_proxy_key_state")
            .help("1 for the state each key is in now (available, cooling, quarantined), 0 for the others.")
            .labelNames("key", "state")
            .callback(callback ->
            {
                for (KeySnapshot key : keyStates.get())
                {
                    for (KeyState state : KeyState.values())
                        callback.call(key.state() == state ? 1 : 0, key.name(), state.label());
                }
            })
            .register(registry);
        GaugeWithCallback.builder().name("cerebras_proxy_budget_tokens_left")
            .help("Tokens per minute each (organization, model) budget is estimated to have left now: reported, refilled since, less what requests in flight reserved. Absent until an answer reported them.")
            .labelNames("organization", "model")
            .callback(callback -> budgets.get().stream().filter(b -> b.tokensLeft() >= 0).forEach(b -> callback.call(b.tokensLeft(), b.organization(), b.model())))
            .register(registry);
        GaugeWithCallback.builder().name("cerebras_proxy_budget_resting_seconds")
            .help("Seconds until each (organization, model) budget takes requests again; 0 when it does now.")
            .labelNames("organization", "model")
            .callback(callback ->
            {
                java.time.Instant now = clock.get();
                for (BudgetSnapshot b : budgets.get())
                    callback.call(b.restUntil() == null ? 0 : Math.max(0, java.time.Duration.between(now, b.restUntil()).toMillis() / 1000.0), b.organization(), b.model());
            })
            .register(registry);
        GaugeWithCallback.builder().name("cerebras_proxy_budget_in_flight")
            .help("Requests sent with each (organization, model) budget whose answer has not come yet.")
            .labelNames("organization", "model")
            .callback(callback -> budgets.get().forEach(b -> callback.call(b.inFlight(), b.organization(), b.model())))
            .register(registry);
        GaugeWithCallback.builder().name("cerebras_proxy_queue_length")
            .help("Requests waiting for capacity now (PROXY_QUEUE_MAX at most).")
            .callback(callback -> callback.call(queue.size()))
            .register(registry);
        queueWait = Histogram.builder().name("cerebras_proxy_queue_wait").unit(Unit.SECONDS)
            .help("Time requests waited for capacity, by how the wait ended (sent, gave_up, full, left).")
            .labelNames("outcome").classicOnly().classicUpperBounds(LATENCY_BUCKETS).register(registry);
        GaugeWithCallback.builder().name("cerebras_proxy_keys")
            .help("How many keys are in each state now.")
            .labelNames("state")
            .callback(callback -> countByState(keyStates.get()).forEach((status, count) -> callback.call(count, status.label())))
            .register(registry);
    }

    static Map<KeyState, Integer> countByState(List<KeySnapshot> keys)
    {
        Map<KeyState, Integer> counts = new EnumMap<>(KeyState.class);
        for (KeyState status : KeyState.values())
            counts.put(status, 0);
        for (KeySnapshot key : keys)
            counts.merge(key.state(), 1, Integer::sum);
        return counts;
    }

    PrometheusRegistry registry()
    {
        return registry;
    }

    /** A client request got its answer (any status, the proxy's own errors included). */
    public void answered(ApiKey key, String client, int status)
    {
        requests.labelValues(key == null ? NO_KEY : key.name(), client, Integer.toString(status)).inc();
        ledger.answered(key == null ? null : key.name(), client, status);
    }

    /**
     * An attempt's answer was about the key, or there was none, and the call moves on.
     *
     * @param reason e.g. {@code answered_429}, {@code unreachable}
     * @param code upstream's error code if it gave one, for the key's last error in the ledger
     */
    public void retried(ApiKey key, String reason, String code)
    {
        retries.labelValues(key.name(), reason).inc();
        ledger.keyError(key.name(), code != null ? code : reason);
    }

    /** A request was refused for its client's own limit (the reason is the answer's code); its answer is counted by {@link #answered} too. */
    public void refusedByClientLimit(String client, String reason)
    {
        clientRefusals.labelValues(client, reason).inc();
    }

    /** Upstream's response headers arrived this long after the attempt was sent. */
    public void upstreamAnswered(ApiKey key, long nanos)
    {
        upstreamLatency.labelValues(key.name()).observe(nanos / 1e9);
    }

    /** A request's wait for capacity ended: sent, gave_up (its time was up), full (never queued), left (its client went). */
    public void waited(String outcome, long nanos)
    {
        queueWait.labelValues(outcome).observe(nanos / 1e9);
    }

    /** A stream's first bytes went to the client this long after the request arrived. */
    public void firstEvent(ApiKey key, long nanos)
    {
        firstEvent.labelValues(key.name()).observe(nanos / 1e9);
    }

    /** Tokens an answer used, as its usage reported them. */
    public void tokens(ApiKey key, String client, long promptTokens, long completionTokens)
    {
        tokens.labelValues(key.name(), client, "prompt").inc(promptTokens);
        tokens.labelValues(key.name(), client, "completion").inc(completionTokens);
        ledger.tokens(key.name(), client, promptTokens, completionTokens);
    }
}
