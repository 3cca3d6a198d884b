package dev.cerebrasproxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.concurrent.TimeoutException;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Callback;

/**
 * Listens to one upstream attempt and decides, from the status line alone, what becomes
 * of it: a 429 or 500 is read and discarded and the call is replayed with the next
 * key; anything else streams to the client as it arrives. Nothing of a discarded
 * attempt reaches the client, and once a byte has reached the client the call is never
 * replayed.
 */
final class ReplayingResponseListener implements Response.Listener
{
    /** Statuses that another key may absorb: rate limited, or an error of that key's shard. */
    static boolean isReplayable(int status)
    {
        return status == 429 || status == 500;
    }

    /** Enough of an error body to log its message; the rest is drained unread. */
    private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;

    private enum Mode
    {
        /** Status and headers went to the client; content follows as it arrives. */
        PASS,
        /** A replayable failure: read (capped) for the log, then replay. */
        DISCARD,
        /** Encoded in a way the client did not accept: read whole, decode, then send. */
        DECODE
    }

    private final CerebrasProxyServlet servlet;
    private final ProxiedCall call;
    private final ApiKey key;
    private Mode mode;
    private ByteArrayOutputStream held;

    ReplayingResponseListener(CerebrasProxyServlet servlet, ProxiedCall call, ApiKey key)
    {
        this.servlet = servlet;
        this.call = call;
        this.key = key;
    }

    @Override
    public void onHeaders(Response response)
    {
        String encoding = response.getHeaders().get(HttpHeader.CONTENT_ENCODING);
        if (isReplayable(response.getStatus()))
        {
            mode = Mode.DISCARD;
            held = new ByteArrayOutputStream();
        }
        else if (!ContentCoding.accepts(call.request.getHeader("Accept-Encoding"), encoding))
        {
            mode = Mode.DECODE;
            held = new ByteArrayOutputStream();
        }
        else
        {
            mode = Mode.PASS;
            servlet.beginResponse(call, key, response, false);
        }
    }

    @Override
    public void onContent(Response response, Content.Chunk chunk, Runnable demander)
    {
        if (mode == Mode.PASS)
        {
            chunk.retain();
            servlet.writeContent(call, response, chunk.getByteBuffer(), Callback.from(chunk::release, Callback.from(demander, response::abort)));
            return;
        }
        if (held != null)
            hold(chunk.getByteBuffer(), mode == Mode.DISCARD ? MAX_ERROR_BODY_BYTES : servlet.maxBodyBytes());
        demander.run();
    }

    private void hold(ByteBuffer buffer, long cap)
    {
        int room = (int)Math.max(0, Math.min(buffer.remaining(), cap - held.size()));
        if (buffer.hasArray())
        {
            held.write(buffer.array(), buffer.arrayOffset() + buffer.position(), room);
        }
        else
        {
            byte[] copy = new byte[room];
            buffer.get(copy);
            held.write(copy, 0, room);
        }
        if (room < buffer.remaining() && mode == Mode.DECODE)
            held = null; // over the cap: reported as a failure on completion
    }

    @Override
    public void onComplete(Result result)
    {
        Response response = result.getResponse();
        if (mode == Mode.DISCARD)
        {
            // Replay even if the failure's body was cut short: its status already said no.
            String reason = describeError(response, held.toByteArray());
            call.recordFailure(response.getStatus(), retryAfterSeconds(response.getHeaders().get(HttpHeader.RETRY_AFTER)));
            servlet.replay(call, key, response.getStatus(), reason);
        }
        else if (result.isFailed() && mode == null && !(result.getFailure() instanceof TimeoutException))
        {
            // Refused, or closed before a response byte: upstream never answered, so the
            // request was not served and another attempt cannot charge it twice.
            call.recordUnreachable();
            servlet.replayUnanswered(call, key, result.getFailure());
        }
        else if (result.isFailed())
        {
            servlet.fail(call, key, result.getFailure());
        }
        else if (mode == Mode.DECODE)
        {
            servlet.sendDecoded(call, key, response, held == null ? null : held.toByteArray());
        }
        else
        {
            servlet.complete(call, key, response.getStatus());
        }
    }

    /** The upstream error's code and message, for the log, never holding a key's value. */
    private String describeError(Response response, byte[] body)
    {
        String text;
        try
        {
            text = new String(ContentCoding.decode(response.getHeaders().get(HttpHeader.CONTENT_ENCODING), body), StandardCharsets.UTF_8);
        }
        catch (IOException e)
        {
            return "an undecodable body (" + e.getMessage() + ")";
        }
        try
        {
            JsonElement json = JsonParser.parseString(text);
            if (json.isJsonObject())
            {
                JsonObject error = json.getAsJsonObject();
                if (error.has("error") && error.get("error").isJsonObject())
                    error = error.getAsJsonObject("error");
                String code = error.has("code") && !error.get("code").isJsonNull() ? error.get("code").getAsString() : null;
                String message = error.has("message") && !error.get("message").isJsonNull() ? error.get("message").getAsString() : null;
                if (code != null || message != null)
                    text = (code == null ? "" : code + ": ") + (message == null ? "" : message);
            }
        }
        catch (RuntimeException notJson)
        {
            // log the text as it is
        }
        text = text.replaceAll("\\s+", " ").strip();
        if (text.length() > 200)
            text = text.substring(0, 200) + "...";
        return key.redact(text);
    }

    /** Seconds from a {@code Retry-After} header (delta-seconds or HTTP date), or -1. */
    static long retryAfterSeconds(String value)
    {
        if (value == null || value.isBlank())
            return -1;
        String trimmed = value.strip();
        try
        {
            return (long)Math.ceil(Double.parseDouble(trimmed));
        }
        catch (NumberFormatException notSeconds)
        {
            try
            {
                Instant at = ZonedDateTime.parse(trimmed, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                return Math.max(0, (long)Math.ceil(Duration.between(Instant.now(), at).toMillis() / 1000.0));
            }
            catch (DateTimeParseException notDate)
            {
                return -1;
            }
        }
    }
}
