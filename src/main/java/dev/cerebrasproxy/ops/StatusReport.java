package dev.cerebrasproxy.ops;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import dev.cerebrasproxy.access.ClientCounters;
import dev.cerebrasproxy.access.ClientLimits;
import dev.cerebrasproxy.access.Clients;
import dev.cerebrasproxy.pool.CooldownPolicy;
import dev.cerebrasproxy.pool.FairQueue;
import dev.cerebrasproxy.pool.KeyPool;
import dev.cerebrasproxy.pool.KeySnapshot;
import dev.cerebrasproxy.pool.KeyState;
import dev.cerebrasproxy.shared.SharedState;

/**
 * What the status page shows, at one moment: each key's state and use, each client's
 * use. Names only, never a key's or a token's value. It knows nothing of HTTP or HTML,
 * so the page and its JSON twin show the same thing.
 *
 * @param redis "off" (no PROXY_REDIS_URL), "ok" (counts shared) or "degraded" (this replica counts alone until Redis answers)
 */
record StatusReport(List<KeyRow> keys, List<BudgetRow> budgets, List<OrganizationRow> organizations, List<WaitingRow> waiting, List<ClientRow> clients, List<LimitRow> limits, List<UsageLedger.DayUse> usageByDay, String redis)
{
    /**
     * One (organization, model) budget.
     *
     * @param model the model, or "*" for the organization's general state
     * @param state "available" or "resting"
     * @param recovers when a resting budget takes requests again, in words, or ""
     * @param tokensLeft tokens per minute estimated left now, or "" while no answer reported them
     * @param tokenLimit tokens per minute as reported, or ""
     * @param inFlight requests sent with it and not answered yet
     */
    record BudgetRow(String organization, String model, String state, String recovers, String tokensLeft, String tokenLimit, int inFlight, String lastError)
    {
    }

    /**
     * Keys the operator did not declare in one organization that the pool found to be one
     * (their reported requests per day interleave as one count), drawing on one budget since.
     *
     * @param keys all the keys of the organization now, by name
     * @param concluded what showed it, in words
     */
    record OrganizationRow(String organization, String keys, String joined, String concluded, String since)
    {
    }

    /** Requests of one client waiting for capacity in the fair queue. */
    record WaitingRow(String client, int waiting)
    {
    }

    /**
     * @param state available, cooling or quarantined
     * @param recovers when the key serves again, in words ("in 42 s", "re-check in 5 min"), or "" if it does now
     * @param tokens tokens used with this key, as the ledger counted them
     */
    record KeyRow(String name, String state, String recovers, long requests, long errors, long tokens, String lastError)
    {
    }

    record ClientRow(String name, long requests, long errors, long tokens, String lastError)
    {
    }

    /**
     * A configured client's limits and where it stands in the current UTC minute and day.
     * A limit it does not have, and so what is left of it, is null.
     *
     * @param models the models it may use, or "any"
     */
    record LimitRow(String name, String models, Long requestsPerMinute, long requestsThisMinute, Long requestsLeft,
        Long tokensPerMinute, long tokensThisMinute, Long tokensLeftThisMinute, Long tokensPerDay, long tokensToday, Long tokensLeftToday)
    {
        static LimitRow of(Clients.Standing standing)
        {
            ClientLimits limits = standing.limits();
            ClientCounters.Use use = standing.use();
            return new LimitRow(standing.name(), limits.models() == null ? "any" : String.join(", ", limits.models().stream().sorted().toList()),
                limit(limits.requestsPerMinute()), use.requestsThisMinute(), left(limits.requestsPerMinute(), use.requestsThisMinute()),
                limit(limits.tokensPerMinute()), use.tokensThisMinute(), left(limits.tokensPerMinute(), use.tokensThisMinute()),
                limit(limits.tokensPerDay()), use.tokensToday(), left(limits.tokensPerDay(), use.tokensToday()));
        }

        private static Long limit(long limit)
        {
            return limit == ClientLimits.UNLIMITED ? null : limit;
        }

        private static Long left(long limit, long used)
        {
            return limit == ClientLimits.UNLIMITED ? null : Math.max(0, limit - used);
        }
    }

    static StatusReport of(KeyPool pool, FairQueue queue, UsageLedger ledger, Clients clientsNow, SharedState.Redis redis)
    {
        Instant now = pool.now();
        Map<String, UsageLedger.Usage> usageByKey = ledger.byKey().stream().collect(Collectors.toMap(UsageLedger.Usage::name, Function.identity()));
        List<KeyRow> keys = pool.snapshot().stream().map(key ->
        {
            UsageLedger.Usage usage = usageByKey.get(key.name());
            return new KeyRow(key.name(), key.state().label(), recovers(key, now), key.requests(), key.failures(), usage == null ? 0 : usage.totalTokens(),
                key.lastError() == null ? "" : key.lastError());
        }).toList();
        List<ClientRow> clients = ledger.byClient().stream()
            .map(c -> new ClientRow(c.name(), c.requests(), c.errors(), c.totalTokens(), c.lastError() == null ? "" : c.lastError()))
            .toList();
        List<BudgetRow> budgets = pool.budgets().stream().map(b -> new BudgetRow(b.organization(), b.model(), b.restUntil() == null ? "available" : "resting",
            b.restUntil() == null ? "" : "in " + CooldownPolicy.readable(Duration.between(now, b.restUntil())),
            b.tokensLeft() < 0 ? "" : Long.toString(b.tokensLeft()), b.tokenLimit() < 0 ? "" : Long.toString(b.tokenLimit()), b.inFlight(),
            b.lastError() == null ? "" : b.lastError())).toList();
        List<OrganizationRow> organizations = pool.sharedOrganizations().stream().map(o -> new OrganizationRow(o.organization(),
            String.join(", ", java.util.stream.Stream.concat(o.keys().stream(), o.joinedKeys().stream()).sorted().toList()), o.joined(),
            "keys " + String.join(", ", o.joinedKeys()) + " (organization " + o.joined() + ") share organization " + o.organization()
                + ": " + o.interleaved() + " of their remaining requests-day for " + o.model() + " interleave as one count",
            o.at().toString())).toList();
        List<WaitingRow> waiting = queue.sizes().entrySet().stream().map(e -> new WaitingRow(e.getKey(), e.getValue())).toList();
        List<LimitRow> limits = clientsNow.standings().stream().map(LimitRow::of).toList();
        return new StatusReport(keys, budgets, organizations, waiting, clients, limits, ledger.byDayClientAndModel(), redis.label());
    }

    private static String recovers(KeySnapshot key, Instant now)
    {
        if (key.state() == KeyState.AVAILABLE || key.until() == null)
            return "";
        String in = CooldownPolicy.readable(Duration.between(now, key.until()));
        return key.state() == KeyState.QUARANTINED ? "re-check in " + in : "in " + in;
    }
}
