package dev.cerebrasproxy.forward;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * Finds the tokens an answer used in its {@code "usage"} object, from the bytes as they
 * pass to the client. Cerebras puts {@code usage} at the end: near the end of a
 * completion's JSON, and in the last {@code data:} event of a stream. So the scanner
 * keeps only the last {@value #TAIL_BYTES} bytes seen, copied aside: the bytes
 * themselves go on to the client untouched and unheld, and memory stays bounded however
 * long the answer. A gzip answer is decoded on the side as it passes ({@link GzipFeed});
 * other codings (br, deflate) are not, so their tokens are not counted.
 */
final class UsageScanner
{
    /** Tokens one answer used. */
    record Usage(long promptTokens, long completionTokens)
    {
    }

    /** Larger than any usage object with its neighbours (a final chunk is a few hundred bytes). */
    static final int TAIL_BYTES = 8 * 1024;
    private static final byte[] USAGE = "\"usage\"".getBytes(StandardCharsets.US_ASCII);

    private final byte[] tail = new byte[TAIL_BYTES];
    /** Decodes a gzip answer on the side, or null for one in identity coding. */
    private final GzipFeed gzip;
    /** How many bytes of {@link #tail} hold data, at its end after {@link #compact}. */
    private int filled;

    private UsageScanner(GzipFeed gzip)
    {
        this.gzip = gzip;
    }

    /** A scanner for an answer in this content coding (null for none), or null if it cannot read that coding. */
    static UsageScanner forCoding(String coding)
    {
        if (ContentCoding.isIdentity(coding))
            return new UsageScanner(null);
        return ContentCoding.isGzip(coding) ? new UsageScanner(new GzipFeed()) : null;
    }

    /** Takes a copy of what it needs from the buffer, leaving its position where it was. */
    void scan(ByteBuffer buffer)
    {
        if (gzip != null)
            gzip.feed(buffer, this::keepTail);
        else
            keepTail(buffer);
    }

    private void keepTail(ByteBuffer buffer)
    {
        ByteBuffer bytes = buffer.duplicate();
        int length = bytes.remaining();
        if (length >= TAIL_BYTES)
        {
            bytes.position(bytes.position() + length - TAIL_BYTES);
            bytes.get(tail, 0, TAIL_BYTES);
            filled = TAIL_BYTES;
            return;
        }
        int keep = Math.min(filled, TAIL_BYTES - length);
        System.arraycopy(tail, filled - keep, tail, 0, keep);
        bytes.get(tail, keep, length);
        filled = keep + length;
    }

    void scan(byte[] bytes)
    {
        scan(ByteBuffer.wrap(bytes));
    }

    /** The last {@code "usage"} object in what was seen, or null if there is none. */
    Usage usage()
    {
        if (gzip != null)
            gzip.stop(); // the answer is complete: give the inflater's native memory back now, not at GC
        for (int at = lastIndexOfUsage(filled); at >= 0; at = lastIndexOfUsage(at))
        {
            Usage usage = objectAfter(at + USAGE.length);
            if (usage != null)
                return usage;
        }
        return null;
    }

    /** Where {@code "usage"} last starts before {@code end}, or -1. */
    private int lastIndexOfUsage(int end)
    {
        outer:
        for (int i = end - USAGE.length; i >= 0; i--)
        {
            for (int j = 0; j < USAGE.length; j++)
            {
                if (tail[i + j] != USAGE[j])
                    continue outer;
            }
            return i;
        }
        return -1;
    }

    /** Parses {@code : {...}} from here, or null when it is not an object with token counts. */
    private Usage objectAfter(int from)
    {
        int i = skipSpace(from);
        if (i >= filled || tail[i] != ':')
            return null;
        i = skipSpace(i + 1);
        if (i >= filled || tail[i] != '{')
            return null;
        // usage is a flat object of numbers (and small nested objects): find its closing brace.
        int depth = 0;
        for (int end = i; end < filled; end++)
        {
            if (tail[end] == '{')
                depth++;
            else if (tail[end] == '}' && --depth == 0)
                return parse(new String(tail, i, end + 1 - i, StandardCharsets.UTF_8));
        }
        return null;
    }

    private int skipSpace(int i)
    {
        while (i < filled && (tail[i] == ' ' || tail[i] == '\t' || tail[i] == '\r' || tail[i] == '\n'))
            i++;
        return i;
    }

    private static Usage parse(String json)
    {
        try
        {
            JsonObject usage = JsonParser.parseString(json).getAsJsonObject();
            long prompt = number(usage.get("prompt_tokens"));
            long completion = number(usage.get("completion_tokens"));
            if (prompt < 0 && completion < 0)
                return null;
            return new Usage(Math.max(0, prompt), Math.max(0, completion));
        }
        catch (RuntimeException notUsage)
        {
            return null;
        }
    }

    private static long number(JsonElement element)
    {
        return element != null && element.isJsonPrimitive() && element.getAsJsonPrimitive().isNumber() ? element.getAsLong() : -1;
    }
}
