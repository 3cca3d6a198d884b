package dev.cerebrasproxy;

import java.util.Map;

import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.ProxyUnderTest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Misconfiguration stops the webapp with one clear line, and no secret in the log. */
class StartupTest
{
    private static String failedStartLog(Map<String, String> settings)
    {
        int mark = LogCapture.mark();
        assertThrows(Exception.class, () -> ProxyUnderTest.startWith(settings).close());
        return LogCapture.since(mark);
    }

    private static long linesContaining(String log, String text)
    {
        return log.lines().filter(line -> line.contains(text)).count();
    }

    @Test
    void keysThatAreNotJsonStopTheWebappWithOneLine()
    {
        String log = failedStartLog(Map.of(ProxySettings.API_KEYS, "{\"key1\":\"csk-SECRET-startup\""));
        assertEquals(1, linesContaining(log, "cerebras-proxy cannot start: CEREBRAS_API_KEYS is not valid JSON. Set it to a JSON object of name to key"), log);
        assertTrue(log.lines().anyMatch(line -> line.contains("ERROR") && line.contains("cerebras-proxy cannot start")), log);
        assertFalse(log.contains("csk-SECRET-startup"), log);
        assertFalse(log.contains("cerebras-proxy ready"), log);
        assertEquals(1, linesContaining(log, "is not valid JSON"), "the problem is told once: " + log);
    }

    @Test
    void missingKeysStopTheWebapp()
    {
        String log = failedStartLog(Map.of());
        assertEquals(1, linesContaining(log, "cerebras-proxy cannot start: CEREBRAS_API_KEYS is not set."), log);
    }

    @Test
    void aDuplicatedKeyStopsTheWebappNamingBothEntries()
    {
        String log = failedStartLog(Map.of(ProxySettings.API_KEYS, "{\"a\":\"csk-SECRET-dup\",\"b\":\"csk-SECRET-dup\"}"));
        assertEquals(1, linesContaining(log, "entries \"a\" and \"b\" hold the same key"), log);
        assertFalse(log.contains("csk-SECRET-dup"), log);
    }

    @Test
    void aBadUpstreamUrlStopsTheWebapp()
    {
        String log = failedStartLog(Map.of(ProxySettings.API_KEYS, "{\"a\":\"csk-1\"}", ProxySettings.UPSTREAM_URL, "not a url"));
        assertEquals(1, linesContaining(log, "cerebras-proxy cannot start: CEREBRAS_UPSTREAM_URL"), log);
    }

    @Test
    void aGoodStartNamesTheKeysButNotTheirValues() throws Exception
    {
        int mark = LogCapture.mark();
        try (FakeCerebras upstream = new FakeCerebras(); ProxyUnderTest ignored = ProxyUnderTest.start(upstream))
        {
            String log = LogCapture.since(mark);
            assertTrue(log.contains("cerebras-proxy ready: 3 keys (alpha, bravo, charlie) in front of " + upstream.baseUrl()), log);
            assertFalse(log.contains("SECRET"), log);
        }
    }
}
