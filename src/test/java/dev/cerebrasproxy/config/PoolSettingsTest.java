package dev.cerebrasproxy.config;

import java.time.Duration;
import java.util.Arrays;

import dev.cerebrasproxy.pool.CooldownPolicy;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The settings of the learning pool: defaults, overrides, and one-line errors. */
class PoolSettingsTest
{
    /** These settings, with a key (the one setting without a default). */
    private static String[] withAKey(String... pairs)
    {
        String[] all = Arrays.copyOf(pairs, pairs.length + 2);
        all[pairs.length] = ProxySettings.API_KEYS;
        all[pairs.length + 1] = "{\"key1\":\"csk-1\"}";
        return all;
    }

    private static ProxySettings load(String... pairs)
    {
        return ReadSettings.from(withAKey(pairs));
    }

    private static String problemWith(String... pairs)
    {
        return ReadSettings.problemWith(withAKey(pairs));
    }

    @Test
    void defaults()
    {
        ProxySettings settings = load();
        assertEquals(CooldownPolicy.DEFAULTS, settings.cooldowns());
        assertEquals(new CooldownPolicy(Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofMinutes(5)), settings.cooldowns());
        assertEquals(Duration.ofSeconds(30), settings.waitForKey(), "what the SDKs tolerate");
        assertEquals(Duration.ofSeconds(1), settings.busyRetryAfter());
    }

    @Test
    void everyValueCanBeSet()
    {
        ProxySettings settings = load(ProxySettings.RATE_LIMIT_COOLDOWN_MS, "2000", ProxySettings.SERVER_ERROR_COOLDOWN_MS, "300",
            ProxySettings.MAX_COOLDOWN_MS, "90000", ProxySettings.QUARANTINE_RECHECK_MS, "600000",
            ProxySettings.WAIT_FOR_KEY_MS, "250", ProxySettings.BUSY_RETRY_AFTER_MS, "3000");
        assertEquals(new CooldownPolicy(Duration.ofMillis(2000), Duration.ofMillis(300), Duration.ofMillis(90_000), Duration.ofMillis(600_000)), settings.cooldowns());
        assertEquals(Duration.ofMillis(250), settings.waitForKey());
        assertEquals(Duration.ofMillis(3000), settings.busyRetryAfter());
    }

    @Test
    void waitingCanBeTurnedOffButNotMadeNegative()
    {
        assertEquals(Duration.ZERO, load(ProxySettings.WAIT_FOR_KEY_MS, "0").waitForKey());
        assertEquals("PROXY_WAIT_FOR_KEY_MS must be zero or a positive whole number, not \"-1\": unset it to use the default 30000.",
            problemWith(ProxySettings.WAIT_FOR_KEY_MS, "-1"));
    }

    @Test
    void cooldownsMustBePositive()
    {
        assertEquals("PROXY_RATE_LIMIT_COOLDOWN_MS must be a positive whole number, not \"0\": unset it to use the default 5000.",
            problemWith(ProxySettings.RATE_LIMIT_COOLDOWN_MS, "0"));
        assertEquals("PROXY_QUARANTINE_RECHECK_MS must be a positive whole number, not \"5m\": unset it to use the default 300000.",
            problemWith(ProxySettings.QUARANTINE_RECHECK_MS, "5m"));
    }

    @Test
    void theLongestCooldownCannotBeShorterThanAFirstOne()
    {
        assertEquals("PROXY_MAX_COOLDOWN_MS (3000) is shorter than PROXY_RATE_LIMIT_COOLDOWN_MS (5000): raise PROXY_MAX_COOLDOWN_MS or lower PROXY_RATE_LIMIT_COOLDOWN_MS, the longest cooldown cannot be shorter than the first.",
            problemWith(ProxySettings.MAX_COOLDOWN_MS, "3000"));
    }
}
