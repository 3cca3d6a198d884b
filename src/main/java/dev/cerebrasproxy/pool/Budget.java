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
     * Requests per window, learnt: Cerebras sends no header for requests per minute, so when
     * a 429 request_quota_exceeded comes, the requests this budget sent in the window before
     * it are its limit, and the pool sends no more than that in any window from then on
     * instead of meeting the limit again each window. -1 until a 429 taught it.
     */
    private int learntRequestLimit = -1;
    /** Each request of the last window (those not refused), oldest first. */
    private final ArrayDeque<Sent> sent = new ArrayDeque<>();

    /**
     * A request sent with this budget: when, and the tokens the pool believed left just
     * before (for the record of a 429); with replicas, what their shared window held before
     * it and its name there ({@link Admission}), or -1 and null.
     */
    private static final class Sent
    {
        private final Instant at;
        private final long tokensLeft;
        private int sharedBefore = -1;
        private String ticket;

        Sent(Instant at, long tokensLeft)
        {
            this.at = at;
            this.tokensLeft = tokensLeft;
        }

        Instant at()
        {
            return at;
        }

        long tokensLeft()
        {
            return tokensLeft;
        }
    }
    private final Duration minute;
    /**
     * When upstream said (retry-after) the window that refused a request has room again:
     * then the requests sent before it have left upstream's window, whatever the pool's own
     * sliding count says. Null when none was announced.
     */
    private Instant windowFreesAt;
    /**
     * A learnt limit is only what one window held, and upstream may raise the limit (or the
     * window counted other users' requests), so the pool tries one request more after
     * {@link #windowsBeforeProbe} windows in which the limit held requests back without a
     * 429. A try that meets no 429 in its window is followed by one twice as large in the
     * next, so a limit learnt far too low climbs back in a few windows; a try that meets a
     * 429 (one wasted call per step of it) doubles the wait before the next, so a limit
     * learnt right costs a wasted call ever more rarely. One request at a time: raising the
     * limit by many at once sent them all into a window that was full (15 429s in one
     * capacity run). The first try comes after one window, not four: limits were learnt one
     * or two short (an admitted request reordered past the refused one) and four windows
     * were the capacity run's whole interval, so a budget stayed short for all of it.
     */
    private int windowsBeforeProbe = FIRST_PROBE_WINDOWS;
    static final int FIRST_PROBE_WINDOWS = 1;
    static final int LONGEST_PROBE_WINDOWS = 64;
    /** When the limit was last learnt or raised; the last raise, 0 when none is unconfirmed. */
    private Instant limitSetAt;
    private int probeStep;
    /** The last time the learnt limit held a request back: only a limit that binds is worth raising. */
    private Instant heldBackAt;
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
    }

    /** Whether a request estimated at {@code estimate} tokens may be sent with this budget now. */
    synchronized boolean fits(Instant now, long estimate)
    {
        if (restingAt(now) || !requestRoomAt(now) || !reportedRequestRoomAt(now) || fullForReplicasAt(now))
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
        forgetSent(now);
        if (learntRequestLimit > 0 && sent.size() >= learntRequestLimit)
        {
            // The oldest of the window's requests leaves it first; the one after it makes room,
            // unless upstream announced its window frees sooner.
            Instant room = sent.stream().skip(sent.size() - learntRequestLimit).findFirst().map(Sent::at).orElse(now).plus(minute);
            if (windowFreesAt != null && windowFreesAt.isBefore(room))
                room = windowFreesAt;
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
        forgetSentBefore(now.minus(minute));
        for (int i = 0; i < sends; i++)
            sent.addLast(new Sent(now, -1));
    }

    /** Another replica's rest of this budget (the longer one wins), and its learnt limit if it has one. */
    synchronized void heardRest(Instant now, Instant until, String why, int learntLimit)
    {
        restUntil(until, why);
        if (learntLimit <= 0)
            return;
        // Another replica met the limit: its 429 answers this replica's try as well, and the
        // next try is timed from now, as the others' are; tries timed apart were a wasted call each.
        if (probeStep > 0)
            windowsBeforeProbe = Math.min(LONGEST_PROBE_WINDOWS, windowsBeforeProbe * 2);
        probeStep = 0;
        learntRequestLimit = learntLimit;
        limitSetAt = now;
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
        forgetSent(now);
        if (learntRequestLimit > 0 && 4L * sent.size() > 3L * learntRequestLimit)
            return true;
        long left = tokensLeft(now);
        return left >= 0 && tokenLimit > 0 && 4 * left < tokenLimit;
    }

    /** The replicas admitted the request this replica sent at {@code sentAt}, their window holding {@code sharedBefore} before it. */
    synchronized void admittedByReplicas(Instant sentAt, int sharedBefore, String ticket)
    {
        Sent admitted = sentAsOf(sentAt);
        if (admitted == null)
            return;
        admitted.sharedBefore = sharedBefore;
        admitted.ticket = ticket;
    }

    /**
     * The replicas together refused a request this replica sent at {@code sentAt}: it never
     * went, so it leaves this replica's window, and the budget takes none until {@code until}
     * (at least a millisecond on, so a refusal cannot be asked again at once).
     */
    synchronized void refusedByReplicas(Instant sentAt, Instant until)
    {
        Sent refused = sentAsOf(sentAt);
        if (refused != null)
            sent.removeLastOccurrence(refused);
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
        forgetSent(now);
        sent.addLast(new Sent(now, left));
        return reserved;
    }

    private boolean requestRoomAt(Instant now)
    {
        forgetSent(now);
        if (learntRequestLimit <= 0)
            return true;
        probeIfDue(now);
        if (sent.size() < learntRequestLimit)
            return true;
        heldBackAt = now;
        return false;
    }

    /**
     * Forgets the requests that have left the window as of {@code now}: those older than a
     * minute, and once upstream's announced recovery has come, all sent before it.
     */
    private void forgetSent(Instant now)
    {
        forgetSentBefore(now.minus(minute));
        if (windowFreesAt != null && !now.isBefore(windowFreesAt))
        {
            while (!sent.isEmpty() && sent.peekFirst().at().isBefore(windowFreesAt))
                sent.pollFirst();
            windowFreesAt = null;
        }
    }

    private void forgetSentBefore(Instant start)
    {
        while (!sent.isEmpty() && !sent.peekFirst().at().isAfter(start))
            sent.pollFirst();
    }

    /** When the learnt limit has held requests back for long enough without a 429, tries more. */
    private void probeIfDue(Instant now)
    {
        if (heldBackAt == null || limitSetAt == null || heldBackAt.isBefore(limitSetAt))
            return;
        int windows = probeStep > 0 ? 1 : windowsBeforeProbe;
        if (now.isBefore(limitSetAt.plus(minute.multipliedBy(windows))))
            return;
        probeStep = probeStep > 0 ? probeStep * 2 : 1;
        LOG.info("budget {}/{}: no 429 in {} at {} requests per {}; trying {}", organization, model,
            CooldownPolicy.readable(minute.multipliedBy(windows)), learntRequestLimit, CooldownPolicy.readable(minute), learntRequestLimit + probeStep);
        learntRequestLimit += probeStep;
        limitSetAt = now;
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
        Sent attempt = sentAsOf(sentAt);
        LOG.debug("budget {}/{}: 429 {} for an attempt sent {} ms ago; upstream had {} tokens left, the pool believed {} before it reserved;"
                + " now {} reserved by {} in flight, {} sent in the last minute, learnt limit {}",
            organization, model, code, Duration.between(sentAt, now).toMillis(), upstreamRemaining, attempt == null ? "?" : attempt.tokensLeft(),
            reserved, inFlight, sent.size(), learntRequestLimit);
    }

    /** The request sent latest no later than an attempt's send: the attempt's own (its reservation comes just before). */
    private Sent sentAsOf(Instant sentAt)
    {
        Sent found = null;
        for (Sent each : sent)
        {
            if (each.at().isAfter(sentAt))
                break;
            found = each;
        }
        return found;
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
        Sent refused = sentAsOf(sentAt);
        String ticket = refused == null ? null : refused.ticket;
        // Requests per minute are a model's limit at Cerebras: the general state (no model) has
        // none to learn, and learning from its 429s throttled a pool that met random ones.
        if (RateLimitHeaders.REQUEST_QUOTA_EXCEEDED.equals(code) && !Budgets.GENERAL.equals(model))
        {
            learnRequestLimit(sentAt, now);
            if (announced != null)
                windowFreesAt = now.plus(CooldownPolicy.trusted(announced));
        }
        // The other attempts on their way when a 429 came meet it too: one strike for them all,
        // else a burst of them doubled the guessed rest to its longest (60 s) in one go.
        if (lastStrikeAt == null || !sentAt.isBefore(lastStrikeAt))
            strikes++;
        lastStrikeAt = now;
        Duration rest = announced != null ? CooldownPolicy.trusted(announced) : policy.backoff(policy.rateLimited(), strikes);
        restUntil(now.plus(rest), code);
        return ticket;
    }

    /**
     * A refused request counts against nothing at Cerebras: it leaves the window's count, and
     * what is left is what the window held. Learnt from the newest 429, so a limit that was
     * raised or lowered is followed.
     */
    private void learnRequestLimit(Instant sentAt, Instant now)
    {
        // Only what left the window before the attempt was sent: the 429 may be handled late.
        forgetSentBefore(sentAt.minus(minute));
        // The refused request itself: the latest sent no later than its attempt.
        Sent refused = sentAsOf(sentAt);
        if (refused != null)
            sent.removeLastOccurrence(refused);
        Instant windowStart = sentAt.minus(minute);
        int held = (int)sent.stream().filter(each -> each.at().isAfter(windowStart) && !each.at().isAfter(sentAt)).count();
        // With replicas, their shared window counted every replica's sends atomically: this
        // replica's own copy hears the others' a round trip late (limits of 21 and 22 learnt
        // for a true 20).
        if (refused != null && refused.sharedBefore >= 0)
            held = refused.sharedBefore;
        int limit = Math.max(1, held);
        // A 429 never raises a learnt limit; only a try that met none does. A sliding count
        // against upstream's windows counts sends of the window before, and a burst's attempts
        // counted each other: limits of 21 to 23 were learnt for a true 20. So a refused try goes
        // back to what held before it, and an attempt already on its way when the limit was
        // learnt (it met the same full window) cannot lift it.
        if (learntRequestLimit > 0)
            limit = Math.max(1, Math.min(limit, learntRequestLimit - probeStep));
        if (probeStep > 0)
            windowsBeforeProbe = Math.min(LONGEST_PROBE_WINDOWS, windowsBeforeProbe * 2);
        probeStep = 0;
        if (limit != learntRequestLimit)
            LOG.info("budget {}/{}: learnt a limit of {} requests per {} from a 429 request_quota_exceeded; the pool sends no more than that in any such window",
                organization, model, limit, CooldownPolicy.readable(minute));
        learntRequestLimit = limit;
        limitSetAt = now;
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
