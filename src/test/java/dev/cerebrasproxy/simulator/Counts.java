package dev.cerebrasproxy.simulator;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the simulator recorded for one key, one (organization, model) budget, or all
 * chat completion calls together.
 *
 * @param calls            chat completion requests received
 * @param admitted         requests that passed admission (and so count in the windows)
 * @param answered         admitted requests whose answer was completed and charged
 * @param byCode           refusals and failures by error code ({@code request_quota_exceeded}, ...)
 * @param byStatus         refusals and failures by HTTP status
 * @param tokensCharged    prompt plus completion tokens charged to the budgets
 */
public record Counts(long calls, long admitted, long answered, Map<String, Long> byCode, Map<Integer, Long> byStatus, long tokensCharged)
{
    public static final Counts NONE = new Counts(0, 0, 0, Map.of(), Map.of(), 0);

    public long code(String code)
    {
        return byCode.getOrDefault(code, 0L);
    }

    public long status(int status)
    {
        return byStatus.getOrDefault(status, 0L);
    }

    /** Every 429, whatever its code. */
    public long tooManyRequests()
    {
        return status(429);
    }

    /** Accumulates one subject's counts; thread-safe. */
    static final class Tally
    {
        private long calls;
        private long admitted;
        private long answered;
        private final Map<String, Long> byCode = new TreeMap<>();
        private final Map<Integer, Long> byStatus = new TreeMap<>();
        private long tokensCharged;

        synchronized void call()
        {
            calls++;
        }

        synchronized void admitted()
        {
            admitted++;
        }

        synchronized void answered(long tokens)
        {
            answered++;
            tokensCharged += tokens;
        }

        synchronized void refused(int status, String code)
        {
            byStatus.merge(status, 1L, Long::sum);
            byCode.merge(code, 1L, Long::sum);
        }

        synchronized Counts snapshot()
        {
            return new Counts(calls, admitted, answered, Collections.unmodifiableMap(new TreeMap<>(byCode)),
                Collections.unmodifiableMap(new TreeMap<>(byStatus)), tokensCharged);
        }
    }
}
