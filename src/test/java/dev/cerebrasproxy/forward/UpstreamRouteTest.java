package dev.cerebrasproxy.forward;

import java.net.URI;
import java.util.Locale;
import java.util.Random;

import org.junit.jupiter.api.Test;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The route itself, whatever the container in front let through: some containers refuse
 * traversal before the webapp sees it, others hand the raw path on.
 */
class UpstreamRouteTest
{
    private final UpstreamRoute route = new UpstreamRoute(URI.create("https://api.cerebras.ai/v1"));

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/chat/completions|             |https://api.cerebras.ai/v1/chat/completions",
        "/v1/chat/completions|          |https://api.cerebras.ai/v1/chat/completions",
        "/v1|                           |https://api.cerebras.ai/v1",
        "/v1/|                          |https://api.cerebras.ai/v1/",
        "/v10/x|                        |https://api.cerebras.ai/v1/v10/x",
        "/models|a=%20b&c=d+e           |https://api.cerebras.ai/v1/models?a=%20b&c=d+e",
        "''|                            |https://api.cerebras.ai/v1/",
        "//evil.example/x|              |https://api.cerebras.ai/v1//evil.example/x",
    })
    void mapsOntoTheUpstreamBase(String path, String query, String expected)
    {
        assertEquals(expected, route.targetOf(path, query));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/v1/../x", "/..", "/v1/./x", "/v1/%2e%2e/x", "/v1/%2E./x", "/a%2fb", "/a%2Fb", "/a%5cb", "/a\\b", "x", "*", "evil.example:443"})
    void refusesWhatCouldLeaveTheBase(String path)
    {
        assertNull(route.targetOf(path, null));
    }

    /** The one-pass check answers as the plain one (lower-cased copy, split) it replaced, on paths made of what matters. */
    @Test
    void theOnePassCheckAgreesWithThePlainOne()
    {
        char[] alphabet = {'/', '.', '%', '2', '5', 'e', 'E', 'f', 'F', 'c', 'C', '\\', 'a'};
        Random random = new Random(15);
        for (int i = 0; i < 200_000; i++)
        {
            StringBuilder path = new StringBuilder();
            for (int n = random.nextInt(9); n > 0; n--)
                path.append(alphabet[random.nextInt(alphabet.length)]);
            String candidate = path.toString();
            assertEquals(plainIsTraversal(candidate), UpstreamRoute.isTraversal(candidate), candidate);
        }
    }

    private static boolean plainIsTraversal(String rawPath)
    {
        String lower = rawPath.toLowerCase(Locale.ROOT);
        if (lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") || lower.indexOf('\\') >= 0)
            return true;
        for (String segment : rawPath.split("/", -1))
        {
            if (segment.equals(".") || segment.equals(".."))
                return true;
        }
        return false;
    }
}
