package dev.cerebrasproxy.forward;

import java.io.IOException;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.cerebrasproxy.pool.Demand;

/**
 * What a request body says of its cost, read once for both who need it: the client's own
 * limits and the pool's budgets hold the same estimate, the one Cerebras admits a
 * request by before any work: prompt characters / 4 (a token is about four characters of
 * English), plus {@code max_completion_tokens}, or {@code max_tokens} when that is absent,
 * or the configured default maximum ({@code PROXY_DEFAULT_MAX_COMPLETION_TOKENS}) when it
 * sets neither. The prompt's characters are those of every string value but the model.
 *
 * <p>Read with a streaming reader, so a long prompt is scanned, never built into a tree.
 * A body that is not a JSON object in identity coding (gzip, msgpack), that names its
 * model twice (upstream might honour the other one) or not as a string, or that breaks
 * off, is unreadable: it names no model (the pool uses the organization's general state,
 * and a client held to a list of models cannot send it), and each of its bytes counts as
 * a prompt character.
 *
 * @param model the model named, or null when the body names none, is unreadable, or there is none
 * @param promptCharacters the characters the estimate divides by four
 * @param maxCompletion the maximum the request sets for its completion, or -1 when it sets none
 */
record RequestFacts(String model, long promptCharacters, long maxCompletion, boolean readable)
{
    static final RequestFacts NO_BODY = new RequestFacts(null, 0, 0, true);

    /** The tokens Cerebras will hold for the request: 0 without a body. */
    long estimate(long defaultMaxCompletion)
    {
        return (promptCharacters + 3) / 4 + (maxCompletion >= 0 ? maxCompletion : defaultMaxCompletion);
    }

    /** What the request asks of the pool's budgets. */
    Demand demand(long defaultMaxCompletion)
    {
        return equals(NO_BODY) ? Demand.NONE : new Demand(model, estimate(defaultMaxCompletion));
    }

    static RequestFacts of(RequestBody body, String contentEncoding)
    {
        if (body == null || body.length() == 0)
            return NO_BODY;
        if (!ContentCoding.isIdentity(contentEncoding))
            return unreadable(body);
        try (JsonReader json = new JsonReader(body.text()))
        {
            if (json.peek() != JsonToken.BEGIN_OBJECT)
                return unreadable(body);
            json.beginObject();
            String model = null;
            long characters = 0;
            long maxCompletion = -1;
            long maxTokens = -1;
            while (json.hasNext())
            {
                String name = json.nextName();
                JsonToken token = json.peek();
                if (name.equals("model"))
                {
                    if (model != null || token != JsonToken.STRING)
                        return unreadable(body);
                    model = json.nextString();
                }
                else if (name.equals("max_completion_tokens") && token == JsonToken.NUMBER)
                {
                    maxCompletion = maximum(json.nextDouble());
                }
                else if (name.equals("max_tokens") && token == JsonToken.NUMBER)
                {
                    maxTokens = maximum(json.nextDouble());
                }
                else
                {
                    characters += characters(json);
                }
            }
            json.endObject();
            return new RequestFacts(model, characters, maxCompletion >= 0 ? maxCompletion : maxTokens, true);
        }
        catch (IOException | RuntimeException notJson)
        {
            return unreadable(body);
        }
    }

    /** A maximum as the estimate counts it: a negative one is none, a huge one capped so no sum overflows. */
    private static long maximum(double value)
    {
        return value < 0 ? -1 : (long)Math.min(Long.MAX_VALUE / 4, value);
    }

    private static RequestFacts unreadable(RequestBody body)
    {
        return new RequestFacts(null, body.length(), -1, false);
    }

    /** The characters of every string in the value at the reader, which it consumes. */
    private static long characters(JsonReader json) throws IOException
    {
        switch (json.peek())
        {
            case STRING:
                return json.nextString().length();
            case BEGIN_ARRAY:
            {
                long sum = 0;
                json.beginArray();
                while (json.hasNext())
                    sum += characters(json);
                json.endArray();
                return sum;
            }
            case BEGIN_OBJECT:
            {
                long sum = 0;
                json.beginObject();
                while (json.hasNext())
                {
                    json.nextName();
                    sum += characters(json);
                }
                json.endObject();
                return sum;
            }
            default:
                json.skipValue();
                return 0;
        }
    }
}
