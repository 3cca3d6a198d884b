package dev.cerebrasproxy.forward;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;


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
    private static final byte[] PROMPT_TOKENS = "prompt_tokens".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] COMPLETION_TOKENS = "completion_tokens".getBytes(StandardCharsets.US_ASCII);

    /**
     * The last bytes seen, grown as needed up to {@link #TAIL_BYTES}: most answers are far
     * smaller, and a fixed 8 KiB per request was a fifth of what the proxy allocated.
     */
    private byte[] tail = new byte[0];
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
            if (tail.length < TAIL_BYTES)
                tail = new byte[TAIL_BYTES];
            bytes.position(bytes.position() + length - TAIL_BYTES);
            bytes.get(tail, 0, TAIL_BYTES);
            filled = TAIL_BYTES;
            return;
        }
        if (filled + length > tail.length && tail.length < TAIL_BYTES)
            tail = java.util.Arrays.copyOf(tail, Math.min(TAIL_BYTES, Math.max(filled + length, 2 * tail.length)));
        int keep = Math.min(filled, tail.length - length);
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
        return counts(i);
    }

    /**
     * Reads prompt_tokens and completion_tokens from the object starting at {@code open}
     * (its own keys only, not those of nested objects), or null when it is not a whole
     * object or has neither as a number. By hand: a JSON parser allocated a 1 KiB reader
     * buffer per answer, a tenth of what the proxy allocated.
     */
    private Usage counts(int open)
    {
        long prompt = -1;
        long completion = -1;
        int depth = 0;
        for (int i = open; i < filled; i++)
        {
            byte b = tail[i];
            if (b == '{' || b == '[')
            {
                depth++;
            }
            else if (b == '}' || b == ']')
            {
                if (--depth == 0)
                    return prompt < 0 && completion < 0 ? null : new Usage(Math.max(0, prompt), Math.max(0, completion));
            }
            else if (b == '"')
            {
                int end = endOfString(i + 1);
                if (end < 0)
                    return null;
                if (depth == 1)
                {
                    int colon = skipSpace(end + 1);
                    if (colon < filled && tail[colon] == ':')
                    {
                        long value = number(skipSpace(colon + 1));
                        if (is(i + 1, end, PROMPT_TOKENS))
                            prompt = value;
                        else if (is(i + 1, end, COMPLETION_TOKENS))
                            completion = value;
                    }
                }
                i = end;
            }
        }
        return null;
    }

    /** Where the string whose content starts at {@code from} closes, or -1 past what was seen. */
    private int endOfString(int from)
    {
        for (int i = from; i < filled; i++)
        {
            if (tail[i] == '\\')
                i++;
            else if (tail[i] == '"')
                return i;
        }
        return -1;
    }

    private boolean is(int from, int end, byte[] name)
    {
        return end - from == name.length && java.util.Arrays.equals(tail, from, end, name, 0, name.length);
    }

    /** The whole number starting here, or -1 when none does (a string, null, a negative or a fraction). */
    private long number(int from)
    {
        long value = 0;
        int i = from;
        while (i < filled && tail[i] >= '0' && tail[i] <= '9' && i - from < 18)
            value = value * 10 + (tail[i++] - '0');
        if (i == from || (i < filled && (tail[i] == '.' || tail[i] == 'e' || tail[i] == 'E')))
            return -1;
        return value;
    }

    private int skipSpace(int i)
    {
        while (i < filled && (tail[i] == ' ' || tail[i] == '\t' || tail[i] == '\r' || tail[i] == '\n'))
            i++;
        return i;
    }

}
