package dev.cerebrasproxy;

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
    /** Writes to the client; listening from the start, so every write is non-blocking. */
    FlushingWriter writer;
    /** Failed attempts by upstream status; allocated only when an attempt fails. */
    private Map<Integer, Integer> failuresByStatus;
    private long soonestRetryAfterSeconds = -1;

    ProxiedCall(HttpServletRequest request, HttpServletResponse response, String target, KeyPool.Rotation rotation)
    {
        this.request = request;
        this.response = response;
        this.target = target;
        this.rotation = rotation;
    }

    void recordFailure(int status, long retryAfterSeconds)
    {
        if (failuresByStatus == null)
            failuresByStatus = new TreeMap<>();
        failuresByStatus.merge(status, 1, Integer::sum);
        if (retryAfterSeconds >= 0 && (soonestRetryAfterSeconds < 0 || retryAfterSeconds < soonestRetryAfterSeconds))
            soonestRetryAfterSeconds = retryAfterSeconds;
    }

    /** When a client should come back: the soonest any key said it recovers, else a second. */
    long retryAfterSeconds()
    {
        return soonestRetryAfterSeconds >= 0 ? Math.max(1, soonestRetryAfterSeconds) : 1;
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
