package dev.cerebrasproxy.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import jakarta.servlet.ServletOutputStream;

/**
 * A server-sent event stream played in lock step: the fake upstream writes one event and
 * waits until the test has read it before writing the next. A proxy that buffers holds
 * the first event back, the test never reads it, and the test fails; no timing involved.
 */
public final class EventStream
{
    private final int events;
    /** An event after the numbered ones (e.g. the final chunk with usage), or null. */
    private final String lastEvent;
    private final Semaphore read = new Semaphore(0);
    private volatile boolean gateTimedOut;

    public EventStream(int events)
    {
        this(events, null);
    }

    /** @param lastEvent a {@code data:} line sent, in lock step too, after the numbered events and before [DONE] */
    public EventStream(int events, String lastEvent)
    {
        this.events = events;
        this.lastEvent = lastEvent;
    }

    public static String event(int i)
    {
        return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token" + i + "\"}}]}";
    }

    /** The upstream side: event, wait for the reader, next event; then [DONE]. */
    public FakeCerebras.Reply reply()
    {
        return (request, response) ->
        {
            response.setStatus(200);
            response.setContentType("text/event-stream");
            response.setHeader("Cache-Control", "no-cache");
            ServletOutputStream output = response.getOutputStream();
            for (int i = 0; i < events; i++)
            {
                FakeCerebras.writeAndFlush(output, event(i) + "\n\n");
                if (!read.tryAcquire(20, TimeUnit.SECONDS))
                {
                    gateTimedOut = true;
                    throw new IOException("the client never read event " + i + ": the proxy held it back");
                }
            }
            if (lastEvent != null)
            {
                FakeCerebras.writeAndFlush(output, lastEvent + "\n\n");
                if (!read.tryAcquire(20, TimeUnit.SECONDS))
                {
                    gateTimedOut = true;
                    throw new IOException("the client never read the last event: the proxy held it back");
                }
            }
            FakeCerebras.writeAndFlush(output, "data: [DONE]\n\n");
        };
    }

    /** Something the client does between two events, upstream waiting meanwhile. */
    public interface Pause
    {
        void run() throws Exception;
    }

    /** The client side: reads each event, checks it, and lets upstream send the next. */
    public void readAll(InputStream body) throws IOException
    {
        try
        {
            readAll(body, -1, () -> { });
        }
        catch (IOException | RuntimeException | Error e)
        {
            throw e;
        }
        catch (Exception e)
        {
            throw new IllegalStateException(e);
        }
    }

    /** Like {@link #readAll(InputStream)}, but after event {@code pauseAfter} runs {@code pause} before upstream may send the next. */
    public void readAll(InputStream body, int pauseAfter, Pause pause) throws Exception
    {
        BufferedReader reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
        for (int i = 0; i < events; i++)
        {
            String line = reader.readLine();
            if (!event(i).equals(line))
                throw new AssertionError("event " + i + ": expected " + event(i) + " but got " + line);
            if (!"".equals(reader.readLine()))
                throw new AssertionError("event " + i + " not followed by a blank line");
            if (i == pauseAfter)
                pause.run();
            read.release();
        }
        if (lastEvent != null)
        {
            String line = reader.readLine();
            if (!lastEvent.equals(line) || !"".equals(reader.readLine()))
                throw new AssertionError("expected the last event " + lastEvent + " but got " + line);
            read.release();
        }
        if (!"data: [DONE]".equals(reader.readLine()))
            throw new AssertionError("no [DONE] after " + events + " events");
    }

    public boolean gateTimedOut()
    {
        return gateTimedOut;
    }
}
