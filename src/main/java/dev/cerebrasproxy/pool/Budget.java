package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the pool knows of one (organization, model) budget at Cerebras, which every key of
 * the organization draws on: whether it rests after a 429 or a spent window, what its
 * answers last reported of its tokens per minute, and what the requests in flight have
 * reserved of it. Cerebras refills tokens per minute continuously, so what is left now is
 * estimated from the last report plus the refill since, minus the reservations. Its
 * requests per minute, which no header reports, are its {@link RequestWindow}'s.
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
    private final Duration minute;
    /** Its requests per minute: what it sent lately, and the limit learnt from 429s. */
    private final RequestWindow requests;

    private Instant restUntil;
    private String lastError;
    private int strikes;

    /** From the last answer's x-ratelimit-*-tokens-minute headers; -1 while none said. */
    private long tokenLimit = -1;
    private long tokensRemaining = -1;
    /**
     * When the answer that brought the held report came: what it is refilled from. Upstream
     * counted it at some moment between its attempt's send and then; refilling from the
     * send counted, under load, a hundred tokens and more that upstream had not refilled
     * (a token 429 each), while from the answer the pool only errs by less than that.
     */
    private Instant tokensReceivedAt;
    /** The request window reported with the least left (per day, per hour): how many, until when; -1 while none said. */
    private long requestsLeft = -1;
    private Instant requestsResetAt;
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
     * Until when the replicas together found this budget full ({@link Replicas#admit}):
     * this replica's own view may not know yet what the others sent or hold.
     */
    private Instant fullForReplicasUntil;
    /** When the last 429 of the current run was handled: a 429 of an attempt sent before it is the same news, not one more strike. */
    private Instant lastStrikeAt;

    Budget(String organization, String model, Duration minute)
    {
        this.organization = organization;
        this.model = model;
        this.minute = minute;
        this.requests = new RequestWindow(organization, model, minute);
    }

    /** Whether a request estimated at {@code estimate} tokens may be sent with this budget now. */
    synchronized boolean fits(Instant now, long estimate)
    {
        if (restingAt(now) || !requests.hasRoomAt(now) || !reportedRequestRoomAt(now) || fullForReplicasAt(now))
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
        if (fullForReplicasAt(now) && fullForReplicasUntil.isAfter(from))
            from = fullForReplicasUntil;
        from = requests.roomFrom(now, from);
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
        long elapsed = Math.max(0, Duration.between(tokensReceivedAt, now).toNanos());
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
        requests.addOthers(now, sends);
    }

    /** Another replica's rest of this budget (the longer one wins), and its learnt limit if it has one. */
    synchronized void heardRest(Instant now, Instant until, String why, int learntLimit)
    {
        restUntil(until, why);
        if (learntLimit <= 0)
            return;
        requests.heardLimit(now, learntLimit);
    }

    /** The other replicas are out of reach: this replica goes on from what it knows itself. */
    synchronized void forgetOthers()
    {
        othersReserved.clear();
    }

    /**
     * Whether the request windows upstream reports (per day, per hour) have room for one
     * more beside the requests in flight: a window that reported 3 left with 3 requests on
     * their way has none, though no answer has said 0 yet (those requests met a full day in
     * a burst of 429s, 16 in one capacity run). Some in flight may be counted in the report
     * already: the pool errs on the side of one request waiting for the next answer.
     */
    private boolean reportedRequestRoomAt(Instant now)
    {
        if (requestsLeft < 0 || requestsResetAt == null)
            return true;
        if (!now.isBefore(requestsResetAt))
        {
            requestsLeft = -1;
            return true;
        }
        return requestsLeft > inFlight;
    }

    /**
     * What an answer said is left of a request window (the one with the least left), until
     * when. Counts only go down within a window: of reports before its reset, the lowest.
     */
    synchronized void reportRequests(Instant now, long remaining, Duration untilReset)
    {
        if (remaining < 0 || untilReset == null)
            return;
        Instant reset = now.plus(CooldownPolicy.trusted(untilReset));
        if (requestsLeft < 0 || requestsResetAt == null || !now.isBefore(requestsResetAt) || remaining <= requestsLeft)
        {
            requestsLeft = remaining;
            requestsResetAt = reset;
        }
    }

    /** The whole tokens-per-minute limit, or -1 while unknown: no request above it can ever be admitted. */
    synchronized long tokenLimit()
    {
        return tokenLimit;
    }

    private boolean fullForReplicasAt(Instant now)
    {
        return fullForReplicasUntil != null && now.isBefore(fullForReplicasUntil);
    }

    /** The window the requests-per-minute limit counts over (PROXY_MINUTE_MS). */
    Duration window()
    {
        return minute;
    }

    /**
     * Whether an attempt just reserved leaves this budget, as this replica sees it, in the
     * last quarter of its learnt request limit or of its token limit: only there can the
     * other replicas' attempts of the last round trip, not heard yet, fill it. Elsewhere an
     * attempt goes without waiting for the replicas' check (and is counted behind it).
     */
    synchronized boolean nearItsLimit(Instant now)
    {
        if (requests.nearItsLimit(now))
            return true;
        long left = tokensLeft(now);
        return left >= 0 && tokenLimit > 0 && 4 * left < tokenLimit;
    }

    /** The replicas admitted the request this replica sent at {@code sentAt}, their window holding {@code sharedBefore} before it. */
    synchronized void admittedByReplicas(Instant sentAt, int sharedBefore, String ticket)
    {
        requests.admittedByReplicas(sentAt, sharedBefore, ticket);
    }

    /**
     * The replicas together refused a request this replica sent at {@code sentAt}: it never
     * went, so it leaves this replica's window, and the budget takes none until {@code until}
     * (at least a millisecond on, so a refusal cannot be asked again at once).
     */
    synchronized void refusedByReplicas(Instant sentAt, Instant until)
    {
        requests.remove(sentAt);
        Instant least = sentAt.plusMillis(1);
        Instant next = until == null || until.isBefore(least) ? least : until;
        if (fullForReplicasUntil == null || next.isAfter(fullForReplicasUntil))
            fullForReplicasUntil = next;
    }

    /** @return what this replica's requests in flight hold of the budget now */
    synchronized long reserve(long estimate, Instant now)
    {
        long left = tokensLeft(now);
        reserved += estimate;
        inFlight++;
        requests.add(now, left);
        return reserved;
    }

    /** The learnt requests per window, or -1. */
    synchronized int learntRequestLimit()
    {
        return requests.learntLimit();
    }

    /**
     * The request's answer has come (or it failed): upstream's own count covers it from here.
     *
     * @return what this replica's requests in flight still hold of the budget
     */
    synchronized long release(long estimate)
    {
        reserved = Math.max(0, reserved - estimate);
        inFlight = Math.max(0, inFlight - 1);
        return reserved;
    }

    /**
     * What an answer's headers said of the tokens per minute: upstream counted them at some
     * moment between {@code sentAt}, when the attempt went, and {@code receivedAt}, when its
     * answer came. A report from an attempt sent after the held one came is later news and
     * replaces it. Reports of attempts that were on their way at once are counted by
     * upstream in an order the pool cannot see: the one that leaves fewer tokens now is kept,
     * since it has counted more of the others (keeping the one sent last, as before, lost the
     * estimate of an attempt upstream took after it, whose reservation was already released:
     * one token 429 each).
     */
    synchronized void reportTokens(Instant sentAt, Instant receivedAt, long limit, long remaining)
    {
        if (limit > 0)
            tokenLimit = limit;
        if (remaining < 0)
            return;
        boolean later = tokensReceivedAt == null || !sentAt.isBefore(tokensReceivedAt);
        if (later || remaining <= projected(tokensRemaining, tokensReceivedAt, receivedAt))
        {
            tokensRemaining = remaining;
            tokensReceivedAt = receivedAt;
        }
    }

    /** What a report of {@code remaining} as of {@code at} has become by {@code now} with the refill. */
    private double projected(long remaining, Instant at, Instant now)
    {
        if (tokenLimit <= 0)
            return remaining;
        long elapsed = Math.max(0, Duration.between(at, now).toNanos());
        return Math.min(tokenLimit, remaining + tokenLimit * (elapsed / (double)minute.toNanos()));
    }

    /**
     * What the pool believed of this budget when it sent an attempt that upstream refused
     * with a quota 429 (logged at debug, before the 429's own report is taken): where a
     * wasted call came from.
     */
    synchronized void explainRefusal(Instant sentAt, Instant now, String code, long upstreamRemaining)
    {
        if (!LOG.isDebugEnabled())
            return;
        RequestWindow.Sent attempt = requests.sentAsOf(sentAt);
        LOG.debug("budget {}/{}: 429 {} for an attempt sent {} ms ago; upstream had {} tokens left, the pool believed {} before it reserved;"
                + " now {} reserved by {} in flight, {} sent in the last minute, learnt limit {}",
            organization, model, code, Duration.between(sentAt, now).toMillis(), upstreamRemaining, attempt == null ? "?" : attempt.tokensLeft(),
            reserved, inFlight, requests.counted(), requests.learntLimit());
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
        rateLimited(now, now, announced, code, policy);
    }

    /**
     * As above, for an attempt sent at {@code sentAt}: upstream counted its window then, however late the 429 is handled.
     *
     * @return the refused attempt's name in the replicas' shared window, to take out of it; null if it has none
     */
    synchronized String rateLimited(Instant sentAt, Instant now, Duration announced, String code, CooldownPolicy policy)
    {
        RequestWindow.Sent refused = requests.sentAsOf(sentAt);
        String ticket = refused == null ? null : refused.ticket();
        // Requests per minute are a model's limit at Cerebras: the general state (no model) has
        // none to learn, and learning from its 429s throttled a pool that met random ones.
        if (RateLimitHeaders.REQUEST_QUOTA_EXCEEDED.equals(code) && !Budgets.GENERAL.equals(model))
            requests.refused(sentAt, now, announced);
        // The other attempts on their way when a 429 came meet it too: one strike for them all,
        // else a burst of them doubled the guessed rest to its longest (60 s) in one go.
        if (lastStrikeAt == null || !sentAt.isBefore(lastStrikeAt))
            strikes++;
        lastStrikeAt = now;
        Duration rest = announced != null ? CooldownPolicy.trusted(announced) : policy.backoff(policy.rateLimited(), strikes);
        restUntil(now.plus(rest), code);
        return ticket;
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
            tokenLimit, tokensLeft(now), inFlight, requests.learntLimit());
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
