package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What one upstream answer's headers say about when its key recovers: Cerebras's
 * {@code x-ratelimit-(limit|remaining|reset)-(requests|tokens)-(minute|hour|day)} windows
 * (resets are float seconds from now, e.g. {@code 33011.38}) and {@code retry-after-ms} /
 * {@code Retry-After} (seconds or an HTTP date).
 */
final class RateLimitHeaders
{
    static final String REQUEST_QUOTA_EXCEEDED = "request_quota_exceeded";
    static final String TOKEN_QUOTA_EXCEEDED = "token_quota_exceeded";

    private static final String PREFIX = "x-ratelimit-";

    /** One window of a key's limits, e.g. requests per day; -1 or null where a header was missing. */
    record Window(String resource, String period, long remaining, Duration reset, long limit)
    {
        String name()
        {
            return resource + "-" + period;
        }

        boolean isExhausted()
        {
            return remaining == 0 && reset != null;
        }
    }

    private final Map<String, Window> windows;
    private final Duration retryAfter;

    private RateLimitHeaders(Map<String, Window> windows, Duration retryAfter)
    {
        this.windows = windows;
        this.retryAfter = retryAfter;
    }

    /** @param now for a {@code Retry-After} given as a date */
    static RateLimitHeaders read(UpstreamHeaders headers, Instant now)
    {
        Map<String, Window> windows = new LinkedHashMap<>();
        // The first of each, as a client library would read them.
        String[] retryAfterMs = new String[1];
        String[] retryAfter = new String[1];
        headers.forEach((name, value) ->
        {
            if (name.regionMatches(true, 0, PREFIX, 0, PREFIX.length()))
                addTo(windows, name.substring(PREFIX.length()).toLowerCase(Locale.ROOT), value);
            else if (retryAfterMs[0] == null && name.equalsIgnoreCase("retry-after-ms"))
                retryAfterMs[0] = value;
            else if (retryAfter[0] == null && name.equalsIgnoreCase("retry-after"))
                retryAfter[0] = value;
        });
        Duration wait = millis(retryAfterMs[0]);
        return new RateLimitHeaders(windows, wait != null ? wait : retryAfter(retryAfter[0], now));
    }

    /** {@code rest} is like {@code remaining-requests-day}. */
    private static void addTo(Map<String, Window> windows, String rest, String value)
    {
        String[] parts = rest.split("-");
        if (parts.length != 3 || !(parts[0].equals("remaining") || parts[0].equals("reset") || parts[0].equals("limit")))
            return;
        Window known = windows.getOrDefault(parts[1] + "-" + parts[2], new Window(parts[1], parts[2], -1, null, -1));
        Double number = number(value);
        if (number == null || number < 0)
            return;
        Window updated = switch (parts[0])
        {
            case "remaining" -> new Window(known.resource(), known.period(), number.longValue(), known.reset(), known.limit());
            case "limit" -> new Window(known.resource(), known.period(), known.remaining(), known.reset(), number.longValue());
            default -> new Window(known.resource(), known.period(), known.remaining(), Duration.ofMillis((long)Math.ceil(number * 1000)), known.limit());
        };
        windows.put(updated.name(), updated);
    }

    /** Upstream's own word on when to come back, or null. */
    Duration retryAfter()
    {
        return retryAfter;
    }

    /** The window of this name ("tokens-minute"), or null if the answer did not report it. */
    Window window(String name)
    {
        return windows.get(name);
    }

    /** Of the request windows reporting what is left and when they reset (day, hour), the one with the least left; null if none. */
    Window leastRequestsLeft()
    {
        Window least = null;
        for (Window window : windows.values())
        {
            if ("requests".equals(window.resource()) && window.remaining() >= 0 && window.reset() != null
                && (least == null || window.remaining() < least.remaining()))
                least = window;
        }
        return least;
    }

    /** The window with nothing left that resets last (the key is spent until then), or null. */
    Window exhaustedWindow()
    {
        return latestExhausted(null);
    }

