package dev.cerebrasproxy.config;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedisSettingsTest
{
    private static final String KEYS = "{\"k\":\"csk-1\"}";
    private static final String PASSWORD = "pw-SECRET-1";

    private static RedisSettings redis(String... pairs)
    {
        String[] all = new String[pairs.length + 2];
        all[0] = ProxySettings.API_KEYS;
        all[1] = KEYS;
        System.arraycopy(pairs, 0, all, 2, pairs.length);
        return ReadSettings.from(all).redis();
    }

    private static String problem(String url)
    {
        String message = ReadSettings.problemWith(ProxySettings.API_KEYS, KEYS, RedisSettings.URL, url);
        assertTrue(message.startsWith(RedisSettings.URL), message);
        assertFalse(message.contains(PASSWORD) || message.contains("SECRET"), message);
        return message;
    }

    @Test
    void unsetMeansThisReplicaCountsAlone()
    {
        assertNull(redis());
        assertNull(redis(RedisSettings.URL, " "));
    }

    @Test
    void aTrustStoreForRedissMustBeAReadableFile() throws Exception
    {
        java.nio.file.Path store = java.nio.file.Files.createTempFile("redis-trust-", ".p12");
        try
        {
            RedisSettings redis = redis(RedisSettings.URL, "rediss://cache.internal", RedisSettings.TRUST_STORE, store.toString(), RedisSettings.TRUST_STORE_PASSWORD, PASSWORD);
            assertEquals(store, redis.trust().store());
            assertFalse(redis.trust().toString().contains(PASSWORD), redis.trust().toString());
            assertNull(redis(RedisSettings.URL, "rediss://cache.internal").trust(), "unset: the JVM's default trust");
        }
        finally
        {
            java.nio.file.Files.delete(store);
        }
        String message = ReadSettings.problemWith(ProxySettings.API_KEYS, KEYS, RedisSettings.URL, "rediss://cache.internal", RedisSettings.TRUST_STORE, "/nowhere/trust.p12");
        assertTrue(message.startsWith(RedisSettings.TRUST_STORE + " names no readable file"), message);
    }

    @Test
    void aPlainUrlHasTheDefaults()
    {
        RedisSettings redis = redis(RedisSettings.URL, "redis://cache.internal");
        assertEquals("cache.internal", redis.host());
        assertEquals(6379, redis.port());
        assertNull(redis.user());
        assertNull(redis.password());
        assertEquals(0, redis.database());
        assertFalse(redis.tls());
        assertEquals("cerebras-proxy:", redis.prefix());
        assertEquals(100, redis.timeout().toMillis());
    }

    @Test
    void anAclUserPasswordTlsDatabaseAndPrefix()
    {
        RedisSettings redis = redis(RedisSettings.URL, "rediss://proxy:" + PASSWORD.replace("-", "%2D") + "%40x@10.0.0.5:6380/3",
            RedisSettings.PREFIX, "team-a:", RedisSettings.TIMEOUT_MS, "50");
        assertEquals("proxy", redis.user());
        assertEquals(PASSWORD + "@x", redis.password(), "percent-decoded");
        assertEquals(6380, redis.port());
        assertEquals(3, redis.database());
        assertTrue(redis.tls());
        assertEquals("team-a:", redis.prefix());
        assertEquals(50, redis.timeout().toMillis());
        assertFalse(redis.toString().contains(PASSWORD), redis.toString());
        assertEquals("rediss://proxy@10.0.0.5:6380/3", redis.address());
    }

    @Test
    void aPasswordWithoutUserIsForTheDefaultUser()
    {
        RedisSettings redis = redis(RedisSettings.URL, "redis://:" + PASSWORD + "@localhost:7000");
        assertNull(redis.user());
        assertEquals(PASSWORD, redis.password());
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://:pw-SECRET-1@host", "localhost:6379", "redis://:pw-SECRET-1@", "redis://:pw-SECRET-1@host/x",
        "redis://:pw-SECRET-1@host?db=1", "redis://pw-SECRET-1@host", "redis://:pw-SECRET-1 @host"})
    void aBadUrlStopsStartupWithOneLineThatNeverShowsThePassword(String url)
    {
        problem(url);
    }

    @Test
    void aBlankPrefixIsRefused()
    {
        String message = ReadSettings.problemWith(ProxySettings.API_KEYS, KEYS, RedisSettings.URL, "redis://h", RedisSettings.PREFIX, "a b");
        assertTrue(message.startsWith(RedisSettings.PREFIX), message);
    }
}
