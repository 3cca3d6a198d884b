package dev.cerebrasproxy.access;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import dev.cerebrasproxy.pool.CooldownPolicy;

/**
 * The clients that may use the pool as they are now (the tokens file reloads live), and
 * the rules that hold each to its {@link ClientLimits}: which model it may name, and its
 * requests and tokens in fixed windows aligned to the UTC minute and the UTC day. The
 * counts live in {@link ClientCounters}, by client name, so a reload that keeps a client
 * keeps its counts. Time comes from the injected clock, so tests move it by hand.
 */
public final class Clients
{
    /** What every header of a client's own limits begins with: apart from Cerebras's {@code x-ratelimit-*}. */
    public static final String HEADER_PREFIX = "x-proxy-ratelimit-";
    private static final long MINUTE = 60;
    private static final long DAY = 86_400;

    /** Why a request was refused, with the code its answer carries and the metric's label. */
    public enum Refusal
    {
        MODEL_NOT_ALLOWED("model_not_allowed"),
        REQUESTS_PER_MINUTE("client_request_limit_exceeded"),
        TOKENS_PER_MINUTE("client_token_limit_exceeded"),
        TOKENS_PER_DAY("client_daily_token_limit_exceeded");

        private final String code;

        Refusal(String code)
        {
            this.code = code;
        }

        public String code()
        {
            return code;
        }

        static Refusal of(ClientCounters.Over over)
        {
            return switch (over)
            {
                case REQUESTS_PER_MINUTE -> REQUESTS_PER_MINUTE;
                case TOKENS_PER_MINUTE -> TOKENS_PER_MINUTE;
                case TOKENS_PER_DAY -> TOKENS_PER_DAY;
            };
        }
    }

    /**
     * What the rules said of one request.
     *
     * @param refusal null when the request may go on
     * @param retryAfter when the refusing window ends (null for a model refusal, which waiting does not cure)
     * @param reservation what the admitted request holds until {@link #settle}; null when refused or unlimited
     * @param headers the client's own rate-limit headers, as name, value, name, value
     */
    public record Verdict(Refusal refusal, Duration retryAfter, ClientCounters.Reservation reservation, String[] headers)
    {
        static final Verdict FREE = new Verdict(null, null, null, new String[0]);
    }

    /** One client's limits and where it stands against them, for the status page. */
    public record Standing(String name, ClientLimits limits, ClientCounters.Use use)
    {
    }

    private final ClientCounters counters;
    private final InstantSource clock;
    private volatile ClientTokens tokens;

    public Clients(ClientTokens tokens, ClientCounters counters, InstantSource clock)
    {
        this.tokens = tokens;
        this.counters = counters;
        this.clock = clock;
    }

    public ClientTokens tokens()
    {
        return tokens;
    }

    /** Takes the clients of a reloaded tokens file; the counts of those it keeps carry on. */
    public void reload(ClientTokens next)
    {
        tokens = next;
    }

    /**
     * Checks one request against its client's limits and, when it fits, counts it. The
     * verdict comes when the counters answer: at once in memory, after a round trip (or the
     * bounded wait for one) with Redis.
     *
     * @param model the model the request names, or null when it names none
     * @param estimate the tokens the request may use (prompt and completion)
     */
    public CompletionStage<Verdict> admit(String client, ClientLimits limits, String model, long estimate)
    {
        return admit(client, limits, model, true, estimate);
    }

    /** @param modelKnown false when the body could not be read for its model: a client held to a list of models is then refused */
    public CompletionStage<Verdict> admit(String client, ClientLimits limits, String model, boolean modelKnown, long estimate)
    {
        if (!limits.any())
            return CompletableFuture.completedFuture(Verdict.FREE);
        Instant now = clock.instant();
        if (!limits.allows(model) || (!modelKnown && limits.models() != null))
            return CompletableFuture.completedFuture(new Verdict(Refusal.MODEL_NOT_ALLOWED, null, null, headers(limits, counters.use(client, minuteOf(now), dayOf(now)), now)));
        return counters.tryAdmit(client, limits, estimate, minuteOf(now), dayOf(now)).thenApply(outcome -> verdict(limits, outcome, now));
    }

    private static Verdict verdict(ClientLimits limits, ClientCounters.Outcome outcome, Instant now)
    {
        String[] headers = headers(limits, outcome.use(), now);
        if (outcome.over() == null)
            return new Verdict(null, null, outcome.reservation(), headers);
        Duration wait = outcome.over() == ClientCounters.Over.TOKENS_PER_DAY ? untilNextDay(now) : untilNextMinute(now);
        return new Verdict(Refusal.of(outcome.over()), wait, null, headers);
    }

    /** The admitted request's answer used {@code tokens} (what its usage reported, or the estimate when it said nothing). */
    public void settle(String client, ClientCounters.Reservation reservation, long tokens)
    {
        if (reservation == null)
            return;
        Instant now = clock.instant();
        counters.settle(client, reservation, tokens, minuteOf(now), dayOf(now));
    }

    /** Every configured client with its limits and its counts now, in configuration order. */
    public List<Standing> standings()
    {
        Instant now = clock.instant();
        ClientTokens current = tokens;
        List<Standing> all = new ArrayList<>();
        for (String name : current.names())
            all.add(new Standing(name, current.limitsOf(name), counters.use(name, minuteOf(now), dayOf(now))));
        return all;
    }

    /**
     * {@code x-proxy-ratelimit-{limit,remaining,reset}-{requests-minute,tokens-minute,tokens-day}}
     * for the limits the client has. The {@code x-proxy-} prefix keeps them apart from
     * Cerebras's own {@code x-ratelimit-*}, which pass through unchanged. Resets are whole
     * seconds, rounded up, like {@code Retry-After}.
     */
    static String[] headers(ClientLimits limits, ClientCounters.Use use, Instant now)
    {
        List<String> headers = new ArrayList<>(18);
        long toMinute = CooldownPolicy.secondsRoundedUp(untilNextMinute(now));
        add(headers, "requests-minute", limits.requestsPerMinute(), use.requestsThisMinute(), toMinute);
        add(headers, "tokens-minute", limits.tokensPerMinute(), use.tokensThisMinute(), toMinute);
        add(headers, "tokens-day", limits.tokensPerDay(), use.tokensToday(), CooldownPolicy.secondsRoundedUp(untilNextDay(now)));
        return headers.toArray(String[]::new);
    }

    private static void add(List<String> headers, String window, long limit, long used, long resetSeconds)
    {
        if (limit == ClientLimits.UNLIMITED)
            return;
        headers.addAll(List.of(HEADER_PREFIX + "limit-" + window, Long.toString(limit),
            HEADER_PREFIX + "remaining-" + window, Long.toString(Math.max(0, limit - used)),
            HEADER_PREFIX + "reset-" + window, Long.toString(resetSeconds)));
    }

    static long minuteOf(Instant now)
    {
        return Math.floorDiv(now.getEpochSecond(), MINUTE);
    }

    static long dayOf(Instant now)
    {
        return Math.floorDiv(now.getEpochSecond(), DAY);
    }

    static Duration untilNextMinute(Instant now)
    {
        return Duration.between(now, Instant.ofEpochSecond((minuteOf(now) + 1) * MINUTE));
    }

    static Duration untilNextDay(Instant now)
    {
        return Duration.between(now, Instant.ofEpochSecond((dayOf(now) + 1) * DAY));
    }
}
