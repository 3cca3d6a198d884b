package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The requests-per-minute side of one {@link Budget}: the requests it sent in the last
 * window, and the limit learnt from Cerebras's 429s, since Cerebras sends no header for
 * requests per minute. When a 429 request_quota_exceeded comes, the requests the budget
 * sent in the window before it are its limit, and the pool sends no more than that in any
 * window from then on instead of meeting the limit again each window.
 *
 * <p>Not thread-safe: its budget's lock guards it.
 */
final class RequestWindow
{
    private static final Logger LOG = LoggerFactory.getLogger(RequestWindow.class);

    static final int FIRST_PROBE_WINDOWS = 1;
    static final int LONGEST_PROBE_WINDOWS = 64;

    private final String organization;
    private final String model;
    private final Duration minute;

    /** -1 until a 429 taught it. */
    private int learntLimit = -1;
    /** Each request of the last window (those not refused), oldest first. */
    private final ArrayDeque<Sent> sent = new ArrayDeque<>();
    /**
     * When upstream said (retry-after) the window that refused a request has room again:
     * then the requests sent before it have left upstream's window, whatever the pool's own
     * sliding count says. Null when none was announced.
     */
    private Instant freesAt;
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
    /** When the limit was last learnt or raised; the last raise, 0 when none is unconfirmed. */
    private Instant limitSetAt;
    private int probeStep;
    /** The last time the learnt limit held a request back: only a limit that binds is worth raising. */
    private Instant heldBackAt;

    /**
     * A request sent with the budget: when, and the tokens the pool believed left just
     * before (for the record of a 429); with replicas, what their shared window held before
     * it and its name there ({@link Admission}), or -1 and null.
     */
    static final class Sent
    {
        private final Instant at;
        private final long tokensLeft;
        private int sharedBefore = -1;
        private String ticket;

        private Sent(Instant at, long tokensLeft)
        {
            this.at = at;
            this.tokensLeft = tokensLeft;
        }

        long tokensLeft()
        {
            return tokensLeft;
        }

        String ticket()
        {
            return ticket;
        }
    }

    RequestWindow(String organization, String model, Duration minute)
    {
        this.organization = organization;
        this.model = model;
        this.minute = minute;
    }

    /** The learnt requests per window, or -1. */
    int learntLimit()
    {
        return learntLimit;
    }

    /** Requests counted in the window, as of when it last looked (for the record; it forgets nothing). */
    int counted()
    {
        return sent.size();
    }

    /** A request went with the budget now, the pool believing {@code tokensLeft} before it. */
    void add(Instant now, long tokensLeft)
    {
        forget(now);
        sent.addLast(new Sent(now, tokensLeft));
    }

    /** Another replica sent {@code sends} requests with the budget since it last said: they count here too. */
    void addOthers(Instant now, int sends)
    {
        forgetBefore(now.minus(minute));
        for (int i = 0; i < sends; i++)
            sent.addLast(new Sent(now, -1));
    }

    /** Whether the learnt limit (if any) leaves room for one more now; tries more when one is due. */
    boolean hasRoomAt(Instant now)
    {
        forget(now);
        if (learntLimit <= 0)
            return true;
        probeIfDue(now);
        if (sent.size() < learntLimit)
            return true;
        heldBackAt = now;
        return false;
    }

    /** When the window has room for one more request, no earlier than {@code from}. */
    Instant roomFrom(Instant now, Instant from)
    {
        forget(now);
        if (learntLimit <= 0 || sent.size() < learntLimit)
            return from;
        // The oldest of the window's requests leaves it first; the one after it makes room,
        // unless upstream announced its window frees sooner.
        Instant room = sent.stream().skip(sent.size() - learntLimit).findFirst().map(each -> each.at).orElse(now).plus(minute);
        if (freesAt != null && freesAt.isBefore(room))
            room = freesAt;
        return room.isAfter(from) ? room : from;
    }

