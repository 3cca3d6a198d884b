package dev.cerebrasproxy.simulator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One (organization, model) budget: every key of the organization draws on it. A request
 * is admitted only if every request window has room and its token estimate fits every
 * bucket; then it counts in the windows and reserves its estimate, and when its answer
 * is done {@link #settle} charges what it really used and gives back the rest. A refused
 * request counts against nothing: Cerebras refuses it before any work.
 */
final class Budget
{
    /** What {@link #admit} decided, with the headers the answer carries. */
    record Decision(boolean admitted, String code, String message, Map<String, String> headers)
    {
    }

    final String organization;
    final Model model;
    final Limits limits;
    /** Longest first: when several are exhausted, the 429 names the one that lasts longest. */
    private final List<RequestWindow> windows = new ArrayList<>();
    private final List<TokenBucket> buckets = new ArrayList<>();
    /** Admitted requests not settled yet, and the estimates they hold: what a refusal's record shows. */
    private int inFlight;
    private long inFlightReserved;

    Budget(String organization, Model model, Limits limits)
    {
        this.organization = organization;
        this.model = model;
        this.limits = limits;
        windows.add(new RequestWindow("requests-day", "day", limits.requestsPerDay(), SimTime.DAY));
        if (limits.requestsPerHour() > 0)
            windows.add(new RequestWindow("requests-hour", "hour", limits.requestsPerHour(), SimTime.HOUR));
        windows.add(new RequestWindow(null, "minute", limits.requestsPerMinute(), SimTime.MINUTE));
        if (limits.tokensPerHour() > 0)
            buckets.add(new TokenBucket("tokens-hour", limits.tokensPerHour(), SimTime.HOUR));
        buckets.add(new TokenBucket("tokens-minute", limits.tokensPerMinute(), SimTime.MINUTE));
    }

    synchronized Decision admit(long estimate, long now, SimTime time)
    {
        for (RequestWindow window : windows)
        {
            if (window.full(now))
                return new Decision(false, "request_quota_exceeded",
                    "Requests per " + window.name + " limit exceeded - too many requests sent.", headers(now, time));
        }
        for (TokenBucket bucket : buckets)
        {
            if (!bucket.fits(estimate, now))
                return new Decision(false, "token_quota_exceeded",
                    "Tokens per " + bucket.header.substring("tokens-".length()) + " limit exceeded - too many tokens processed.", headers(now, time));
        }
        windows.forEach(w -> w.count(now));
        buckets.forEach(b -> b.take(estimate, now));
        inFlight++;
        inFlightReserved += estimate;
        return new Decision(true, null, null, headers(now, time));
    }

    /** Charges {@code used} of a request that reserved {@code reserved}: the difference refills the buckets. */
    synchronized void settle(long reserved, long used, long now)
    {
        inFlight--;
        inFlightReserved -= reserved;
        long back = reserved - used;
        for (TokenBucket bucket : buckets)
        {
            if (back > 0)
                bucket.giveBack(back, now);
            else if (back < 0)
                bucket.take(-back, now);
        }
    }

    /** The headers Cerebras sends with every answer of this budget, resets in real seconds. */
    synchronized Map<String, String> headers(long now, SimTime time)
    {
        Map<String, String> headers = new LinkedHashMap<>();
        for (RequestWindow window : windows)
        {
            if (window.header == null)
                continue;
            headers.put("x-ratelimit-limit-" + window.header, Long.toString(window.limit));
            headers.put("x-ratelimit-remaining-" + window.header, Long.toString(window.remaining(now)));
            headers.put("x-ratelimit-reset-" + window.header, seconds(time.realSeconds(window.nanosUntilReset(now))));
        }
        for (TokenBucket bucket : buckets)
        {
            headers.put("x-ratelimit-limit-" + bucket.header, Long.toString(bucket.capacity));
            headers.put("x-ratelimit-remaining-" + bucket.header, Long.toString(bucket.remaining(now)));
            headers.put("x-ratelimit-reset-" + bucket.header, seconds(time.realSeconds(bucket.nanosUntilFull(now))));
        }
        return headers;
    }

    /**
     * Why a request of this estimate was refused, as the simulator's log records each
     * wasted call: what the buckets held, what the admitted requests not yet settled were
     * holding of it, and how far each request window had got.
     */
    synchronized String state(long estimate, long now, SimTime time)
    {
        StringBuilder state = new StringBuilder("estimate=" + estimate);
        for (TokenBucket bucket : buckets)
            state.append(' ').append(bucket.header).append("-left=").append(bucket.remaining(now));
        state.append(" in-flight=").append(inFlight).append(" holding=").append(inFlightReserved);
        for (RequestWindow window : windows)
        {
            state.append(" requests-").append(window.name).append('=').append(window.limit - window.remaining(now)).append('/').append(window.limit)
                .append(String.format(Locale.ROOT, " (%.2f s to its end)", time.realSeconds(window.nanosUntilReset(now))));
        }
        return state.toString();
    }

    static String seconds(double value)
    {
        return String.format(Locale.ROOT, "%.3f", value);
    }

    /**
     * The most requests this budget can admit in the simulated interval [from, to), if it is
     * untouched at {@code from} and every request has this estimate and really uses
     * {@code cost} tokens. The least of:
     * <ul>
     * <li>per request window: limit × the windows the interval touches (a window that has
     * begun before {@code from} still has its whole limit);</li>
     * <li>per token bucket: ⌊(capacity + refill − estimate) / cost⌋ + 1, where refill =
     * capacity × (to − from) / period: the bucket starts full, and the last request
     * admitted must still find its whole estimate (0 when even the first cannot).</li>
     * </ul>
     * No proxy can get more answers than this out of the budget; requests in flight at
     * once hold their estimate and so get somewhat fewer.
     */
    long allowed(long from, long to, long estimate, long cost)
    {
        if (to <= from)
            return 0;
        if (cost <= 0 || estimate < cost)
            throw new IllegalArgumentException("need 0 < cost <= estimate, not cost " + cost + ", estimate " + estimate);
        long allowed = Long.MAX_VALUE;
        for (RequestWindow window : windows)
            allowed = Math.min(allowed, window.limit * window.windowsTouched(from, to));
        for (TokenBucket bucket : buckets)
        {
            double tokens = bucket.capacity + bucket.capacity * (double)(to - from) / bucket.periodNanos;
            long byTokens = tokens < estimate ? 0 : (long)Math.floor((tokens - estimate) / cost + 1e-9) + 1;
            allowed = Math.min(allowed, byTokens);
        }
        return allowed;
    }
}
