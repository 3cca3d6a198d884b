package dev.cerebrasproxy.forward;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import dev.cerebrasproxy.ProxyError;
import dev.cerebrasproxy.RetryAfter;
import dev.cerebrasproxy.access.ClientLimits;
import dev.cerebrasproxy.access.Clients;
import dev.cerebrasproxy.pool.Demand;
import jakarta.servlet.http.HttpServletResponse;

/**
 * One request against its client's own limits ({@link Clients}): checked once its body is
 * read and before the pool is asked for a key, so a client over its limit never waits
 * for a key (or in a queue for one) and touches none; then settled, once, with the tokens
 * its answer reports. Its headers go on the answer the client gets.
 */
final class ClientQuota
{
    private final Clients clients;
    private final String client;
    private final RequestFacts facts;
    /** The tokens held for the request: the same estimate the pool's budgets hold. */
    private final long estimate;
    private final Clients.Verdict verdict;
    /** Two threads may settle (the call's end, and a check that answers after the client left): once wins. */
    private final java.util.concurrent.atomic.AtomicBoolean settled = new java.util.concurrent.atomic.AtomicBoolean();

    private ClientQuota(Clients clients, String client, RequestFacts facts, long estimate, Clients.Verdict verdict)
    {
        this.clients = clients;
        this.client = client;
        this.facts = facts;
        this.estimate = estimate;
        this.verdict = verdict;
    }

    /**
     * The quota once the client's counters have answered (at once in memory; with Redis,
     * within its bounded wait), holding the request's estimate.
     *
     * @param defaultMaxCompletion PROXY_DEFAULT_MAX_COMPLETION_TOKENS, for a request that sets no maximum
     */
    static CompletionStage<ClientQuota> check(Clients clients, String client, RequestFacts facts, long defaultMaxCompletion)
    {
        ClientLimits limits = clients.tokens().limitsOf(client);
        long estimate = facts.estimate(defaultMaxCompletion);
        return clients.admit(client, limits, facts.model(), facts.readable(), estimate).thenApply(verdict -> new ClientQuota(clients, client, facts, estimate, verdict));
    }

    /** What the request asks of the pool's budgets: the estimate its client's limits hold. */
    Demand demand()
    {
        return RequestFacts.NO_BODY.equals(facts) ? Demand.NONE : new Demand(facts.model(), estimate);
    }

    /** The model the request names, or null. */
    String model()
    {
        return facts.model();
    }

    /** Why the request may not go on, or null when it may. */
    Clients.Refusal refusal()
    {
        return verdict.refusal();
    }

    /** The client's own rate-limit headers, for every answer it gets. */
    String[] headers()
    {
        return verdict.headers();
    }

    /** Puts the client's own headers on the answer upstream began. */
    void setHeadersOn(HttpServletResponse response)
    {
        String[] headers = headers();
        for (int i = 0; i + 1 < headers.length; i += 2)
            response.setHeader(headers[i], headers[i + 1]);
    }

    /**
     * The headers of the proxy's own answer to an admitted request (no key, Cerebras busy)
     * with the client's added, so it knows where it stands there too; a refusal has them already.
     *
     * @param quota null when the request ended before its limits were checked
     */
    static String[] withHeadersOf(ClientQuota quota, String[] headers)
    {
        if (quota == null || quota.refusal() != null || quota.headers().length == 0)
            return headers;
        String[] all = Arrays.copyOf(headers, headers.length + quota.headers().length);
        System.arraycopy(quota.headers(), 0, all, headers.length, quota.headers().length);
        return all;
    }

    /** The answer to a refused request, in Cerebras's shape, with param "client" (or "model"). */
    ProxyError error()
    {
        Clients.Refusal refusal = verdict.refusal();
        return switch (refusal)
        {
            case MODEL_NOT_ALLOWED -> new ProxyError(403, "permission_denied", refusal.code(), "model", facts.readable()
                ? "This client may not use the model " + (facts.model() == null ? "(none)" : "'" + shortened(facts.model()) + "'") + " (its models in PROXY_CLIENT_TOKENS)."
                : "This client may use only some models, and the proxy could not read the model from the request body: send it as uncompressed JSON naming the model once.");
            case REQUESTS_PER_MINUTE -> tooMany(refusal, "This client's requests per minute are used up (its own limit in PROXY_CLIENT_TOKENS, not Cerebras's).");
            case TOKENS_PER_MINUTE -> tooMany(refusal, "This request's estimated tokens do not fit what is left of this client's tokens per minute (its own limit in PROXY_CLIENT_TOKENS, not Cerebras's).");
            case TOKENS_PER_DAY -> tooMany(refusal, "This client's tokens for the day (UTC) are used up (its own limit in PROXY_CLIENT_TOKENS, not Cerebras's).");
        };
    }

    /** The client's own text, echoed back: a long one is cut, the answer stays small. */
    private static String shortened(String model)
    {
        return model.length() <= 100 ? model : model.substring(0, 100) + "...";
    }

    private ProxyError tooMany(Clients.Refusal refusal, String message)
    {
        return new ProxyError(429, "too_many_requests_error", refusal.code(), "client", message + " Retry after " + RetryAfter.of(verdict.retryAfter()).seconds() + " s.");
    }

    /** The headers of the refusal: the client's own, when to come back, and not to retry in vain when the day is spent. */
    String[] refusalHeaders()
    {
        List<String> all = new ArrayList<>(List.of(headers()));
        if (verdict.retryAfter() != null)
            all.addAll(List.of(RetryAfter.of(verdict.retryAfter()).headers()));
        if (verdict.refusal() == Clients.Refusal.TOKENS_PER_DAY)
            all.addAll(List.of("x-should-retry", "false"));
        return all.toArray(String[]::new);
    }

    /**
     * The answer is over: what it used replaces what was held. Without a reported usage, a
     * successful answer is charged its estimate (it did use tokens), any other nothing.
     *
     * @param reported the tokens the answer's usage reported, or -1 when it reported none
     */
    void settle(long reported, boolean succeeded)
    {
        if (!settled.compareAndSet(false, true))
            return;
        clients.settle(client, verdict.reservation(), reported >= 0 ? reported : succeeded ? estimate : 0);
    }
}
