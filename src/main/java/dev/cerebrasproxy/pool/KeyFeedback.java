package dev.cerebrasproxy.pool;

import java.time.Duration;

/**
 * Translates what upstream answered with a key into what the pool learns about that key,
 * and into what becomes of the attempt. The pool decides how long a key rests; this
 * class only knows which HTTP answer means what.
 */
public final class KeyFeedback
{
    /** What to do with an attempt whose answer was about the key. */
    public enum Verdict
    {
        /** Another key may serve: send the same request with the next one. */
        REPLAY,
        /** Cerebras itself is out of capacity: no key would help, tell the client to come back soon. */
        ANSWER_BUSY,
        /**
         * A 500: replay, but it is not yet known whether it was about the key or about the
         * request. The pool has learnt nothing; the call blames the key only if another key
         * then serves the same request ({@link KeyPool#serverError}).
         */
        REPLAY_SUSPECT
    }

    private KeyFeedback()
    {
    }

    /**
     * Answers the client never sees while a key is left: rate limited (429), failing
     * (500), and refusals of the key itself (401 invalid, 402 unpaid, 403 forbidden),
     * none of which is the client's fault. Their bodies are read to learn why.
     */
    public static boolean isAboutTheKey(int status)
    {
        return status == 429 || status == 500 || isRefusal(status);
    }

    static boolean isRefusal(int status)
    {
        return status == 401 || status == 402 || status == 403;
    }

    /**
     * An answer on its way to the client. Reads headers only, so a stream is not held up:
     * the key worked, and if a window now has nothing left, the key rests until it resets
     * instead of meeting a 429 first.
     */
    public static void passing(KeyPool pool, ApiKey key, String model, java.time.Instant sentAt, int status, UpstreamHeaders headers)
    {
        if (status < 500)
            pool.served(key, model);
        else if (status == 502 || status == 503 || status == 504)
            pool.upstreamFailed(key, "answered " + status);
        else
            pool.inconclusive(key, "answered " + status);
        RateLimitHeaders read = RateLimitHeaders.read(headers, pool.now());
        report(pool, key, model, sentAt, read);
        // Only a request upstream served took one from the day's count (a 429 reports it unchanged).
        RateLimitHeaders.Window day = read.window("requests-day");
        if (status >= 200 && status < 300 && day != null && day.remaining() >= 0)
            pool.requestsLeftToday(key, model, day.remaining());
        // A tokens-minute window at 0 that reports its limit needs no rest: the budget's count holds requests until they fit.
        RateLimitHeaders.Window spent = read.exhaustedUncountedWindow();
        if (spent != null)
            pool.exhausted(key, model, spent.reset(), spent.name());
    }

    /** Every answer, served or refused, says what is left of the budget's tokens per minute. */
    private static void report(KeyPool pool, ApiKey key, String model, java.time.Instant sentAt, RateLimitHeaders read)
    {
        RateLimitHeaders.Window tokens = read.window("tokens-minute");
        if (tokens != null)
            pool.tokensReported(key, model, sentAt, tokens.limit(), tokens.remaining());
        RateLimitHeaders.Window requests = read.leastRequestsLeft();
        if (requests != null)
            pool.requestsReported(key, model, requests.remaining(), requests.reset());
    }

    /** An answer {@link #isAboutTheKey about the key}, with its body read. */
    public static Verdict failed(KeyPool pool, ApiKey key, String model, java.time.Instant sentAt, int status, UpstreamHeaders headers, UpstreamError error)
    {
        // The code is kept in the key's record and logged: make sure it cannot carry the key.
        String code = error.code() != null ? key.redact(error.code()) : "http_" + status;
        if (status == 429)
        {
            if (error.isCapacity())
            {
                pool.busy(key, code);
                return Verdict.ANSWER_BUSY;
            }
            RateLimitHeaders read = RateLimitHeaders.read(headers, pool.now());
            RateLimitHeaders.Window tokens = read.window("tokens-minute");
            pool.explainRefusal(key, model, sentAt, code, tokens == null ? -1 : tokens.remaining());
            report(pool, key, model, sentAt, read);
            // A spent day says nothing of the per-minute limit the pool learns from these 429s.
            RateLimitHeaders.Window day = read.window("requests-day");
            if (day != null && day.isExhausted())
                code = "requests-day exhausted";
            Duration recovery = RateLimitHeaders.TOKEN_QUOTA_EXCEEDED.equals(code) ? read.recoveryAfterTokens429() : read.recoveryAfter429(error.code());
            pool.rateLimited(key, model, sentAt, recovery, code);
        }
        else if (status == 403 && model != null)
        {
            // Forbidden may be about this key and this model only, or about the request: the call decides.
            return Verdict.REPLAY_SUSPECT;
        }
        else if (isRefusal(status))
        {
            pool.quarantine(key, status + " " + code);
        }
        else
        {
            return Verdict.REPLAY_SUSPECT;
        }
        return Verdict.REPLAY;
    }
}
