package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the pool knows of one (organization, model) budget at Cerebras, which every key of
 * the organization draws on: whether it rests after a 429 or a spent window, what its
 * answers last reported of its tokens per minute, and what the requests in flight have
 * reserved of it. Cerebras refills tokens per minute continuously, so what is left now is
 * estimated from the last report plus the refill since, minus the reservations.
 *
 * <p>One lock per budget: a budget is touched by the requests of one organization and
 * model only, and each touch is a few arithmetic steps.
 */
final class Budget
{
    private static final Logger LOG = LoggerFactory.getLogger(Budget.class);


    final String organization;
    /** The model, or {@link Budgets#GENERAL} for requests that name none. */
    final String model;

    private Instant restUntil;
    private String lastError;
    private int strikes;

    /** From the last answer's x-ratelimit-*-tokens-minute headers; -1 while none said. */
    private long tokenLimit = -1;
    private long tokensRemaining = -1;
    private Instant tokensReportedAt;
    /** Estimates of requests sent with this budget whose answer has not come yet. */
    private long reserved;
    private int inFlight;
    /**
     * What the other replicas' requests in flight hold of this budget, by replica, as they
     * last said (see {@link Replicas#reserved}). A replica that says nothing for a window
     * (crashed, cut off) holds nothing from then on: upstream's own count covers its
     * requests by then.
     */
    private final java.util.Map<String, Held> othersReserved = new java.util.HashMap<>();

    private record Held(long tokens, Instant heardAt)
    {
    }

    /**
     * Requests per window, learnt: Cerebras sends no header for requests per minute, so when
     * a 429 request_quota_exceeded comes, the requests this budget sent in the window before
     * it are its limit, and the pool sends no more than that in any window from then on
     * instead of meeting the limit again each window. -1 until a 429 taught it.
     */
    private int learntRequestLimit = -1;
    /** When each request of the last window was sent (those not refused), oldest first. */
    private final ArrayDeque<Instant> sent = new ArrayDeque<>();
    private final Duration minute;

    Budget(String organization, String model, Duration minute)
    {
        this.organization = organization;
        this.model = model;
        this.minute = minute;
    }

    /** Whether a request estimated at {@code estimate} tokens may be sent with this budget now. */
    synchronized boolean fits(Instant now, long estimate)
    {
        if (restingAt(now) || !requestRoomAt(now))
            return false;
        long left = tokensLeft(now);
        return left < 0 || estimate <= left;
    }

    synchronized boolean restingAt(Instant now)
    {
        return restUntil != null && now.isBefore(restUntil);
    }

    /** When the budget can take a request of this estimate again; {@code now} if it can now. */
    synchronized Instant usableFrom(Instant now, long estimate)
    {
        Instant from = restingAt(now) ? restUntil : now;
        forgetSentBefore(now.minus(minute));
        if (learntRequestLimit > 0 && sent.size() >= learntRequestLimit)
        {
            // The oldest of the window's requests leaves it first; the one after it makes room.
            Instant room = sent.stream().skip(sent.size() - learntRequestLimit).findFirst().orElse(now).plus(minute);
            if (room.isAfter(from))
                from = room;
        }
        long left = tokensLeft(from);
        if (left >= 0 && estimate > left && tokenLimit > 0 && estimate <= tokenLimit)
        {
            // The bucket refills limit per minute: the missing tokens take their share of it.
            long missing = estimate - left;
            from = from.plusNanos((long)Math.ceil(missing * (double)minute.toNanos() / tokenLimit));
        }
        return from;
    }

    /**
     * Tokens this budget can still give now (the last report, refilled since, less what is
     * reserved), or -1 when no answer has reported them yet.
     */
    synchronized long tokensLeft(Instant now)
    {
        if (tokensRemaining < 0 || tokenLimit <= 0)
            return -1;
        long elapsed = Math.max(0, Duration.between(tokensReportedAt, now).toNanos());
        double refilled = tokenLimit * (elapsed / (double)minute.toNanos());
        long estimate = (long)Math.min(tokenLimit, tokensRemaining + refilled);
        return Math.max(0, estimate - reserved - othersReservedAt(now));
    }

    private long othersReservedAt(Instant now)
    {
        if (othersReserved.isEmpty())
            return 0;
        long held = 0;
        Instant since = now.minus(minute);
        for (java.util.Iterator<Held> each = othersReserved.values().iterator(); each.hasNext(); )
        {
            Held other = each.next();
            if (other.heardAt().isBefore(since))
                each.remove();
            else
                held += other.tokens();
        }
        return held;
    }

    /**
     * Another replica's requests in flight hold {@code tokens} now, and it sent {@code sends}
     * requests with this budget since it last said: they count in this replica's window too,
     * so a learnt requests-per-minute limit paces all replicas together.
     */
    synchronized void heardReserved(String replica, long tokens, int sends, Instant now)
    {
        if (tokens > 0)
            othersReserved.put(replica, new Held(tokens, now));
        else
            othersReserved.remove(replica);
        forgetSentBefore(now.minus(minute));
        for (int i = 0; i < sends; i++)
            sent.addLast(now);
    }

