package dev.cerebrasproxy.shared;

import java.net.http.HttpResponse;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.config.RedisSettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyUnderTest;
import dev.cerebrasproxy.support.RedisServer;
import dev.cerebrasproxy.support.SelfSignedCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.cerebrasproxy.support.TestData.CHAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rediss://: Debian's redis-server on a TLS port only, with a self-signed certificate for
 * 127.0.0.1. Two replicas that trust it (PROXY_REDIS_TRUST_STORE) share a client's count
 * over TLS; one that does not trust it never talks to it, and still answers from memory.
 */
class RedisOverTlsTest
{
    @RegisterExtension
    static final RedisServer redis = RedisServer.overTls();

    private static final String TOKEN = "tok-tls-SECRET-7777";
    private static final String TOKENS = "{\"tls\":{\"token\":\"" + TOKEN + "\",\"requests_per_minute\":1}}";

    @Test
    void twoReplicasThatTrustRedisShareACountOverTls() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest a = replica(upstream, RedisSettings.TRUST_STORE, redis.trustStore().toString(), RedisSettings.TRUST_STORE_PASSWORD, SelfSignedCertificate.PASSWORD);
             ProxyUnderTest b = replica(upstream, RedisSettings.TRUST_STORE, redis.trustStore().toString(), RedisSettings.TRUST_STORE_PASSWORD, SelfSignedCertificate.PASSWORD))
        {
            assertEquals(SharedState.Redis.OK, a.context().shared().redis());
            assertEquals(200, send(a).statusCode());
            HttpResponse<String> refused = send(b);
            assertEquals(429, refused.statusCode(), "the other replica counted the first request, over TLS: " + refused.body());
            assertEquals("client_request_limit_exceeded", Http.error(refused).get("code").getAsString());
            assertEquals(SharedState.Redis.OK, b.context().shared().redis());
        }
    }

    @Test
    void aReplicaThatDoesNotTrustRedissCertificateAnswersFromMemory() throws Exception
    {
        int mark = LogCapture.mark();
        try (FakeCerebras upstream = new FakeCerebras(); ProxyUnderTest alone = replica(upstream))
        {
            assertEquals(SharedState.Redis.DEGRADED, alone.context().shared().redis(), "the JVM's default trust does not know a self-signed certificate");
            assertEquals(200, send(alone).statusCode());
            String log = LogCapture.since(mark);
            assertTrue(log.contains("this replica counts from its own memory"), log);
            assertFalse(log.contains("SECRET"), log);
        }
    }

    @Test
    void aTrustStoreThatIsNotOneStopsStartupWithOneLine() throws Exception
    {
        java.nio.file.Path junk = java.nio.file.Files.createTempFile("not-a-store-", ".p12");
        java.nio.file.Files.writeString(junk, "not a key store");
        int mark = LogCapture.mark();
        try (FakeCerebras upstream = new FakeCerebras())
        {
            org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> replica(upstream, RedisSettings.TRUST_STORE, junk.toString()).close());
            String log = LogCapture.since(mark);
            assertTrue(log.contains("cerebras-proxy cannot start: " + RedisSettings.TRUST_STORE + " cannot be read as a PKCS12 trust store"), log);
        }
        finally
        {
            java.nio.file.Files.delete(junk);
        }
    }

    private static ProxyUnderTest replica(FakeCerebras upstream, String... settings) throws Exception
    {
        String[] all = new String[settings.length + 6];
        System.arraycopy(new String[] {ProxySettings.CLIENT_TOKENS, TOKENS, RedisSettings.URL, redis.url(), RedisSettings.TIMEOUT_MS, "2000"}, 0, all, 0, 6);
        System.arraycopy(settings, 0, all, 6, settings.length);
        return ProxyUnderTest.start(upstream, all);
    }

    private static HttpResponse<String> send(ProxyUnderTest proxy) throws Exception
    {
        return Http.post(proxy.uri("/v1/chat/completions"), CHAT, "Authorization", "Bearer " + TOKEN);
    }
}
