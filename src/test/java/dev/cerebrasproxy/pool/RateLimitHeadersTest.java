package dev.cerebrasproxy.pool;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class RateLimitHeadersTest
{
    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

    /** Headers as upstream sent them, in order: name, value, name, value... */
    private static RateLimitHeaders read(String... pairs)
    {
        return RateLimitHeaders.read(header ->
        {
            for (int i = 0; i + 1 < pairs.length; i += 2)
                header.accept(pairs[i], pairs[i + 1]);
        }, NOW);
    }

    /** What an older Cerebras account gets: requests per day, tokens per minute. */
    private static final String[] CLASSIC = {
        "x-ratelimit-limit-requests-day", "14400",
        "x-ratelimit-remaining-requests-day", "14398",
        "x-ratelimit-reset-requests-day", "33011.38",
        "x-ratelimit-limit-tokens-minute", "60000",
        "x-ratelimit-remaining-tokens-minute", "59000",
        "x-ratelimit-reset-tokens-minute", "11.38"};

    private static String[] with(String[] base, String... more)
    {
        String[] all = new String[base.length + more.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void retryAfterMsWinsOverRetryAfterWhichWinsOverTheWindows()
    {
        assertEquals(Duration.ofMillis(1500), read(with(CLASSIC, "retry-after-ms", "1500", "retry-after", "7")).recoveryAfter429("request_quota_exceeded"));
        assertEquals(Duration.ofSeconds(7), read(with(CLASSIC, "Retry-After", "7")).recoveryAfter429("request_quota_exceeded"));
        assertEquals(Duration.ofMillis(2500), read("retry-after", "2.5").retryAfter());
    }

    @Test
    void retryAfterAsAnHttpDateCountsFromNow()
    {
        assertEquals(Duration.ofSeconds(90), read("Retry-After", "Thu, 01 Jan 2026 00:01:30 GMT").retryAfter());
        assertEquals(Duration.ZERO, read("Retry-After", "Wed, 31 Dec 2025 23:00:00 GMT").retryAfter());
        assertNull(read("Retry-After", "soon").retryAfter());
    }

    @Test
    void aRequestQuota429RestsUntilTheSpentRequestWindowResets()
    {
        RateLimitHeaders headers = read(
            "x-ratelimit-remaining-requests-day", "0", "x-ratelimit-reset-requests-day", "33011.38",
            "x-ratelimit-remaining-tokens-minute", "0", "x-ratelimit-reset-tokens-minute", "11.38");
        assertEquals(Duration.ofMillis(33_011_380), headers.recoveryAfter429("request_quota_exceeded"));
        assertEquals(Duration.ofMillis(11_380), headers.recoveryAfter429("token_quota_exceeded"));
    }

    @Test
    void aTokenQuota429WithTokensLeftRestsUntilTheTokenMinuteResets()
    {
        // 59000 tokens left, but the request needed more: the minute window is the cause
        assertEquals(Duration.ofMillis(11_380), read(CLASSIC).recoveryAfter429("token_quota_exceeded"));
    }

    @Test
    void aRequestQuota429WithRequestsLeftForTheDayIsNotBenchedForTheDay()
    {
        // the per-minute request limit (no header on older accounts) was hit, not the day's
        assertNull(read(CLASSIC).recoveryAfter429("request_quota_exceeded"));
        assertEquals(Duration.ofMillis(41_200), read(with(CLASSIC,
            "x-ratelimit-remaining-requests-minute", "3", "x-ratelimit-reset-requests-minute", "41.2")).recoveryAfter429("request_quota_exceeded"));
    }

    @Test
    void theLatestResetWinsWhenSeveralWindowsOfTheKindAreSpent()
    {
        RateLimitHeaders headers = read(
            "x-ratelimit-remaining-requests-minute", "0", "x-ratelimit-reset-requests-minute", "20",
            "x-ratelimit-remaining-requests-hour", "0", "x-ratelimit-reset-requests-hour", "1800");
        assertEquals(Duration.ofSeconds(1800), headers.recoveryAfter429("request_quota_exceeded"));
        assertEquals("requests-hour", headers.exhaustedWindow().name());
    }

    @Test
    void anUnknownCodeUsesAnySpentWindowElseNothing()
    {
        assertEquals(Duration.ofMillis(11_380), read("x-ratelimit-remaining-tokens-minute", "0", "x-ratelimit-reset-tokens-minute", "11.38").recoveryAfter429(null));
        assertNull(read(CLASSIC).recoveryAfter429(null));
    }

    @Test
    void aSuccessfulAnswerWithAWindowAtZeroNamesIt()
    {
        RateLimitHeaders.Window spent = read(with(CLASSIC, "x-ratelimit-remaining-requests-hour", "0", "x-ratelimit-reset-requests-hour", "120.5")).exhaustedWindow();
        assertEquals("requests-hour", spent.name());
        assertEquals(Duration.ofMillis(120_500), spent.reset());
        assertNull(read(CLASSIC).exhaustedWindow());
    }

    @Test
    void garbledValuesAreIgnored()
    {
        assertNull(read("x-ratelimit-remaining-requests-day", "zero", "x-ratelimit-reset-requests-day", "5").exhaustedWindow());
        assertNull(read("x-ratelimit-remaining-requests-day", "0", "x-ratelimit-reset-requests-day", "-5").exhaustedWindow());
        assertNull(read("x-ratelimit-remaining-requests-day", "0").exhaustedWindow());
        assertNull(read("retry-after-ms", "NaN").retryAfter());
    }
}
