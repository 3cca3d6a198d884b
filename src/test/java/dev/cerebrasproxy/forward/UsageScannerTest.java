package dev.cerebrasproxy.forward;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import dev.cerebrasproxy.support.Codings;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.COMPLETION;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Usage is found in the bytes as they pass, whatever the chunking, keeping only a bounded tail. */
class UsageScannerTest
{
    private static UsageScanner.Usage scan(String... chunks)
    {
        UsageScanner scanner = UsageScanner.forCoding(null);
        for (String chunk : chunks)
            scanner.scan(chunk.getBytes(StandardCharsets.UTF_8));
        return scanner.usage();
    }

    @Test
    void aCompletionsUsage()
    {
        assertEquals(new UsageScanner.Usage(5, 2), scan(COMPLETION));
    }

    @Test
    void onlyTheUsageObjectsOwnCountsAreRead()
    {
        assertEquals(new UsageScanner.Usage(7, 3), scan("{\"usage\": {\"prompt_tokens_details\": {\"cached_tokens\": 4, \"prompt_tokens\": 99},"
            + " \"prompt_tokens\" : 7, \"note\": \"a \\\"quoted\\\" } brace\", \"completion_tokens\":3, \"total_tokens\": 10}}"));
        assertEquals(new UsageScanner.Usage(0, 3), scan("{\"usage\":{\"prompt_tokens\":\"7\",\"completion_tokens\":3}}"), "a count as a string is no count");
        assertNull(scan("{\"usage\":{\"prompt_tokens\":7"), "an object cut off is not read");
    }

    @Test
    void usageSplitAcrossChunksAnywhere()
    {
        String body = COMPLETION;
        for (int cut = 1; cut < body.length(); cut++)
            assertEquals(new UsageScanner.Usage(5, 2), scan(body.substring(0, cut), body.substring(cut)), "cut at " + cut);
    }

    @Test
    void aStreamsLastUsageWinsAndNullUsageIsPassedOver()
    {
        assertEquals(new UsageScanner.Usage(11, 13), scan(
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":13,\"total_tokens\":24}}\n\n",
            "data: [DONE]\n\n"));
    }

    @Test
    void usageAfterALongAnswerIsFoundWithABoundedTail()
    {
        String filler = "data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(1000) + "\"}}]}\n\n";
        UsageScanner scanner = UsageScanner.forCoding(null);
        scanner.scan(("{\"usage\":{\"prompt_tokens\":999,\"completion_tokens\":999}}").getBytes(StandardCharsets.UTF_8));
        for (int i = 0; i < 1000; i++)
            scanner.scan(filler.getBytes(StandardCharsets.UTF_8));
        assertNull(scanner.usage(), "usage that scrolled out of the tail is gone, as it should be: memory is bounded");
        scanner.scan("data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(new UsageScanner.Usage(3, 4), scanner.usage());
        // A single chunk larger than the tail keeps only its end.
        scanner.scan(("{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}" + " ".repeat(UsageScanner.TAIL_BYTES * 2)).getBytes(StandardCharsets.UTF_8));
        assertNull(scanner.usage());
    }

    @Test
    void textThatMentionsUsageIsNotUsage()
    {
        assertNull(scan("{\"choices\":[{\"message\":{\"content\":\"the \\\"usage\\\": {\\\"prompt_tokens\\\": 9}\"}}]}"));
        assertNull(scan("{\"usage\":\"none\"}"));
        assertNull(scan("nothing here"));
    }

    @Test
    void scanningLeavesTheBufferAsItWas()
    {
        ByteBuffer buffer = ByteBuffer.wrap(COMPLETION.getBytes(StandardCharsets.UTF_8));
        UsageScanner.forCoding(null).scan(buffer);
        assertEquals(0, buffer.position());
        assertEquals(COMPLETION.length(), buffer.remaining());
    }

    @Test
    void aGzipAnswerIsDecodedOnTheSideWhateverTheChunking() throws Exception
    {
        byte[] gzipped = Codings.gzip(COMPLETION.getBytes(StandardCharsets.UTF_8));
        for (int size : new int[] {1, 2, 7, 10, 11, 64, gzipped.length})
        {
            UsageScanner scanner = UsageScanner.forCoding("gzip");
            for (int at = 0; at < gzipped.length; at += size)
                scanner.scan(ByteBuffer.wrap(gzipped, at, Math.min(size, gzipped.length - at)));
            assertEquals(new UsageScanner.Usage(5, 2), scanner.usage(), "chunks of " + size);
        }
    }

    @Test
    void bytesThatAreNotGzipAreLeftAloneQuietly()
    {
        UsageScanner scanner = UsageScanner.forCoding("gzip");
        scanner.scan(COMPLETION.getBytes(StandardCharsets.UTF_8));
        assertNull(scanner.usage());
        assertNull(UsageScanner.forCoding("br"), "a coding it cannot read gets no scanner");
    }
}
