package dev.cerebrasproxy.forward;

import java.io.IOException;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

/**
 * One streaming pass over a JSON request body for what both of its readers need: the
 * client's limits ({@link RequestFacts}) and the pool's cost estimate
 * ({@link CostEstimate}). Each read the body with its own parser; one pass, kept on the
 * body ({@link RequestBody#scan}), halves that work. A long prompt is scanned, never
 * built into a tree.
 */
final class BodyScan
{
    /** Whether the body starts as a JSON object. */
    final boolean object;
    /** Whether the body broke off or was not strict JSON somewhere. */
    final boolean failed;
    /** The last string named "model" at the top level, or null. */
    final String model;
    /** Whether "model" came twice, or as something other than a string. */
    final boolean modelInDoubt;
    /** The characters of every string outside model and the two maximums. */
    final long promptChars;
    /** The last max_completion_tokens and max_tokens given as numbers (at least 0), -1 when absent. */
    final long maxCompletionTokens;
    final long maxTokens;
    /** The largest of every max_completion_tokens and max_tokens given, at most Long.MAX_VALUE / 4; -1 when none. */
    final long largestMaximum;

    private BodyScan(boolean object, boolean failed, String model, boolean modelInDoubt, long promptChars, long maxCompletionTokens, long maxTokens,
        long largestMaximum)
    {
        this.object = object;
        this.failed = failed;
        this.model = model;
        this.modelInDoubt = modelInDoubt;
        this.promptChars = promptChars;
        this.maxCompletionTokens = maxCompletionTokens;
        this.maxTokens = maxTokens;
        this.largestMaximum = largestMaximum;
    }

    static BodyScan of(RequestBody body)
    {
        String model = null;
        boolean inDoubt = false;
        long promptChars = 0;
        long maxCompletion = -1;
        long maxTokens = -1;
        long largest = -1;
        try (JsonReader json = new JsonReader(body.text()))
        {
            if (json.peek() != JsonToken.BEGIN_OBJECT)
                return new BodyScan(false, false, null, false, 0, -1, -1, -1);
            json.beginObject();
            while (json.hasNext())
            {
                String name = json.nextName();
                JsonToken token = json.peek();
                if (name.equals("model"))
                {
                    inDoubt |= model != null || token != JsonToken.STRING;
                    if (token == JsonToken.STRING)
                        model = json.nextString();
                    else
                        promptChars += characters(json);
                }
                else if ((name.equals("max_completion_tokens") || name.equals("max_tokens")) && token == JsonToken.NUMBER)
                {
                    double value = json.nextDouble();
                    if (name.equals("max_tokens"))
                        maxTokens = Math.max(0, (long)value);
                    else
                        maxCompletion = Math.max(0, (long)value);
                    largest = Math.max(largest, (long)Math.min(Long.MAX_VALUE / 4, Math.max(0, value)));
                }
                else
                    promptChars += characters(json);
            }
        }
        catch (IOException | RuntimeException notJson)
        {
            return new BodyScan(true, true, model, inDoubt, promptChars, maxCompletion, maxTokens, largest);
        }
        return new BodyScan(true, false, model, inDoubt, promptChars, maxCompletion, maxTokens, largest);
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
