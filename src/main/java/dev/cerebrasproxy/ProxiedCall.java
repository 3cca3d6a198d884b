package dev.cerebrasproxy;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * One client request on its way through the pool: what to send, which keys it may still
 * use, and what the failed attempts said. Used by one attempt at a time, so it needs
 * no locking; Jetty's callbacks order the hand-offs between threads.
 */
final class ProxiedCall
{
    final HttpServletRequest request;
    final HttpServletResponse response;
    final String target;
    final KeyPool.Rotation rotation;
    final long startNanos = System.nanoTime();
    /** The client's body, or null for a request without one. */
    RequestBody body;
    FlushingWriter writer;
    /** Failed attempts by upstream status; allocated only when an attempt fails. */
    private Map<Integer, Integer> failuresByStatus;
    /** Set when the call first waits for a key: it never waits past this. */
    private Instant waitDeadline;

    ProxiedCall(HttpServletRequest request, HttpServletResponse response, String target, KeyPool.Rotation rotation)
    {
        this.request = request;
        this.response = response;
        this.target = target;
        this.rotation = rotation;
    }

    void recordFailure(int status)
    {
        if (failuresByStatus == null)
            failuresByStatus = new TreeMap<>();
        failuresByStatus.merge(status, 1, Integer::sum);
    }

    /**
     * Whether this call may wait {@code wait} for a key to recover. All its waits together
     * stay within {@code grace} of the first, so a call never waits longer than that however
     * often the key it waited for is taken by another request first.
     */
    boolean mayWait(Instant now, Duration wait, Duration grace)
    {
        if (waitDeadline == null)
            waitDeadline = now.plus(grace);
        return !now.plus(wait).isAfter(waitDeadline);
    }

    /** E.g. "2 answered 429, 1 answered 500". */
    String failureSummary()
    {
        if (failuresByStatus == null)
            return "none failed";
        return failuresByStatus.entrySet().stream()
            .map(entry -> entry.getValue() + " answered " + entry.getKey())
            .collect(Collectors.joining(", "));
    }

    long elapsedMillis()
    {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
