package dev.cerebrasproxy.config;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CEREBRAS_API_KEYS_FILE and PROXY_KEYS_FILE_POLL_MS as read at startup. */
class KeysFileSettingsTest
{
    private static final String SECRET = "csk-file-SECRET-value";

    @TempDir
    Path directory;

    @Test
    void theFileWinsOverTheVariableAndIsPolledEverySecondByDefault() throws Exception
    {
        Path file = Files.writeString(directory.resolve("keys.json"), "{\"fromFile\":\"" + SECRET + "\"}");
        ProxySettings settings = ReadSettings.from(ProxySettings.API_KEYS_FILE, file.toString(), ProxySettings.API_KEYS, "{\"fromEnv\":\"csk-env\"}");
        assertEquals("fromFile", settings.keys().get(0).name());
        assertEquals(file.toAbsolutePath(), settings.keysFile());
        assertEquals(1000, settings.keysFilePoll().toMillis());
    }

    @Test
    void withoutAFileNothingIsWatched()
    {
        assertNull(ReadSettings.from(ProxySettings.API_KEYS, "{\"k\":\"csk-k\"}").keysFile());
    }

    @Test
    void aMissingFileStopsTheWebappNamingIt()
    {
        Path missing = directory.resolve("nope.json");
        String problem = ReadSettings.problemWith(ProxySettings.API_KEYS_FILE, missing.toString(), ProxySettings.API_KEYS, "{\"k\":\"" + SECRET + "\"}");
        assertTrue(problem.startsWith(ProxySettings.API_KEYS_FILE + " " + missing + " cannot be read (NoSuchFileException)"), problem);
    }

    @Test
    void aBadFileIsReportedAsTheFileNotTheVariable() throws Exception
    {
        Path file = Files.writeString(directory.resolve("keys.json"), "{\"a\":\"" + SECRET + "\",\"b\":\"" + SECRET + "\"}");
        String problem = ReadSettings.problemWith(ProxySettings.API_KEYS_FILE, file.toString());
        assertEquals(ProxySettings.API_KEYS_FILE + " " + file + " entries \"a\" and \"b\" hold the same key: remove one, a key counts once against its rate limit.", problem);
    }

    @Test
    void thePollIntervalMustBePositive() throws Exception
    {
        Path file = Files.writeString(directory.resolve("keys.json"), "{\"k\":\"csk-k\"}");
        String problem = ReadSettings.problemWith(ProxySettings.API_KEYS_FILE, file.toString(), ProxySettings.KEYS_FILE_POLL_MS, "0");
        assertTrue(problem.startsWith(ProxySettings.KEYS_FILE_POLL_MS + " must be a positive whole number"), problem);
    }
}
