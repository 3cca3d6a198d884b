package dev.cerebrasproxy.simulator;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * What the simulator needs of a chat completion request: its model, whether it streams,
 * and its prompt's size. Cerebras estimates a request before admitting it; so do we:
 * prompt tokens = ⌈characters / 4⌉ over the text of every message's content (a string,
 * or the {@code text} of each part), plus {@code max_completion_tokens}, else
 * {@code max_tokens}, else the model's maximum. The simulator's "tokenizer" is the same
 * rule, so the prompt tokens it reports and charges are the estimate's.
 */
record ChatRequest(String model, boolean stream, long promptTokens, Long maxCompletionTokens)
{
    static final class Invalid extends Exception
    {
        final String param;

        Invalid(String message, String param)
        {
            super(message, null, false, false);
            this.param = param;
        }
    }

    static ChatRequest parse(byte[] body) throws Invalid
    {
        JsonElement parsed;
        try
        {
            parsed = JsonParser.parseString(new String(body, java.nio.charset.StandardCharsets.UTF_8));
        }
        catch (JsonParseException e)
        {
            throw new Invalid("The request body is not valid JSON.", "body");
        }
        if (!parsed.isJsonObject())
            throw new Invalid("The request body must be a JSON object.", "body");
        JsonObject request = parsed.getAsJsonObject();
        String model = string(request, "model");
        if (model == null || model.isBlank())
            throw new Invalid("The request names no model.", "model");
        JsonElement messages = request.get("messages");
        if (messages == null || !messages.isJsonArray())
            throw new Invalid("The request has no messages array.", "messages");
        long characters = 0;
        for (JsonElement message : messages.getAsJsonArray())
        {
            if (!message.isJsonObject())
                throw new Invalid("Each message must be an object.", "messages");
            characters += contentCharacters(message.getAsJsonObject().get("content"));
        }
        Long max = number(request, "max_completion_tokens");
        if (max == null)
            max = number(request, "max_tokens");
        JsonElement stream = request.get("stream");
        boolean streams = stream != null && stream.isJsonPrimitive() && stream.getAsJsonPrimitive().isBoolean() && stream.getAsBoolean();
        return new ChatRequest(model, streams, tokensOf(characters), max);
    }

    /** ⌈characters / 4⌉. */
    static long tokensOf(long characters)
    {
        return (characters + 3) / 4;
    }

    private static long contentCharacters(JsonElement content) throws Invalid
    {
        if (content == null || content.isJsonNull())
            return 0;
        if (content.isJsonPrimitive() && content.getAsJsonPrimitive().isString())
            return codePoints(content.getAsString());
        if (content.isJsonArray())
        {
            long characters = 0;
            for (JsonElement part : content.getAsJsonArray())
            {
                if (part.isJsonObject())
                {
                    String text = string(part.getAsJsonObject(), "text");
                    if (text != null)
                        characters += codePoints(text);
                }
            }
            return characters;
        }
        throw new Invalid("A message's content must be a string or an array of parts.", "messages");
    }

    private static long codePoints(String text)
    {
        return text.codePointCount(0, text.length());
    }

    private static String string(JsonObject object, String name)
    {
        JsonElement value = object.get(name);
        return value != null && value.isJsonPrimitive() && value.getAsJsonPrimitive().isString() ? value.getAsString() : null;
    }

    private static Long number(JsonObject object, String name) throws Invalid
    {
        JsonElement value = object.get(name);
        if (value == null || value.isJsonNull())
            return null;
        if (!value.isJsonPrimitive() || !value.getAsJsonPrimitive().isNumber())
            throw new Invalid(name + " must be a positive integer.", name);
        long number;
        try
        {
            number = value.getAsBigDecimal().longValueExact();
        }
        catch (ArithmeticException e)
        {
            throw new Invalid(name + " must be a positive integer.", name);
        }
        if (number <= 0)
            throw new Invalid(name + " must be a positive integer.", name);
        return number;
    }

    /** The tokens admission reserves: prompt plus the most the answer may have. */
    long estimate(Model of)
    {
        return promptTokens + maxCompletion(of);
    }

    long maxCompletion(Model of)
    {
        return maxCompletionTokens != null ? maxCompletionTokens : of.maxCompletionTokens();
    }

    /** The completion tokens the answer really has: the model's, capped by the request's maximum. */
    long completionTokens(Model of)
    {
        return Math.min(of.completionTokens(), maxCompletion(of));
    }
}