    /** Whether the window is in the last quarter of its learnt limit. */
    boolean nearItsLimit(Instant now)
    {
        forget(now);
        return learntLimit > 0 && 4L * sent.size() > 3L * learntLimit;
    }

    /** Another replica met the limit and learnt {@code limit}: its 429 answers this replica's try as well. */
    void heardLimit(Instant now, int limit)
    {
        // The next try is timed from now, as the others' are; tries timed apart were a wasted call each.
        if (probeStep > 0)
            windowsBeforeProbe = Math.min(LONGEST_PROBE_WINDOWS, windowsBeforeProbe * 2);
        probeStep = 0;
        learntLimit = limit;
        limitSetAt = now;
    }

    /** The replicas admitted the request sent at {@code sentAt}, their window holding {@code sharedBefore} before it. */
    void admittedByReplicas(Instant sentAt, int sharedBefore, String ticket)
    {
        Sent admitted = sentAsOf(sentAt);
        if (admitted == null)
            return;
        admitted.sharedBefore = sharedBefore;
        admitted.ticket = ticket;
    }

    /** The request sent at {@code sentAt} never went: it leaves the window. */
    void remove(Instant sentAt)
    {
        Sent refused = sentAsOf(sentAt);
        if (refused != null)
            sent.removeLastOccurrence(refused);
    }

    /** The request sent latest no later than an attempt's send: the attempt's own (its reservation comes just before). */
    Sent sentAsOf(Instant sentAt)
    {
        Sent found = null;
        for (Sent each : sent)
        {
            if (each.at.isAfter(sentAt))
                break;
            found = each;
        }
        return found;
    }

    /**
     * A 429 request_quota_exceeded for the attempt sent at {@code sentAt}, handled at
     * {@code now}, with upstream's announced recovery or null. A refused request counts
     * against nothing at Cerebras: it leaves the window's count, and what is left is what
     * the window held. Learnt from the newest 429, so a limit that was raised or lowered is
     * followed.
     */
    void refused(Instant sentAt, Instant now, Duration announced)
    {
        // Only what left the window before the attempt was sent: the 429 may be handled late.
        forgetBefore(sentAt.minus(minute));
        // The refused request itself: the latest sent no later than its attempt.
        Sent refused = sentAsOf(sentAt);
        if (refused != null)
            sent.removeLastOccurrence(refused);
        Instant windowStart = sentAt.minus(minute);
        int held = (int)sent.stream().filter(each -> each.at.isAfter(windowStart) && !each.at.isAfter(sentAt)).count();
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
        if (learntLimit > 0)
            limit = Math.max(1, Math.min(limit, learntLimit - probeStep));
        if (probeStep > 0)
            windowsBeforeProbe = Math.min(LONGEST_PROBE_WINDOWS, windowsBeforeProbe * 2);
        probeStep = 0;
        if (limit != learntLimit)
            LOG.info("budget {}/{}: learnt a limit of {} requests per {} from a 429 request_quota_exceeded; the pool sends no more than that in any such window",
                organization, model, limit, CooldownPolicy.readable(minute));
        learntLimit = limit;
        limitSetAt = now;
        if (announced != null)
            freesAt = now.plus(CooldownPolicy.trusted(announced));
    }

    /**
     * Forgets the requests that have left the window as of {@code now}: those older than a
     * minute, and once upstream's announced recovery has come, all sent before it.
     */
    private void forget(Instant now)
    {
        forgetBefore(now.minus(minute));
        if (freesAt != null && !now.isBefore(freesAt))
        {
            while (!sent.isEmpty() && sent.peekFirst().at.isBefore(freesAt))
                sent.pollFirst();
            freesAt = null;
        }
    }

    private void forgetBefore(Instant start)
    {
        while (!sent.isEmpty() && !sent.peekFirst().at.isAfter(start))
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
            CooldownPolicy.readable(minute.multipliedBy(windows)), learntLimit, CooldownPolicy.readable(minute), learntLimit + probeStep);
        learntLimit += probeStep;
        limitSetAt = now;
    }
}
