package dev.cerebrasproxy.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import dev.cerebrasproxy.access.ClientLimits;
import dev.cerebrasproxy.access.ClientTokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.cerebrasproxy.support.TestData.ALICE_TOKEN;
import static dev.cerebrasproxy.support.TestData.BOB_TOKEN;
import static dev.cerebrasproxy.support.TestData.CI_TOKEN;
import static dev.cerebrasproxy.support.TestData.KEYS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PROXY_CLIENT_TOKENS in both forms, and the one line a bad limit stops startup with. */
class ClientLimitsSettingsTest
{
    /** ci as a bare token, alice and bob as objects. */
    static final String BOTH_FORMS = "{\"ci\":\"" + CI_TOKEN + "\","
        + "\"alice\":{\"token\":\"" + ALICE_TOKEN + "\",\"requests_per_minute\":60,\"tokens_per_minute\":100000,\"tokens_per_day\":2000000,\"models\":[\"llama3.1-8b\",\"qwen-3-32b\"]},"
        + "\"bob\":{\"token\":\"" + BOB_TOKEN + "\"}}";

    private static String problemWith(String entry)
    {
        return ReadSettings.problemWith(ProxySettings.API_KEYS, KEYS, ProxySettings.CLIENT_TOKENS, "{\"ci\":\"" + CI_TOKEN + "\",\"alice\":" + entry + "}");
    }

    @Test
    void bothFormsInOneSettingAndOneFile(@TempDir Path directory) throws Exception
    {
        Path file = directory.resolve("tokens.json");
        Files.writeString(file, BOTH_FORMS);
        for (ProxySettings settings : new ProxySettings[] {ReadSettings.from(ProxySettings.API_KEYS, KEYS, ProxySettings.CLIENT_TOKENS, BOTH_FORMS),
            ReadSettings.from(ProxySettings.API_KEYS, KEYS, ProxySettings.CLIENT_TOKENS_FILE, file.toString())})
        {
            ClientTokens tokens = settings.clientTokens();
            assertEquals(java.util.List.of("ci", "alice", "bob"), tokens.names());
            assertEquals("alice", tokens.clientOf("Bearer " + ALICE_TOKEN, null));
            assertEquals("bob", tokens.clientOf(null, BOB_TOKEN));
            assertEquals(ClientLimits.NONE, tokens.limitsOf("ci"));
            assertEquals(ClientLimits.NONE, tokens.limitsOf("bob"), "an object with only a token is unlimited");
            assertEquals(new ClientLimits(60, 100_000, 2_000_000, Set.of("llama3.1-8b", "qwen-3-32b")), tokens.limitsOf("alice"));
        }
    }

    @Test
    void aBadLimitNamesTheClientAndTheFieldAndTheFixButNoToken()
    {
        String token = "\"token\":\"" + ALICE_TOKEN + "\"";
        assertEquals("PROXY_CLIENT_TOKENS client \"alice\" has a negative \"requests_per_minute\": set it to a whole number, 0 or more (e.g. \"requests_per_minute\":60), or remove it for no limit.",
            problemWith("{" + token + ",\"requests_per_minute\":-1}"));
        assertTrue(problemWith("{" + token + ",\"tokens_per_minute\":1.5}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" has \"tokens_per_minute\" that is not a whole number"));
        assertTrue(problemWith("{" + token + ",\"tokens_per_day\":\"" + ALICE_TOKEN + "\"}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" has \"tokens_per_day\" as a string"));
        assertTrue(problemWith("{" + token + ",\"tokens_per_day\":1e30}").contains("not a whole number (or too large)"));
        assertTrue(problemWith("{" + token + ",\"request_per_minute\":5}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" has an unknown field \"request_per_minute\": remove it or spell it as one of"));
        assertTrue(problemWith("{" + token + ",\"" + ALICE_TOKEN + "\":5}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" has an unknown field (not shown, in case it is a secret)"));
        assertTrue(problemWith("{" + token + ",\"models\":[]}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" has \"models\" as an empty list: set it to a list of model names"));
        assertTrue(problemWith("{" + token + ",\"models\":\"llama3.1-8b\"}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" has \"models\" as a string"));
        assertTrue(problemWith("{" + token + ",\"models\":[\"llama3.1-8b\",7]}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" has a \"models\" entry that is not a model name (a number)"));
        assertTrue(problemWith("[\"" + ALICE_TOKEN + "\"]").startsWith("PROXY_CLIENT_TOKENS entry \"alice\" must be a token in quotes or an object, not an array. An entry is a token, or {"));
        assertTrue(problemWith("{\"requests_per_minute\":5}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" needs \"token\" as a string."));
        assertTrue(problemWith("{\"token\":5}").startsWith("PROXY_CLIENT_TOKENS client \"alice\" needs \"token\" as a string, not a number."));
        assertTrue(problemWith("{\"token\":\"" + CI_TOKEN + "\"}").startsWith("PROXY_CLIENT_TOKENS entries \"ci\" and \"alice\" hold the same token"), "twins across the forms");
        assertEquals(0, ReadSettings.from(ProxySettings.API_KEYS, KEYS, ProxySettings.CLIENT_TOKENS, "{\"alice\":{" + token + ",\"requests_per_minute\":0}}")
            .clientTokens().limitsOf("alice").requestsPerMinute(), "0 is a limit: the client is held back entirely");
    }
}
