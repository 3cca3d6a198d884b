package bench;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Splits one response's body into server-sent events as its chunks arrive (an event may
 * span chunks), and times each event from the stub's {@code sent_us} stamp to now.
 */
final class EventReader
{
    interface Sink
    {
        /** An event arrived {@code travelMicros} after the stub wrote it. */
        void event(int index, long travelMicros);
    }

    private static final byte[] SENT = "\"sent_us\":".getBytes(StandardCharsets.US_ASCII);

    private final Sink sink;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream(256);
    private int events;
    private boolean done;

    EventReader(Sink sink)
    {
        this.sink = sink;
    }

    void feed(ByteBuffer content)
    {
        long now = Clock.epochMicros();
        while (content.hasRemaining())
        {
            byte b = content.get();
            pending.write(b);
            if (b == '\n' && endsWithBlankLine())
            {
                eventEnded(pending.toByteArray(), now);
                pending.reset();
            }
        }
    }

    private boolean endsWithBlankLine()
    {
        byte[] bytes = pending.toByteArray();
        int n = bytes.length;
        return n >= 2 && bytes[n - 2] == '\n';
    }

    private void eventEnded(byte[] event, long now)
    {
        String text = new String(event, StandardCharsets.UTF_8);
        if (text.startsWith("data: [DONE]"))
        {
            done = true;
            return;
        }
        int at = text.indexOf("\"sent_us\":");
        if (at < 0)
            return;
        int from = at + SENT.length;
        int to = from;
        while (to < text.length() && Character.isDigit(text.charAt(to)))
            to++;
        sink.event(events++, now - Long.parseLong(text.substring(from, to)));
    }

    int events()
    {
        return events;
    }

    /** Whether {@code data: [DONE]} arrived: the stream ended as the stub ended it. */
    boolean done()
    {
        return done;
    }
}
