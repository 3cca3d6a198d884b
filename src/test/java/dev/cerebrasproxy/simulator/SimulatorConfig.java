package dev.cerebrasproxy.simulator;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

/**
 * A simulator's settings as JSON, for the standalone simulator ({@link SimulatorMain}):
 *
 * <pre>{@code
 * {
 *   "time_scale": 6, "latency_ms": 20, "event_delay_ms": 5, "stream_chunks": 4,
 *   "models": {
 *     "llama3.1-8b": {"max_completion_tokens": 8192, "completion_tokens": 40,
 *                     "limits": {"requests_per_minute": 30, "tokens_per_minute": 6000, "requests_per_day": 14400,
 *                                "requests_per_hour": 0, "tokens_per_hour": 0}}
 *   },
 *   "organizations": {
 *     "org-a": {"keys": {"a1": "csk-...", "a2": "csk-..."}},
 *     "org-c": {"keys": {"c1": "csk-..."}, "limits": {"llama3.1-8b": {"requests_per_minute": 60}}}
 *   },
 *   "faults": {"a1": {"kind": "queue_exceeded", "probability": 0.05, "seed": 1, "model": "llama3.1-8b"}}
 * }
 * }</pre>
 *
 * Keys are written like {@code CEREBRAS_API_KEYS}: name to value. An organization's
 * limits for a model replace only the fields they name. Unknown fields are errors, so a
 * typo does not silently leave a default in place. Messages name fields, never values.
 */
public final class SimulatorConfig
{
    private SimulatorConfig()
    {
    }

    public static CerebrasSimulator.Builder parse(String json)
    {
        JsonObject root;
        try
        {
            JsonElement parsed = JsonParser.parseString(json);
            if (!parsed.isJsonObject())
                throw new IllegalArgumentException("the simulator's settings must be a JSON object");
            root = parsed.getAsJsonObject();
        }
        catch (JsonParseException e)
        {
            throw new IllegalArgumentException("the simulator's settings are not valid JSON");
        }
        only(root, "settings", Set.of("time_scale", "latency_ms", "event_delay_ms", "stream_chunks", "models", "organizations", "faults"));
        CerebrasSimulator.Builder builder = CerebrasSimulator.builder();
        Map<String, Model> models = new java.util.HashMap<>();
        if (root.has("time_scale"))
            builder.timeScale(root.get("time_scale").getAsDouble());
        if (root.has("latency_ms"))
            builder.latency(Duration.ofMillis(root.get("latency_ms").getAsLong()));
        if (root.has("event_delay_ms"))
            builder.eventDelay(Duration.ofMillis(root.get("event_delay_ms").getAsLong()));
        if (root.has("stream_chunks"))
            builder.streamChunks(root.get("stream_chunks").getAsInt());
        for (Map.Entry<String, JsonElement> entry : object(root, "models").entrySet())
        {
            JsonObject model = entry.getValue().getAsJsonObject();
            String where = "model " + entry.getKey();
            only(model, where, Set.of("max_completion_tokens", "completion_tokens", "limits"));
            if (!model.has("limits"))
                throw new IllegalArgumentException(where + " has no limits");
            Limits limits = limits(model.getAsJsonObject("limits"), null, where);
            Model built = new Model(entry.getKey(), limits,
                model.has("max_completion_tokens") ? model.get("max_completion_tokens").getAsLong() : 8192,
                model.has("completion_tokens") ? model.get("completion_tokens").getAsLong() : 20);
            builder.model(built);
            models.put(built.name(), built);
        }
        for (Map.Entry<String, JsonElement> entry : object(root, "organizations").entrySet())
        {
            JsonObject organization = entry.getValue().getAsJsonObject();
            String where = "organization " + entry.getKey();
            only(organization, where, Set.of("keys", "limits"));
            Organization built = Organization.named(entry.getKey());
            for (Map.Entry<String, JsonElement> key : object(organization, "keys").entrySet())
            {
                if (!key.getValue().isJsonPrimitive() || !key.getValue().getAsJsonPrimitive().isString())
                    throw new IllegalArgumentException(where + ": key " + key.getKey() + " must be a string");
                built.key(key.getKey(), key.getValue().getAsString());
            }
            if (organization.has("limits"))
            {
                for (Map.Entry<String, JsonElement> override : organization.getAsJsonObject("limits").entrySet())
                {
                    Model model = models.get(override.getKey());
                    if (model == null)
                        throw new IllegalArgumentException(where + " sets limits for model " + override.getKey() + ", which is not among the models");
                    built.limits(model.name(), limits(override.getValue().getAsJsonObject(), model.limits(), where + ", model " + model.name()));
                }
            }
            builder.organization(built);
        }
        return builder;
    }

