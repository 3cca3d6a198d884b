package dev.cerebrasproxy.simulator;

import java.util.ArrayList;
import java.util.List;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

/** The bodies the simulator answers with, shaped like Cerebras's. */
final class Answers
{
    private Answers()
    {
    }

    /** Cerebras's flat error shape, every value a string. */
    static String error(String message, String type, String param, String code)
    {
        JsonObject error = new JsonObject();
        error.addProperty("message", message);
        error.addProperty("type", type);
        error.addProperty("param", param);
        error.addProperty("code", code);
        return error.toString();
    }

    static String wrongApiKey()
    {
        return error(Fault.Kind.WRONG_API_KEY.message, Fault.Kind.WRONG_API_KEY.type, Fault.Kind.WRONG_API_KEY.param, Fault.Kind.WRONG_API_KEY.code);
    }

    static String modelNotFound(String model)
    {
        return error("Model " + model + " does not exist or you do not have access to it.", "not_found_error", "model", "model_not_found");
    }

    /** The answer's text: one word per completion token, so its size follows its usage. */
    static String text(long completionTokens)
    {
        StringBuilder text = new StringBuilder();
        for (long i = 0; i < completionTokens; i++)
            text.append(i == 0 ? "tok" : " tok");
        return text.toString();
    }

    static JsonObject usage(long promptTokens, long completionTokens)
    {
        JsonObject usage = new JsonObject();
        usage.addProperty("prompt_tokens", promptTokens);
        usage.addProperty("completion_tokens", completionTokens);
        usage.addProperty("total_tokens", promptTokens + completionTokens);
        return usage;
    }

    static String completion(String id, long created, String model, long promptTokens, long completionTokens, String finishReason)
    {
        JsonObject message = new JsonObject();
        message.addProperty("role", "assistant");
        message.addProperty("content", text(completionTokens));
        JsonObject choice = new JsonObject();
        choice.addProperty("index", 0);
        choice.add("message", message);
        choice.addProperty("finish_reason", finishReason);
        JsonArray choices = new JsonArray();
        choices.add(choice);
        JsonObject completion = header(id, "chat.completion", created, model);
        completion.add("choices", choices);
        completion.add("usage", usage(promptTokens, completionTokens));
        return completion.toString();
    }

    /**
     * The events of a streamed answer: the completion's words spread over {@code chunks}
     * content events, then one event with the finish reason and {@code usage}, then
     * {@code [DONE]}; each already framed as {@code data: ...\n\n}.
     */
    static List<String> stream(String id, long created, String model, long promptTokens, long completionTokens, String finishReason, int chunks)
    {
        List<String> events = new ArrayList<>();
        String[] words = text(completionTokens).split(" ");
        int parts = (int)Math.max(1, Math.min(chunks, words.length));
        for (int part = 0; part < parts; part++)
        {
            StringBuilder content = new StringBuilder();
            for (int w = part * words.length / parts; w < (part + 1) * words.length / parts; w++)
                content.append(w == 0 ? "" : " ").append(words[w]);
            JsonObject delta = new JsonObject();
            if (part == 0)
                delta.addProperty("role", "assistant");
            delta.addProperty("content", content.toString());
            events.add(data(chunk(id, created, model, delta, null)));
        }
        JsonObject last = chunk(id, created, model, new JsonObject(), finishReason);
        last.add("usage", usage(promptTokens, completionTokens));
        events.add(data(last));
        events.add("data: [DONE]\n\n");
        return events;
    }

    private static JsonObject chunk(String id, long created, String model, JsonObject delta, String finishReason)
    {
        JsonObject choice = new JsonObject();
        choice.addProperty("index", 0);
        choice.add("delta", delta);
        if (finishReason != null)
            choice.addProperty("finish_reason", finishReason);
        JsonArray choices = new JsonArray();
        choices.add(choice);
        JsonObject chunk = header(id, "chat.completion.chunk", created, model);
        chunk.add("choices", choices);
        return chunk;
    }

    private static JsonObject header(String id, String object, long created, String model)
    {
        JsonObject header = new JsonObject();
        header.addProperty("id", id);
        header.addProperty("object", object);
        header.addProperty("created", created);
        header.addProperty("model", model);
        header.addProperty("system_fingerprint", "fp_simulator");
        return header;
    }

    private static String data(JsonObject event)
    {
        return "data: " + event + "\n\n";
    }

    static String models(List<Model> models)
    {
        JsonArray data = new JsonArray();
        for (Model model : models)
            data.add(model(model));
        JsonObject list = new JsonObject();
        list.addProperty("object", "list");
        list.add("data", data);
        return list.toString();
    }

    static JsonObject model(Model model)
    {
        JsonObject object = new JsonObject();
        object.addProperty("id", model.name());
        object.addProperty("object", "model");
        object.addProperty("created", 0);
        object.addProperty("owned_by", "cerebras-simulator");
        return object;
    }
}
