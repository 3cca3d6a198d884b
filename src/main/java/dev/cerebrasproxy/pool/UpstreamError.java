package dev.cerebrasproxy.pool;

import java.nio.charset.StandardCharsets;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * An error answer from upstream: its JSON {@code code} (which says whether a 429 is about
 * the key or about Cerebras's capacity) and a one-line description for the log. Reads
 * Cerebras's flat shape and the nested OpenAI shape {@code {"error":{...}}}, from a body
 * already decoded from its content coding.
 *
 * @param code upstream's error code, or null
 * @param description code and message for the log, not yet redacted
 */
public record UpstreamError(String code, String description)
{
    /** Cerebras's "We're experiencing high traffic right now!": no key can help. */
    static final String QUEUE_EXCEEDED = "queue_exceeded";

    /** A body that could not be decoded from its content coding: nothing to read but why. */
    public static UpstreamError undecodable(String why)
    {
        return new UpstreamError(null, "an undecodable body (" + why + ")");
    }

    /** @param decoded the body in identity coding */
    public static UpstreamError parse(byte[] decoded)
    {
        String text = new String(decoded, StandardCharsets.UTF_8);
        String code = null;
        try
        {
            JsonElement json = JsonParser.parseString(text);
            if (json.isJsonObject())
            {
                JsonObject error = json.getAsJsonObject();
                if (error.has("error") && error.get("error").isJsonObject())
                    error = error.getAsJsonObject("error");
                code = stringOrNull(error, "code");
                String message = stringOrNull(error, "message");
                if (code != null || message != null)
                    text = (code == null ? "" : code + ": ") + (message == null ? "" : message);
            }
        }
        catch (RuntimeException notJson)
        {
            // describe the text as it is
        }
        text = text.replaceAll("\\s+", " ").strip();
        if (text.length() > 200)
            text = text.substring(0, 200) + "...";
        return new UpstreamError(code, text);
    }

    private static String stringOrNull(JsonObject object, String name)
    {
        JsonElement value = object.get(name);
        return value == null || value.isJsonNull() || !value.isJsonPrimitive() ? null : value.getAsString();
    }

    boolean isCapacity()
    {
        return QUEUE_EXCEEDED.equals(code);
    }
}