    /** The faults of the settings, applied to a simulator built from them. */
    public static void applyFaults(String json, CerebrasSimulator simulator)
    {
        JsonObject root = JsonParser.parseString(json).getAsJsonObject();
        if (!root.has("faults"))
            return;
        for (Map.Entry<String, JsonElement> entry : root.getAsJsonObject("faults").entrySet())
        {
            JsonObject fault = entry.getValue().getAsJsonObject();
            String where = "fault of key " + entry.getKey();
            only(fault, where, Set.of("kind", "probability", "seed", "model"));
            Fault.Kind kind;
            try
            {
                kind = Fault.Kind.valueOf(fault.get("kind").getAsString().toUpperCase(Locale.ROOT));
            }
            catch (RuntimeException e)
            {
                throw new IllegalArgumentException(where + ": kind must be one of " + java.util.Arrays.toString(Fault.Kind.values()).toLowerCase(Locale.ROOT));
            }
            double probability = fault.has("probability") ? fault.get("probability").getAsDouble() : 1;
            Fault built = probability >= 1 ? Fault.always(kind) : Fault.sometimes(kind, probability, fault.has("seed") ? fault.get("seed").getAsLong() : 1);
            if (fault.has("model"))
                simulator.fault(entry.getKey(), fault.get("model").getAsString(), built);
            else
                simulator.fault(entry.getKey(), built);
        }
    }

    private static Limits limits(JsonObject json, Limits base, String where)
    {
        only(json, where + " limits", Set.of("requests_per_minute", "requests_per_hour", "requests_per_day", "tokens_per_minute", "tokens_per_hour"));
        if (base == null)
        {
            for (String required : new String[] {"requests_per_minute", "tokens_per_minute", "requests_per_day"})
            {
                if (!json.has(required))
                    throw new IllegalArgumentException(where + " limits need " + required);
            }
            base = new Limits(1, 0, 1, 1, 0);
        }
        return new Limits(
            number(json, "requests_per_minute", base.requestsPerMinute()),
            number(json, "requests_per_hour", base.requestsPerHour()),
            number(json, "requests_per_day", base.requestsPerDay()),
            number(json, "tokens_per_minute", base.tokensPerMinute()),
            number(json, "tokens_per_hour", base.tokensPerHour()));
    }

    static JsonObject json(Limits limits)
    {
        JsonObject json = new JsonObject();
        json.addProperty("requests_per_minute", limits.requestsPerMinute());
        json.addProperty("requests_per_hour", limits.requestsPerHour());
        json.addProperty("requests_per_day", limits.requestsPerDay());
        json.addProperty("tokens_per_minute", limits.tokensPerMinute());
        json.addProperty("tokens_per_hour", limits.tokensPerHour());
        return json;
    }

    private static long number(JsonObject json, String name, long otherwise)
    {
        return json.has(name) ? json.get(name).getAsLong() : otherwise;
    }

    private static JsonObject object(JsonObject parent, String name)
    {
        JsonElement value = parent.get(name);
        if (value == null || !value.isJsonObject())
            throw new IllegalArgumentException("the settings need \"" + name + "\", an object");
        return value.getAsJsonObject();
    }

    private static void only(JsonObject json, String where, Set<String> allowed)
    {
        for (String field : json.keySet())
        {
            if (!allowed.contains(field))
                throw new IllegalArgumentException(where + " has an unknown field \"" + field + "\"; known: " + new java.util.TreeSet<>(allowed));
        }
    }
}
