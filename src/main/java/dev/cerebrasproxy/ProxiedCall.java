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
    /** The client's name from its token, or {@link ClientTokens#ANONYMOUS} when the proxy is open. */
    final String client;
    /** Whether the answer going to the client is an event stream. */
    boolean streaming;
    boolean firstEventSeen;
    /** Reads the answer's token usage as it passes, or null when the answer cannot report any. */
    UsageScanner usage;
    /** The client's body, or null for a request without one. */
    RequestBody body;
    /** Writes to the client; listening from the start, so every write is non-blocking. */
    FlushingWriter writer;
    /** The key of the attempt whose answer is going to the client. */
    ApiKey answeringKey;
    /** Whether that answer is sent decoded, so its coding headers no longer apply. */
    boolean decoded;
    /** Failed attempts by what happened ("answered 429", "unreachable"); allocated on the first failure. */
    private Map<String, Integer> failures;
    private static final String UNREACHABLE = "unreachable";
    /** Set when the call first waits for a key: it never waits past this. */
    private Instant waitDeadline;

    ProxiedCall(HttpServletRequest request, HttpServletResponse response, String target, KeyPool.Rotation rotation, String client)
    {
        this.client = client;
        this.request = request;
        this.response = response;
        this.target = target;
        this.rotation = rotation;
    }

    /** An attempt that upstream answered with a status about the key. */
    void recordFailure(int status)
    {
        recordFailure("answered " + status);
    }

    /** An attempt that got no answer at all: refused, or closed before a response byte. */
    void recordUnreachable()
    {
        recordFailure(UNREACHABLE);
    }

    private void recordFailure(String outcome)
    {
        if (failures == null)
            failures = new TreeMap<>();
        failures.merge(outcome, 1, Integer::sum);
    }

    /** True when no attempt got an answer: upstream itself is down, not the keys. */
    boolean onlyUnreachable()
    {
        return failures != null && failures.size() == 1 && failures.containsKey(UNREACHABLE);
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

    /** E.g. "2 answered 429, 1 unreachable". */
    String failureSummary()
    {
        if (failures == null)
            return "none failed";
        return failures.entrySet().stream()
            .map(entry -> entry.getValue() + " " + entry.getKey())
            .collect(Collectors.joining(", "));
    }

    long elapsedMillis()
    {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }
}
