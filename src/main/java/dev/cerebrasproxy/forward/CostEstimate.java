package dev.cerebrasproxy.forward;

import java.io.IOException;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.cerebrasproxy.pool.Demand;

/**
 * What a request will cost its budget, estimated from its body the way Cerebras admits
 * it before any work: prompt characters / 4, plus {@code max_completion_tokens} (or
 * {@code max_tokens}), or the configured default maximum when the request sets neither.
 * Read as a stream so a large body is not built into a tree. A body that is not JSON in
 * identity coding (gzip, msgpack) names no model the proxy can see: it costs the default
 * maximum and uses the organization's general state.
 */
final class CostEstimate
{
    private CostEstimate()
    {
    }

    /**
     * @param body the request's body, or null for none
     * @param contentEncoding the request's {@code Content-Encoding}, or null
     * @param defaultMaxCompletion the completion's maximum when the request names none
     */
    static Demand of(RequestBody body, String contentEncoding, long defaultMaxCompletion)
    {
        if (body == null || body.length() == 0)
            return Demand.NONE;
        if (contentEncoding != null && !contentEncoding.isBlank() && !contentEncoding.strip().equalsIgnoreCase("identity"))
            return new Demand(null, defaultMaxCompletion);
        String model = null;
        long promptChars = 0;
        long maxCompletion = -1;
        long maxTokens = -1;
        try (JsonReader json = new JsonReader(body.text()))
        {
            if (json.peek() != JsonToken.BEGIN_OBJECT)
                return new Demand(null, defaultMaxCompletion);
            json.beginObject();
            while (json.hasNext())
            {
                String name = json.nextName();
                JsonToken token = json.peek();
                if (name.equals("model") && token == JsonToken.STRING)
                    model = json.nextString();
                else if (name.equals("max_completion_tokens") && token == JsonToken.NUMBER)
                    maxCompletion = Math.max(0, (long)json.nextDouble());
                else if (name.equals("max_tokens") && token == JsonToken.NUMBER)
                    maxTokens = Math.max(0, (long)json.nextDouble());
                else
                    promptChars += characters(json);
            }
        }
        catch (IOException | RuntimeException notJson)
        {
            // Upstream will say what is wrong with the body; the proxy only could not estimate it.
            return new Demand(model, defaultMaxCompletion);
        }
        long completion = maxCompletion >= 0 ? maxCompletion : maxTokens >= 0 ? maxTokens : defaultMaxCompletion;
        return new Demand(model, (promptChars + 3) / 4 + completion);
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