    /** Another replica's rest of this budget (the longer one wins), and its learnt limit if it has one. */
    synchronized void heardRest(Instant until, String why, int learntLimit)
    {
        restUntil(until, why);
        if (learntLimit > 0)
            learntRequestLimit = learntLimit;
    }

    /** The other replicas are out of reach: this replica goes on from what it knows itself. */
    synchronized void forgetOthers()
    {
        othersReserved.clear();
    }

    /** The whole tokens-per-minute limit, or -1 while unknown: no request above it can ever be admitted. */
    synchronized long tokenLimit()
    {
        return tokenLimit;
    }

    /** @return what this replica's requests in flight hold of the budget now */
    synchronized long reserve(long estimate, Instant now)
    {
        reserved += estimate;
        inFlight++;
        forgetSentBefore(now.minus(minute));
        sent.addLast(now);
        return reserved;
    }

    private boolean requestRoomAt(Instant now)
    {
        forgetSentBefore(now.minus(minute));
        return learntRequestLimit <= 0 || sent.size() < learntRequestLimit;
    }

    private void forgetSentBefore(Instant start)
    {
        while (!sent.isEmpty() && !sent.peekFirst().isAfter(start))
            sent.pollFirst();
    }

    /** The learnt requests per window, or -1. */
    synchronized int learntRequestLimit()
    {
        return learntRequestLimit;
    }

    /** The request's answer has come (or it failed): upstream's own count covers it from here. */
    /** @return what this replica's requests in flight still hold of the budget */
    synchronized long release(long estimate)
    {
        reserved = Math.max(0, reserved - estimate);
        inFlight = Math.max(0, inFlight - 1);
        return reserved;
    }

    /** What an answer's headers said of the tokens per minute, as of {@code now} (its attempt's send time); an older report is dropped. */
    synchronized void reportTokens(Instant now, long limit, long remaining)
    {
        if (limit > 0)
            tokenLimit = limit;
        if (remaining >= 0 && (tokensReportedAt == null || !now.isBefore(tokensReportedAt)))
        {
            tokensRemaining = remaining;
            tokensReportedAt = now;
        }
    }

    /** A request with this budget was served: guessed rests start short again. */
    synchronized void served()
    {
        strikes = 0;
    }

    /**
     * A 429 about this budget's quota. Upstream's announced recovery wins; else a guess that
     * doubles with each 429 in a row. A longer rest already under way is kept.
     */
    synchronized void rateLimited(Instant now, Duration announced, String code, CooldownPolicy policy)
    {
        // Requests per minute are a model's limit at Cerebras: the general state (no model) has
        // none to learn, and learning from its 429s throttled a pool that met random ones.
        if (RateLimitHeaders.REQUEST_QUOTA_EXCEEDED.equals(code) && !Budgets.GENERAL.equals(model))
            learnRequestLimit(now);
        strikes++;
        Duration rest = announced != null ? CooldownPolicy.trusted(announced) : policy.backoff(policy.rateLimited(), strikes);
        restUntil(now.plus(rest), code);
    }

    /**
     * A refused request counts against nothing at Cerebras: it leaves the window's count, and
     * what is left is what the window held. Learnt from the newest 429, so a limit that was
     * raised or lowered is followed.
     */
    private void learnRequestLimit(Instant now)
    {
        sent.pollLast();
        forgetSentBefore(now.minus(minute));
        int limit = Math.max(1, sent.size());
        if (limit != learntRequestLimit)
            LOG.info("budget {}/{}: learnt a limit of {} requests per {} from a 429 request_quota_exceeded; the pool sends no more than that in any such window",
                organization, model, limit, CooldownPolicy.readable(minute));
        learntRequestLimit = limit;
    }

    /** A served answer said a window has nothing left: rest until it resets, before any 429. */
    synchronized void exhausted(Instant now, Duration untilReset, String window)
    {
        restUntil(now.plus(CooldownPolicy.trusted(untilReset)), window + " exhausted");
    }

    private void restUntil(Instant until, String error)
    {
        if (restUntil == null || until.isAfter(restUntil))
            restUntil = until;
        lastError = error;
    }

    synchronized BudgetSnapshot snapshot(Instant now)
    {
        return new BudgetSnapshot(organization, model, restingAt(now) ? restUntil : null, lastError,
            tokenLimit, tokensLeft(now), inFlight, learntRequestLimit);
    }

    /** For a key's own snapshot: when this budget rests until, or null if it does not. */
    synchronized Instant restUntilAt(Instant now)
    {
        return restingAt(now) ? restUntil : null;
    }

    synchronized String lastError()
    {
        return lastError;
    }
}
