package dev.cerebrasproxy.forward;

import java.nio.charset.StandardCharsets;

import dev.cerebrasproxy.pool.Demand;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one estimate of a request's tokens, as Cerebras admits it (prompt characters / 4 plus
 * the completion's maximum), which the client limits and the pool both hold; and when a
 * body's model cannot be trusted.
 */
class RequestFactsTest
{
    private static final long DEFAULT = 1000;

    private static RequestFacts of(String json, String coding)
    {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        return RequestFacts.of(new RequestBody(bytes, bytes.length), coding);
    }

    private static long estimate(String json)
    {
        return of(json, null).estimate(DEFAULT);
    }

    @Test
    void promptCharactersOverFourPlusMaxCompletionTokens()
    {
        // "user" (4) + 16 characters of content = 20 characters: 5 tokens; the model's name is no prompt
        RequestFacts facts = of("{\"model\":\"m\",\"max_completion_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"abcdefghijklmnop\"}]}", null);
        assertEquals(5 + 50, facts.estimate(DEFAULT));
        assertEquals(new Demand("m", 5 + 50), facts.demand(DEFAULT), "the pool holds the same estimate as the client limits");
        assertTrue(facts.readable());
    }

    @Test
    void maxTokensWhenMaxCompletionTokensIsAbsentAndTheDefaultWhenBothAre()
    {
        assertEquals(1 + 7, estimate("{\"model\":\"m\",\"max_tokens\":7,\"prompt\":\"abcd\"}"));
        assertEquals(1 + DEFAULT, of("{\"model\":\"m\",\"prompt\":\"abcd\"}", "identity").estimate(DEFAULT));
        assertEquals(1 + 9, estimate("{\"max_tokens\":70,\"max_completion_tokens\":9,\"model\":\"m\",\"prompt\":\"abcd\"}"), "max_completion_tokens wins");
        assertEquals(1 + 70, estimate("{\"max_tokens\":70,\"max_completion_tokens\":-5,\"prompt\":\"abcd\"}"), "a negative maximum is none");
        assertEquals(DEFAULT, of("{\"model\":\"m\",\"x\":1}", null).estimate(DEFAULT), "no prompt, no maximum: the default");
    }

    @Test
    void noBodyCostsNothingAndNamesNoModel()
    {
        assertEquals(RequestFacts.NO_BODY, RequestFacts.of(null, null));
        assertEquals(0, RequestFacts.NO_BODY.estimate(DEFAULT));
        assertEquals(Demand.NONE, RequestFacts.NO_BODY.demand(DEFAULT));
    }

    @Test
    void theTopLevelModelIsReadNotAWordInThePrompt()
    {
        RequestFacts facts = of("{\"messages\":[{\"role\":\"user\",\"content\":\"model max_tokens\"}],\"model\":\"qwen-3-32b\",\"max_tokens\":50}", null);
        assertEquals("qwen-3-32b", facts.model());
        assertEquals((4 + 16 + 3) / 4 + 50, facts.estimate(DEFAULT));
        assertNull(of("{\"messages\":[]}", null).model());
    }

    @Test
    void whatCannotBeTrustedIsUnreadableNamesNoModelAndCountsEachByte()
    {
        assertFalse(of("{\"model\":\"a\",\"model\":\"b\"}", null).readable(), "upstream may take the other one");
        assertFalse(of("{\"model\":\"a\"}", "gzip").readable());
        assertFalse(of("[{\"model\":\"a\"}]", null).readable());
        assertFalse(of("{\"model\":7}", null).readable());
        assertFalse(of("{\"model\":\"a\"", null).readable(), "cut short");
        assertFalse(of("{\"model\":\"a\",\"messages\":[", null).readable(), "cut short");
        assertFalse(of("{model:'a'}", null).readable(), "not strict JSON");
        assertFalse(of("{\"model\":\"a\",\"max_tokens\":1e400}", null).readable(), "infinite");
        String gzip = "{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
        assertEquals(new Demand(null, (gzip.length() + 3) / 4 + DEFAULT), of(gzip, "gzip").demand(DEFAULT), "the general state, every byte a character");
        RequestFacts huge = of("{\"model\":\"a\",\"max_tokens\":1e300}", null);
        assertTrue(huge.estimate(DEFAULT) > 1_000_000_000L && huge.estimate(DEFAULT) < Long.MAX_VALUE / 2, "capped, never overflowing: " + huge.estimate(DEFAULT));
    }

    @Test
    void deeplyNestedBodiesAreNotFollowedWithoutBound()
    {
        String deep = "{\"model\":\"m\",\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        RequestFacts facts = of(deep, null);
        assertFalse(facts.readable());
        assertEquals(deep.length(), facts.promptCharacters());
    }

    @Test
    void aLongBodyAndMalformedUtf8AreRead()
    {
        String longPrompt = "x".repeat(20_000);
        RequestFacts facts = of("{\"messages\":[{\"role\":\"user\",\"content\":\"" + longPrompt + "\"}],\"model\":\"llama3.1-8b\"}", null);
        assertEquals("llama3.1-8b", facts.model(), "a model named past the first 8 KiB");
        assertEquals((4 + 20_000 + 3) / 4 + DEFAULT, facts.estimate(DEFAULT));
        byte[] bad = "{\"messages\":[{\"content\":\"\u00ff\"}],\"model\":\"m\"}".getBytes(StandardCharsets.ISO_8859_1); // 0xff is no UTF-8
        assertEquals("m", RequestFacts.of(new RequestBody(bad, bad.length), null).model(), "malformed UTF-8 is replaced, not refused");
    }
}
