package dev.cerebrasproxy.forward;

import java.nio.charset.StandardCharsets;

import dev.cerebrasproxy.pool.Demand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The token estimate Cerebras admits a request by: prompt characters / 4 plus the completion's maximum. */
class CostEstimateTest
{
    private static Demand estimate(String json, String encoding)
    {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        return CostEstimate.of(new RequestBody(bytes, bytes.length), encoding, 1000);
    }

    @Test
    void promptCharactersOverFourPlusMaxCompletionTokens()
    {
        // "user" (4) + 16 characters of content = 20 characters: 5 tokens
        assertEquals(new Demand("m", 5 + 50), estimate("{\"model\":\"m\",\"max_completion_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"abcdefghijklmnop\"}]}", null));
    }

    @Test
    void maxTokensWhenMaxCompletionTokensIsAbsentAndTheDefaultWhenBothAre()
    {
        assertEquals(new Demand("m", 1 + 7), estimate("{\"model\":\"m\",\"max_tokens\":7,\"prompt\":\"abcd\"}", null));
        assertEquals(new Demand("m", 1 + 1000), estimate("{\"model\":\"m\",\"prompt\":\"abcd\"}", "identity"));
        assertEquals(new Demand("m", 1 + 9), estimate("{\"max_tokens\":7,\"max_completion_tokens\":9,\"model\":\"m\",\"prompt\":\"abcd\"}", null));
    }

    @Test
    void aBodyTheProxyCannotReadNamesNoModelAndCostsTheDefault()
    {
        assertEquals(new Demand(null, 1000), estimate("{\"model\":\"m\"", "gzip"));
        assertEquals(new Demand(null, 1000), estimate("[1,2]", null));
        assertEquals(new Demand(null, 1000), estimate("{\"model\":7}", null));
        assertEquals(new Demand("m", 1000), estimate("{\"model\":\"m\",\"messages\":[", null));
        assertEquals(Demand.NONE, CostEstimate.of(null, null, 1000));
    }

    @Test
    void deeplyNestedBodiesAreNotFollowedWithoutBound()
    {
        String deep = "{\"model\":\"m\",\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        assertEquals(new Demand("m", 1000), estimate(deep, null));
    }
}
