package dev.cerebrasproxy.forward;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the client limits read of a body: its model and an estimate of its tokens, and when they cannot be trusted. */
class RequestFactsTest
{
    private static RequestFacts of(String json, String coding)
    {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        return RequestFacts.of(new RequestBody(bytes, bytes.length), coding);
    }

    @Test
    void theModelAndTheLargerMaximumAreRead()
    {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"model max_tokens\"}],\"model\":\"qwen-3-32b\",\"max_tokens\":50,\"max_completion_tokens\":70}";
        RequestFacts facts = of(body, null);
        assertTrue(facts.readable());
        assertEquals("qwen-3-32b", facts.model(), "the top-level one, not a word in the prompt");
        assertEquals((body.length() + 3) / 4 + 70, facts.estimate());
        assertEquals((17 + 3) / 4 + RequestFacts.DEFAULT_COMPLETION_ESTIMATE, of("{\"model\":\"m\",\"x\":1}", "identity").estimate(), "no maximum: the default");
        assertEquals(RequestFacts.NO_BODY, RequestFacts.of(null, null));
    }

    @Test
    void whatCannotBeTrustedIsUnreadable()
    {
        assertFalse(of("{\"model\":\"a\",\"model\":\"b\"}", null).readable(), "upstream may take the other one");
        assertFalse(of("{\"model\":\"a\"}", "gzip").readable());
        assertFalse(of("[{\"model\":\"a\"}]", null).readable());
        assertFalse(of("{\"model\":7}", null).readable());
        assertFalse(of("{\"model\":\"a\"", null).readable(), "cut short");
        assertFalse(of("{model:'a'}", null).readable(), "not strict JSON");
        assertFalse(of("{\"model\":\"a\",\"max_tokens\":1e400}", null).readable(), "infinite");
        RequestFacts huge = of("{\"model\":\"a\",\"max_tokens\":1e300,\"max_completion_tokens\":-5}", null);
        assertTrue(huge.estimate() > 1_000_000_000L && huge.estimate() < Long.MAX_VALUE / 2, "capped, never overflowing: " + huge.estimate());
        assertNull(of("{\"messages\":[]}", null).model());
    }

    @Test
    void aLongBodyAndMalformedUtf8AreReadAsBefore()
    {
        String longPrompt = "x".repeat(20_000);
        RequestFacts facts = of("{\"messages\":[{\"role\":\"user\",\"content\":\"" + longPrompt + "\"}],\"model\":\"llama3.1-8b\"}", null);
        assertEquals("llama3.1-8b", facts.model(), "a model named past the first 8 KiB");
        byte[] bad = "{\"messages\":[{\"content\":\"\u00ff\"}],\"model\":\"m\"}".getBytes(StandardCharsets.ISO_8859_1); // 0xff is no UTF-8
        assertEquals("m", RequestFacts.of(new RequestBody(bad, bad.length), null).model(), "malformed UTF-8 is replaced, not refused");
    }

    /** The client's limits and the cost estimate read one pass over the body, made once. */
    @Test
    void bothReadersShareOnePassOverTheBody()
    {
        byte[] bytes = "{\"model\":\"m\",\"max_tokens\":7,\"prompt\":\"abcd\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        RequestBody body = new RequestBody(bytes, bytes.length);
        BodyScan scan = body.scan();
        assertEquals("m", RequestFacts.of(body, null).model());
        assertEquals(new dev.cerebrasproxy.pool.Demand("m", 1 + 7), CostEstimate.of(body, null, 1000));
        assertTrue(scan == body.scan(), "the same pass");
    }
}
