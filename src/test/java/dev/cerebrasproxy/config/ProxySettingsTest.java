package dev.cerebrasproxy.config;

import java.util.List;

import dev.cerebrasproxy.access.AdminToken;
import dev.cerebrasproxy.pool.ApiKey;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProxySettingsTest
{
    private static final String SECRET = "csk-very-SECRET-value";

    @Test
    void defaultsApplyWhenOnlyKeysAreSet()
    {
        ProxySettings settings = ReadSettings.from(ProxySettings.API_KEYS, "{\"key1\":\"" + SECRET + "\",\"key2\":\"csk-2\"}");
        assertEquals(2, settings.keys().size());
        assertEquals("key1", settings.keys().get(0).name());
        assertEquals("key2", settings.keys().get(1).name());
        assertEquals("https://api.cerebras.ai/v1", settings.upstream().toString());
        assertEquals(32L * 1024 * 1024, settings.maxBodyBytes());
        assertEquals(10_000, settings.connectTimeout().toMillis());
        assertEquals(120_000, settings.idleTimeout().toMillis());
    }

    @Test
    void keysKeepTheirConfiguredOrderAndStripSurroundingBlanks()
    {
        ProxySettings settings = ReadSettings.from(ProxySettings.API_KEYS, "{\"z\":\" csk-z \",\"a\":\"csk-a\",\"m\":\"csk-m\"}");
        assertEquals("z,a,m", String.join(",", settings.keys().stream().map(ApiKey::name).toList()));
        assertEquals("Bearer csk-z", settings.keys().get(0).authorization());
    }

    @Test
    void aKeyPrintsAsItsNameOnly()
    {
        ApiKey key = new ApiKey("key1", SECRET);
        assertEquals("key1", key.toString());
        assertEquals("x <key key1> y", key.redact("x " + SECRET + " y"));
    }

    @Test
    void missingKeysStopStartup()
    {
        assertTrue(ReadSettings.problemWith().startsWith("CEREBRAS_API_KEYS is not set."));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, "  ").startsWith("CEREBRAS_API_KEYS is not set."));
    }

    @Test
    void keysThatAreNotJsonStopStartupWithoutQuotingThem()
    {
        String message = ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"key1\":\"" + SECRET + "\"");
        assertTrue(message.startsWith("CEREBRAS_API_KEYS is not valid JSON."), message);
        assertTrue(message.contains("{\"key1\":\"csk-...\""), "shows the expected form: " + message);
    }

    @Test
    void keysThatAreNotAnObjectStopStartup()
    {
        assertEquals("CEREBRAS_API_KEYS must be a JSON object, not an array. Set it to a JSON object of name to key, e.g. {\"key1\":\"csk-...\",\"key2\":\"csk-...\"}.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, "[\"" + SECRET + "\"]"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, "\"" + SECRET + "\"").startsWith("CEREBRAS_API_KEYS must be a JSON object, not a string."));
    }

    @Test
    void anEmptyObjectStopsStartup()
    {
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, "{}").startsWith("CEREBRAS_API_KEYS is an empty object"));
    }

    @Test
    void aKeyThatIsNotAStringStopsStartup()
    {
        assertEquals("CEREBRAS_API_KEYS entry \"key2\" must be a string, not a number: put the key in quotes. An entry is a key in quotes, or {\"key\":\"...\",\"organization\":\"...\"}.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"key1\":\"" + SECRET + "\",\"key2\":12345}"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"key1\":null}").contains("not null"));
    }

    @Test
    void keysMayNameTheirOrganizationBesidePlainKeysInOneValue()
    {
        ProxySettings settings = ReadSettings.from(ProxySettings.API_KEYS,
            "{\"a\":{\"key\":\"" + SECRET + "\",\"organization\":\" org-1 \"},\"b\":{\"key\":\"csk-b\",\"organization\":\"org-1\"},\"c\":\"csk-c\",\"d\":{\"key\":\"csk-d\"}}");
        assertEquals(List.of("org-1", "org-1", "c", "d"), settings.keys().stream().map(ApiKey::organization).toList(), "a key without one is its own");
        assertEquals("Bearer " + SECRET, settings.keys().get(0).authorization());
    }

    @Test
    void aBadKeyObjectStopsStartupWithoutShowingTheKey()
    {
        assertEquals("CEREBRAS_API_KEYS entry \"a\" has an unknown field (not shown, in case it is a secret): remove it. An entry is a key in quotes, or {\"key\":\"...\",\"organization\":\"...\"}.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"a\":{\"key\":\"" + SECRET + "\",\"org\":\"x\"}}"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"a\":{\"key\":\"" + SECRET + "\",\"organization\":\" \"}}").contains("has an organization that is not a non-blank string"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"a\":{\"organization\":\"o\"}}").startsWith("CEREBRAS_API_KEYS entry \"a\" needs \"key\" as a string."));
        assertFalse(ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"a\":{\"key\":\"" + SECRET + "\",\"org\":\"x\"}}").contains(SECRET));
    }

    @Test
    void aBlankKeyStopsStartup()
    {
        assertEquals("CEREBRAS_API_KEYS entry \"key2\" is blank: set it to the key's value or remove the entry.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"key1\":\"" + SECRET + "\",\"key2\":\"  \"}"));
    }

    @Test
    void theSameKeyTwiceStopsStartup()
    {
        assertEquals("CEREBRAS_API_KEYS entries \"key1\" and \"key3\" hold the same key: remove one, a key counts once against its rate limit.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"key1\":\"" + SECRET + "\",\"key2\":\"csk-2\",\"key3\":\"" + SECRET + "\"}"));
    }

    @Test
    void aBadUpstreamUrlStopsStartup()
    {
        String keys = "{\"key1\":\"" + SECRET + "\"}";
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_URL, "api.cerebras.ai/v1").startsWith("CEREBRAS_UPSTREAM_URL must be an absolute http or https URL"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_URL, "ftp://api.cerebras.ai/v1").startsWith("CEREBRAS_UPSTREAM_URL must be an absolute http or https URL"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_URL, "https://api cerebras.ai").startsWith("CEREBRAS_UPSTREAM_URL is not a valid URL"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_URL, "https://api.cerebras.ai/v1?x=1").startsWith("CEREBRAS_UPSTREAM_URL must not carry a query"));
    }

    @Test
    void theUpstreamProtocolIsAutoUnlessSetToH2OrHttp11()
    {
        String keys = "{\"key1\":\"" + SECRET + "\"}";
        assertEquals(UpstreamProtocol.AUTO, ReadSettings.from(ProxySettings.API_KEYS, keys).upstreamProtocol());
        assertEquals(UpstreamProtocol.H2, ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_PROTOCOL, " H2 ").upstreamProtocol());
        assertEquals(UpstreamProtocol.HTTP_1_1, ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_PROTOCOL, "http/1.1").upstreamProtocol());
        assertEquals("PROXY_UPSTREAM_PROTOCOL is 'http2', which is no upstream protocol: set it to auto, h2 or http/1.1, or unset it for auto.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.UPSTREAM_PROTOCOL, "http2"));
    }

    @Test
    void theUpstreamUrlLosesItsTrailingSlash()
    {
        ProxySettings settings = ReadSettings.from(ProxySettings.API_KEYS, "{\"k\":\"v\"}", ProxySettings.UPSTREAM_URL, "HTTP://127.0.0.1:9/v1/");
        assertEquals("http://127.0.0.1:9/v1", settings.upstream().toString());
    }

    @Test
    void numbersMustBePositive()
    {
        String keys = "{\"key1\":\"" + SECRET + "\"}";
        assertEquals("PROXY_MAX_BODY_BYTES must be a positive whole number, not \"32MB\": unset it to use the default 33554432.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.MAX_BODY_BYTES, "32MB"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.IDLE_TIMEOUT_MS, "0").startsWith("PROXY_IDLE_TIMEOUT_MS must be a positive"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.CONNECT_TIMEOUT_MS, "-5").startsWith("PROXY_CONNECT_TIMEOUT_MS must be a positive"));
        assertEquals(1024, ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.MAX_BODY_BYTES, "1024").maxBodyBytes());
    }

    @Test
    void aTrustStoreThatIsNoReadableFileStopsStartup()
    {
        String message = ReadSettings.problemWith(ProxySettings.API_KEYS, "{\"key1\":\"csk-1\"}", ProxySettings.TRUST_STORE, "/nonexistent/trust.p12");
        assertTrue(message.startsWith("PROXY_UPSTREAM_TRUST_STORE names no readable file (/nonexistent/trust.p12)"), message);
    }

    @Test
    void noTrustStoreMeansTheJvmDefaultTrust()
    {
        assertEquals(null, ReadSettings.from(ProxySettings.API_KEYS, "{\"key1\":\"csk-1\"}").upstreamTrust());
    }

    @Test
    void clientTokensAreOptionalAndReadLikeKeys()
    {
        String keys = "{\"key1\":\"csk-1\"}";
        assertFalse(ReadSettings.from(ProxySettings.API_KEYS, keys).clientTokens().required(), "unset: open");
        ProxySettings settings = ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.CLIENT_TOKENS, "{\"ci\":\" " + SECRET + " \",\"bob\":\"tok-2\"}");
        assertEquals(java.util.List.of("ci", "bob"), settings.clientTokens().names());
        // Stripped like keys, and found by either header.
        assertEquals("ci", settings.clientTokens().clientOf("Bearer " + SECRET, null));
        assertEquals("bob", settings.clientTokens().clientOf("Basic xyz", "tok-2"));
        assertEquals(null, settings.clientTokens().clientOf("Bearer tok-3", "tok-3"));
        assertEquals(null, settings.clientTokens().clientOf(null, null));
        assertEquals("PROXY_CLIENT_TOKENS entry \"ci\" is blank: set it to the token's value or remove the entry.",
            ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.CLIENT_TOKENS, "{\"ci\":\" \"}"));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.CLIENT_TOKENS, "[\"" + SECRET + "\"]").startsWith("PROXY_CLIENT_TOKENS must be a JSON object, not an array."));
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.CLIENT_TOKENS, "{\"a\":\"" + SECRET + "\",\"b\":\"" + SECRET + "\"}")
            .startsWith("PROXY_CLIENT_TOKENS entries \"a\" and \"b\" hold the same token"));
    }

    @Test
    void theAdminTokenIsOptional()
    {
        String keys = "{\"key1\":\"csk-1\"}";
        assertFalse(ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.ADMIN_TOKEN, "  ").adminToken().required());
        AdminToken token = ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.ADMIN_TOKEN, " " + SECRET + " ").adminToken();
        assertTrue(token.matches(SECRET), "stripped");
        assertFalse(token.matches(" " + SECRET + " "));
        assertFalse(token.toString().contains(SECRET));
    }

    @Test
    void allowedHostsAreCheckedAtStartup()
    {
        String keys = "{\"key1\":\"csk-1\"}";
        assertEquals(java.util.Set.of(), ReadSettings.from(ProxySettings.API_KEYS, keys).allowedHosts().extra());
        assertEquals(java.util.Set.of("proxy.example.com", "cerebras-proxy", "10.0.0.5", "[fd00:0:0:0:0:0:0:1]"),
            ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.ALLOWED_HOSTS, " Proxy.Example.com., cerebras-proxy,,10.0.0.5,[fd00::1],").allowedHosts().extra());
        for (String bad : new String[] {"http://proxy.example.com", "proxy.example.com:8080", "fd00::1", "a b", "*.example.com", "999.1.1.1", "010.0.0.1", "[::g]"})
        {
            String problem = ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.ALLOWED_HOSTS, "ok.example," + bad);
            assertTrue(problem.startsWith("PROXY_ALLOWED_HOSTS entry \"" + bad + "\""), problem);
        }
    }

    @Test
    void publicIsTrueOrFalse()
    {
        String keys = "{\"key1\":\"csk-1\"}";
        assertFalse(ReadSettings.from(ProxySettings.API_KEYS, keys).listensPublicly());
        assertTrue(ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.PUBLIC, " TRUE ").listensPublicly());
        assertFalse(ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.PUBLIC, "false").listensPublicly());
        assertEquals("PROXY_PUBLIC must be true or false, not \"yes\": unset it for false.", ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.PUBLIC, "yes"));
    }

    @Test
    void theDrainIsThirtySecondsUnlessSet()
    {
        String keys = "{\"key1\":\"csk-1\"}";
        assertEquals(30, ReadSettings.from(ProxySettings.API_KEYS, keys).drainGrace().toSeconds());
        assertEquals(0, ReadSettings.from(ProxySettings.API_KEYS, keys, ProxySettings.DRAIN_SECONDS, "0").drainGrace().toSeconds());
        assertTrue(ReadSettings.problemWith(ProxySettings.API_KEYS, keys, ProxySettings.DRAIN_SECONDS, "30s").startsWith("PROXY_DRAIN_SECONDS must be zero or a positive whole number"));
    }
}
