package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool of API keys, the order in which requests use them, and what upstream has
 * said about each. It knows nothing of HTTP: callers ask for a {@link Rotation} per
 * client request and take keys from it until one serves, and tell the pool what each
 * attempt taught ({@link #rateLimited}, {@link #serverError}, {@link #quarantine}, ...).
 * The pool decides from that which keys stay in rotation, and for how long.
 *
 * <p>Every key choice, first attempt or retry, takes the next slot of one shared
 * round-robin cursor; a slot that points at a key which cannot serve now (cooling,
 * quarantined) or which this request has met already is passed over by taking the next
 * slot. The keys that can serve therefore share the load evenly, and a resting key's
 * turns spread over all of them instead of landing on its neighbour. A rotation
 * remembers which keys its request has met, so each request tries every key at most
 * once, however many other requests move the cursor meanwhile.
 *
 * <p>The keys can be replaced while requests run ({@link #reload}): the pool holds one
 * immutable {@link Generation} of keys and swaps it in one write. A rotation keeps the
 * generation it started with, so a request in flight never sees the key list change
 * under it; news about a key that has left the pool since is dropped.
 *
 * <p>Time comes from the injected clock, so tests move it instead of sleeping.
 */
public final class KeyPool
{
    private static final Logger LOG = LoggerFactory.getLogger(KeyPool.class);

    /** The keys at one moment and what is known about each, never changed once built. */
    private record Generation(List<ApiKey> keys, PooledKey[] pooled)
    {
    }

    private final CooldownPolicy policy;
    private final InstantSource clock;
    private final AtomicLong cursor = new AtomicLong();
    private final Budgets budgets;
    /** Set when upstream itself failed (502, 503, 504, no answer), cleared by the next good answer. */
    private volatile Instant upstreamFailingSince;
    private final java.util.concurrent.atomic.LongAdder upstreamFailures = new java.util.concurrent.atomic.LongAdder();
    /** Failures in a row that make an outage: one 503 passed to a client is not one. */
    static final int OUTAGE_FAILURES = 3;
    private volatile Generation generation;
    private volatile Replicas replicas = Replicas.ALONE;
    private final ReplicaNews news = new ReplicaNews(this);

    public KeyPool(List<ApiKey> keys)
    {
        this(keys, CooldownPolicy.DEFAULTS, InstantSource.system());
    }

    public KeyPool(List<ApiKey> keys, CooldownPolicy policy, InstantSource clock)
    {
        this.policy = policy;
        this.clock = clock;
        this.budgets = new Budgets(policy.minute());
        this.generation = generationOf(keys, new PooledKey[0]);
    }

    private Generation generationOf(List<ApiKey> keys, PooledKey[] previous)
    {
        if (keys.isEmpty())
            throw new IllegalArgumentException("a key pool needs at least one key");
        PooledKey[] pooled = new PooledKey[keys.size()];
        for (int i = 0; i < pooled.length; i++)
        {
            ApiKey key = keys.get(i);
            pooled[i] = Arrays.stream(previous).filter(old -> old.key.sameAs(key)).findFirst().orElseGet(() -> new PooledKey(key, policy));
        }
        return new Generation(Arrays.stream(pooled).map(each -> each.key).toList(), pooled);
    }

    /**
     * From now on, tells these replicas what the pool learns, and takes turns with them for
     * re-checks; what they learnt comes in through {@link #news()}.
     */
    public void share(Replicas with)
    {
        replicas = with;
    }

    Replicas replicas()
    {
        return replicas;
    }

    /**
     * Makes these the pool's keys from now on. A key that was in the pool already (same
     * name and same value) keeps what the pool learnt about it: a cooling key stays
     * cooling, a quarantined one quarantined. A changed value is a new key, fresh.
     * Requests in flight finish with the keys they started with.
     *
     * @return what changed, by key name
     */
    public synchronized Reload reload(List<ApiKey> keys)
    {
        Generation before = generation;
        Generation after = generationOf(keys, before.pooled());
        generation = after;
        return Reload.between(before.keys(), after.keys());
    }

    public int size()
    {
        return generation.pooled().length;
    }

    public List<ApiKey> keys()
    {
        return generation.keys();
    }

    /** The pool's time: the clock the rests are measured on. */
    public Instant now()
    {
        return clock.instant();
    }

    /** The keys a request that names no model may use, each at most once. */
    public Rotation rotation()
    {
        return rotation(Demand.NONE);
    }

    /** The keys one client request may use, each at most once, for what it asks of their budgets. */
    public Rotation rotation(Demand demand)
    {
        return new Rotation(this, generation.pooled(), budgets, cursor, demand);
    }

    /** The key answered a request that named no model without complaint about itself. */
    public void served(ApiKey key)
    {
        served(key, null);
    }

    /** The key answered without complaint about itself, for this model's budget. */
    public void served(ApiKey key, String model)
    {
        upstreamFailingSince = null;
        upstreamFailures.reset();
        Instant now = now();
        aboutAndTell(key, pooled -> pooled.served(now));
        budgets.of(key.organization(), model).served();
    }

    /**
     * Whether the key answered some request without complaint about itself at or after
     * {@code since}: a key that serves others is not what a request's failure is about.
     */
    public boolean servedSince(ApiKey key, Instant since)
    {
        for (PooledKey pooled : generation.pooled())
        {
            if (pooled.key == key)
                return pooled.servedSince(since);
        }
        return false;
    }

    /** A 429 about the general state of the key's organization (a request that named no model). */
    public void rateLimited(ApiKey key, Duration announced, String code)
    {
        rateLimited(key, null, announced, code);
    }

    /**
     * A 429 about the quota of the key's organization for this model: every key of the
     * organization rests for that model, none for another.
     *
     * @param announced when upstream said the budget recovers, or null to let the pool guess
     * @param code upstream's error code, for the record
     */
    public void rateLimited(ApiKey key, String model, Duration announced, String code)
    {
        rateLimited(key, model, now(), announced, code);
    }

    /**
     * As above, for an attempt sent at {@code sentAt}: a requests-per-minute limit is learnt
     * from the requests sent in the minute before that, not before the 429 was handled
     * (under load, late), which would miss some of the window's.
     */
    public void rateLimited(ApiKey key, String model, Instant sentAt, Duration announced, String code)
    {
        about(key, PooledKey::countFailure);
        Instant now = now();
        Budget budget = budgets.of(key.organization(), model);
        String ticket = budget.rateLimited(sentAt.isAfter(now) ? now : sentAt, now, announced, code, policy);
        tellRest(budget);
        if (ticket != null)
            replicas.notCounted(budget.organization, budget.model, ticket);
    }

    /** Logs (at debug) what the pool believed of the budget an attempt refused with a quota 429 was sent with. */
    void explainRefusal(ApiKey key, String model, Instant sentAt, String code, long upstreamRemaining)
    {
        budgets.of(key.organization(), model).explainRefusal(sentAt, now(), code, upstreamRemaining);
    }

    /** A 500 with this key: a short rest. */
    public void serverError(ApiKey key, String code)
    {
        about(key, pooled -> pooled.serverError(now(), code));
    }

    /** An answer said one of the general state's windows has nothing left until it resets. */
    public void exhausted(ApiKey key, Duration untilReset, String window)
    {
        exhausted(key, null, untilReset, window);
    }

    /** An answer said one of the windows of (the key's organization, model) has nothing left until it resets. */
    public void exhausted(ApiKey key, String model, Duration untilReset, String window)
    {
        Budget budget = budgets.of(key.organization(), model);
        budget.exhausted(now(), untilReset, window);
        tellRest(budget);
    }

    /** An answer reported the tokens per minute of (the key's organization, model); -1 for what it did not say. */
    public void tokensReported(ApiKey key, String model, long limit, long remaining)
    {
        tokensReported(key, model, now(), limit, remaining);
    }

    /**
     * As above, from an attempt sent at {@code sentAt}: upstream counted the budget at some
     * moment between that and now. Answers overtake one another: of reports whose attempts
     * were on their way at once, the budget keeps the one that leaves fewer tokens.
     */
    public void tokensReported(ApiKey key, String model, Instant sentAt, long limit, long remaining)
    {
        Instant now = now();
        Budget budget = budgets.of(key.organization(), model);
        budget.reportTokens(sentAt.isAfter(now) ? now : sentAt, now, limit, remaining);
        replicas.tokensReported(budget.organization, budget.model, sentAt, limit, remaining);
    }

    /** An answer reported what is left of a request window of (the key's organization, model) (per day or hour), until its reset. */
    public void requestsReported(ApiKey key, String model, long remaining, Duration untilReset)
    {
        budgets.of(key.organization(), model).reportRequests(now(), remaining, untilReset);
    }

    /**
     * A served answer (2xx) reported the requests left today of (the key's organization,
     * model). Two organizations whose reports turn out to be one counter are one from then
     * on ({@link SharedOrganizations}): one INFO line names their keys and why.
     */
    public void requestsLeftToday(ApiKey key, String model, long remaining)
    {
        SharedOrganizations.Conclusion concluded = budgets.requestsLeftToday(key.organization(), model, remaining, now());
        if (concluded == null)
            return;
        SharedOrganization shared = described(concluded);
        LOG.info("keys {} and {} share one organization at Cerebras: for {} their remaining requests-day interleave as one count ({} answers, no value twice, no gap), "
            + "so they now draw on one budget per model, organization {}'s (declare it in CEREBRAS_API_KEYS to have it from the start)",
            shared.joinedKeys(), shared.keys(), shared.model(), shared.interleaved(), shared.organization());
    }

    /**
     * What the pool concluded of organizations the operator did not declare together, oldest
     * first; once a reload leaves no key declared in the joined organization, it is moot.
     */
    public List<SharedOrganization> sharedOrganizations()
    {
        return budgets.sharedOrganizations().stream().map(this::described).filter(found -> !found.joinedKeys().isEmpty()).toList();
    }

    private SharedOrganization described(SharedOrganizations.Conclusion concluded)
    {
        List<String> joinedKeys = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (ApiKey each : generation.keys())
        {
            if (each.organization().equals(concluded.joined()))
                joinedKeys.add(each.name());
            else if (budgets.organizationOf(each.organization()).equals(concluded.organization()))
                keys.add(each.name());
        }
        return new SharedOrganization(concluded.organization(), keys, concluded.joined(), joinedKeys, concluded.model(), concluded.interleaved(), concluded.at());
    }

    /**
     * Upstream forbade the key this model (403, while another key served the same request):
     * the key leaves rotation for that model until the re-check interval has passed.
     */
    public void refusedForModel(ApiKey key, String model, String reason)
    {
        if (model == null)
        {
            quarantine(key, reason);
            return;
        }
        about(key, pooled -> pooled.refusedFor(model, now().plus(policy.quarantineRecheck()), reason));
    }

    /** Upstream refused the key itself (invalid, unpaid, forbidden). */
    public void quarantine(ApiKey key, String reason)
    {
        aboutAndTell(key, pooled -> pooled.quarantine(now(), reason));
    }

    /** Upstream had no capacity; another key would not have helped, and this one is not to blame. */
    public void busy(ApiKey key, String code)
    {
        aboutAndTell(key, pooled -> pooled.busy(now(), code));
    }

    /**
     * An attempt with this key got no answer that says anything about the key: upstream
     * failing (502, 503, 504), unreachable, silent past the idle timeout, or the attempt
     * aborted. Ends a re-check under way without a verdict.
     */
    public void inconclusive(ApiKey key, String what)
    {
        aboutAndTell(key, pooled -> pooled.inconclusive(now(), what));
    }

    /**
     * Upstream itself failed with this key (502, 503, 504, or no answer): it benches no key,
     * but until a good answer comes, readiness says upstream is down rather than "no key".
     */
    public void upstreamFailed(ApiKey key, String what)
    {
        if (upstreamFailingSince == null)
            upstreamFailingSince = now();
        upstreamFailures.increment();
        inconclusive(key, what);
    }

    /**
     * Since when upstream has been down: {@value #OUTAGE_FAILURES} or more failures of
     * upstream itself without a good answer between. Null while it answers.
     */
    public Instant upstreamDownSince()
    {
        Instant since = upstreamFailingSince;
        return since != null && upstreamFailures.sum() >= OUTAGE_FAILURES ? since : null;
    }

    /** Returns every key to rotation and forgets what upstream said, as a fresh start would. */
    public void reset()
    {
        for (PooledKey pooled : generation.pooled())
            pooled.reset();
        budgets.clear();
        upstreamFailingSince = null;
        upstreamFailures.reset();
    }

    /** Each key's state now, in configured order. */
    public List<KeySnapshot> snapshot()
    {
        Instant now = now();
        PooledKey[] pooled = generation.pooled();
        List<KeySnapshot> snapshot = new ArrayList<>(pooled.length);
        for (PooledKey each : pooled)
        {
            KeySnapshot own = each.snapshot(now, budgets.ofOrganization(each.key.organization()));
            String organization = budgets.organizationOf(each.key.organization());
            snapshot.add(organization.equals(own.organization()) ? own
                : new KeySnapshot(own.name(), organization, own.state(), own.until(), own.lastError(), own.requests(), own.failures()));
        }
        return List.copyOf(snapshot);
    }

    /** Each (organization, model) budget met so far, by organization then model. */
    public List<BudgetSnapshot> budgets()
    {
        return budgets.snapshot(now());
    }

    /** How long until some key can serve a request that names no model: zero if one can now. */
    public Duration untilAnyKeyRecovers()
    {
        return rotation().untilAnyKeyRecovers();
    }

    private void tellRest(Budget budget)
    {
        Instant until = budget.restUntilAt(now());
        if (until != null)
            replicas.rested(budget.organization, budget.model, until, budget.lastError(), budget.learntRequestLimit());
    }

    /** As {@link #about}, and tells the other replicas when the key entered, left or moved its quarantine. */
    private void aboutAndTell(ApiKey key, Consumer<PooledKey> news)
    {
        about(key, pooled ->
        {
            KeyCondition before = pooled.condition();
            news.accept(pooled);
            KeyCondition after = pooled.condition();
            if (after.state() == KeyState.QUARANTINED && !after.probing() && (before.state() != KeyState.QUARANTINED || before.probing() || !after.until().equals(before.until())))
                replicas.quarantined(key, after.until(), after.lastError());
            else if (before.state() == KeyState.QUARANTINED && after.state() != KeyState.QUARANTINED)
                replicas.recovered(key);
        });
    }

    /** Where what the other replicas say comes in. */
    public ReplicaNews news()
    {
        return news;
    }

    /** The keys now, as the pool knows them. */
    PooledKey[] pooled()
    {
        return generation.pooled();
    }

    /** The (organization, model) budgets met so far. */
    Budgets budgetStates()
    {
        return budgets;
    }

    /**
     * Tells the key's state what happened. News about a key that left the pool (by a
     * reload while its request was under way) is dropped: it changes nothing that serves,
     * and must not log a quarantine for a key the operator has just removed.
     */
    private void about(ApiKey key, Consumer<PooledKey> news)
    {
        for (PooledKey pooled : generation.pooled())
        {
            if (pooled.key == key)
            {
                news.accept(pooled);
                return;
            }
        }
    }
}