    /**
     * Whether this answer reports the tokens per minute fully (limit and remaining), so the
     * budget's own count (the report plus what refills since) says when the next request
     * fits, sooner than the window's reset. Cerebras refills tokens per minute continuously
     * and its reset is when the bucket is full again: resting until then left a bucket that
     * was empty at a token 429 unused while it refilled, and full (refilling nothing) when the
     * budget came back; in the capacity benchmark each qwen budget sent nothing for about 9 s
     * after each token 429, and lost 20 of its 149 answers.
     */
    boolean tokensMinuteCounted()
    {
        Window minute = windows.get("tokens-minute");
        return minute != null && minute.limit() > 0 && minute.remaining() >= 0;
    }

    /** As {@link #exhaustedWindow}, but not a fully reported tokens-minute window: the budget counts that one's refill itself. */
    Window exhaustedUncountedWindow()
    {
        Window latest = null;
        for (Window window : windows.values())
        {
            if (window.isExhausted() && !(window.name().equals("tokens-minute") && tokensMinuteCounted())
                && (latest == null || window.reset().compareTo(latest.reset()) > 0))
                latest = window;
        }
        return latest;
    }

    /**
     * When a budget refused with {@code token_quota_exceeded} may take a request again
     * without waiting for its own token count: upstream's {@code Retry-After}; else, when the
     * answer reports its tokens per minute fully ({@link #tokensMinuteCounted}), at once (the
     * budget holds requests back until their estimate has refilled), unless another tokens
     * window (per hour) is spent; else as {@link #recoveryAfter429}.
     */
    Duration recoveryAfterTokens429()
    {
        if (retryAfter != null)
            return retryAfter;
        if (tokensMinuteCounted())
        {
            Window spent = exhaustedUncountedWindow();
            return spent != null && "tokens".equals(spent.resource()) ? spent.reset() : Duration.ZERO;
        }
        return recoveryAfter429(TOKEN_QUOTA_EXCEEDED);
    }

    /**
     * When a key that answered 429 with this error code recovers, or null if the answer
     * does not say: upstream's {@code Retry-After}; else the latest reset among the
     * windows of the kind the code names (requests or tokens) that report nothing left;
     * else that kind's per-minute reset (a per-minute limit is the usual cause when no
     * window reports zero, and older accounts get no header for it on requests).
     */
    Duration recoveryAfter429(String code)
    {
        if (retryAfter != null)
            return retryAfter;
        String resource = REQUEST_QUOTA_EXCEEDED.equals(code) ? "requests" : TOKEN_QUOTA_EXCEEDED.equals(code) ? "tokens" : null;
        Window exhausted = latestExhausted(resource);
        if (exhausted != null)
            return exhausted.reset();
        Window minute = resource == null ? null : windows.get(resource + "-minute");
        return minute == null ? null : minute.reset();
    }

    private Window latestExhausted(String resource)
    {
        Window latest = null;
        for (Window window : windows.values())
        {
            if (window.isExhausted() && (resource == null || resource.equals(window.resource()))
                && (latest == null || window.reset().compareTo(latest.reset()) > 0))
                latest = window;
        }
        return latest;
    }

    /** Delta-seconds (fractions allowed) or an HTTP date; null if absent or unreadable. */
    static Duration retryAfter(String value, Instant now)
    {
        if (value == null || value.isBlank())
            return null;
        Double seconds = number(value);
        if (seconds != null)
            return seconds < 0 ? null : Duration.ofMillis((long)Math.ceil(seconds * 1000));
        try
        {
            Instant at = ZonedDateTime.parse(value.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            return at.isBefore(now) ? Duration.ZERO : Duration.between(now, at);
        }
        catch (DateTimeParseException notDate)
        {
            return null;
        }
    }

    private static Duration millis(String value)
    {
        Double ms = number(value);
        return ms == null || ms < 0 ? null : Duration.ofMillis((long)Math.ceil(ms));
    }

    private static Double number(String value)
    {
        if (value == null)
            return null;
        try
        {
            double parsed = Double.parseDouble(value.strip());
            return Double.isFinite(parsed) ? parsed : null;
        }
        catch (NumberFormatException e)
        {
            return null;
        }
    }
}
