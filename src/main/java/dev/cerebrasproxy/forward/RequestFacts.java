package dev.cerebrasproxy.forward;

import java.io.IOException;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

/**
 * What the client's limits need of a request body: the model it names and the tokens it
 * may use. Read with a streaming reader that skips every other value, so a long prompt
 * is scanned, never built into a tree. A body that is not a JSON object in identity
 * coding (gzip, msgpack), or that names its model twice (upstream might honour the other
 * one), is unreadable: a client held to a list of models cannot send one.
 *
 * @param model the model named, or null when the body names none (or there is no body)
 * @param estimate the prompt's bytes / 4 (a token is about four characters of English),
 * plus max_completion_tokens or max_tokens, or {@link #DEFAULT_COMPLETION_ESTIMATE}
 * when it sets neither; 0 without a body
 */
record RequestFacts(String model, long estimate, boolean readable)
{
    /** Held for a completion whose request sets no maximum; the answer's usage then settles it. */
    static final long DEFAULT_COMPLETION_ESTIMATE = 1024;
    static final RequestFacts NO_BODY = new RequestFacts(null, 0, true);

    static RequestFacts of(RequestBody body, String contentEncoding)
    {
        if (body == null || body.length() == 0)
            return NO_BODY;
        long promptEstimate = (body.length() + 3L) / 4;
        if (!ContentCoding.isIdentity(contentEncoding))
            return unreadable(promptEstimate);
        try (JsonReader json = new JsonReader(body.text()))
        {
            if (json.peek() != JsonToken.BEGIN_OBJECT)
                return unreadable(promptEstimate);
            json.beginObject();
            String model = null;
            long maxTokens = -1;
            while (json.hasNext())
            {
                String name = json.nextName();
                if (name.equals("model"))
                {
                    if (model != null || json.peek() != JsonToken.STRING)
                        return unreadable(promptEstimate);
                    model = json.nextString();
                }
                else if ((name.equals("max_completion_tokens") || name.equals("max_tokens")) && json.peek() == JsonToken.NUMBER)
                {
                    maxTokens = Math.max(maxTokens, (long)Math.min(Long.MAX_VALUE / 4, Math.max(0, json.nextDouble())));
                }
                else
                {
                    json.skipValue();
                }
            }
            return new RequestFacts(model, promptEstimate + (maxTokens >= 0 ? maxTokens : DEFAULT_COMPLETION_ESTIMATE), true);
        }
        catch (IOException | RuntimeException notJson)
        {
            return unreadable(promptEstimate);
        }
    }

    private static RequestFacts unreadable(long promptEstimate)
    {
        return new RequestFacts(null, promptEstimate + DEFAULT_COMPLETION_ESTIMATE, false);
    }
}
