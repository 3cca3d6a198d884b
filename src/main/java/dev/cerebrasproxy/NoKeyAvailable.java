package dev.cerebrasproxy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The 503 the proxy answers when no key of its pool can serve a request, saying when to
 * come back: {@code Retry-After} in whole seconds (rounded up) and {@code retry-after-ms}
 * to the millisecond, both set to when the soonest key recovers. The official SDKs wait
 * {@code retry-after-ms}, then {@code Retry-After}, before they retry by themselves, so
 * they come back exactly when a key can serve again.
 */
final class NoKeyAvailable
{
    /**
     * The SDKs ignore a wait longer than this and retry after their own short backoff,
     * which could only meet this 503 again; past it, tell them not to retry at all.
     */
    static final Duration LONGEST_SDK_WAIT = Duration.ofSeconds(60);

    private NoKeyAvailable()
    {
    }

    /** The error and its headers (name, value, ...) for a call that found no key. */
    static Answer of(ProxiedCall call, KeyPool pool)
    {
        Duration wait = pool.untilAnyKeyRecovers();
        long millis = Math.max(1, wait.toMillis() + (wait.toNanosPart() % 1_000_000 == 0 ? 0 : 1));
        long seconds = Math.max(1, (millis + 999) / 1000);
        ProxyError error = ProxyError.server(503, "no_key_available",
            "No API key of the proxy's pool could serve this request (" + why(call) + "). Retry after " + seconds + " s.");
        List<String> headers = new ArrayList<>(List.of("Retry-After", Long.toString(seconds), "retry-after-ms", Long.toString(millis)));
        if (wait.compareTo(LONGEST_SDK_WAIT) > 0)
            headers.addAll(List.of("x-should-retry", "false"));
        return new Answer(error, headers.toArray(String[]::new));
    }

    /** E.g. "3 tried: 2 answered 429, 1 answered 500" or "none tried: 2 cooling, 1 quarantined". */
    private static String why(ProxiedCall call)
    {
        int tried = call.rotation.attempts();
        StringBuilder why = new StringBuilder();
        why.append(tried == 0 ? "none" : Integer.toString(tried)).append(" tried");
        if (tried > 0)
            why.append(": ").append(call.failureSummary());
        List<KeyState> untried = call.rotation.untriedStates();
        if (!untried.isEmpty())
        {
            Map<KeyState, Long> byState = new TreeMap<>(untried.stream().collect(Collectors.groupingBy(s -> s, Collectors.counting())));
            why.append(tried > 0 ? "; others " : ": ").append(byState.entrySet().stream()
                .map(entry -> entry.getValue() + " " + entry.getKey().label())
                .collect(Collectors.joining(", ")));
        }
        return why.toString();
    }

    record Answer(ProxyError error, String[] headers)
    {
    }
}
