package bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * Prints the keys of a simulator settings file as the proxy's {@code CEREBRAS_API_KEYS}
 * (name to value, every organization's keys), so the proxy holds exactly the simulator's
 * keys under the same names. Usage: {@code SettingsKeys settings.json [--organizations]}:
 * with {@code --organizations} each entry also names its organization
 * ({@code {"a1":{"key":"csk-...","organization":"org-a"}}}), as a user who knows which keys
 * share one declares it; without, each key is its own entry and the pool must find out.
 */
public final class SettingsKeys
{
    private SettingsKeys()
    {
    }

    public static void main(String[] args) throws Exception
    {
        JsonObject settings = JsonParser.parseString(Files.readString(Path.of(args[0]))).getAsJsonObject();
        boolean declare = args.length > 1 && args[1].equals("--organizations");
        JsonObject keys = new JsonObject();
        for (Map.Entry<String, JsonElement> organization : settings.getAsJsonObject("organizations").entrySet())
        {
            for (Map.Entry<String, JsonElement> key : organization.getValue().getAsJsonObject().getAsJsonObject("keys").entrySet())
            {
                if (!declare)
                {
                    keys.add(key.getKey(), key.getValue());
                    continue;
                }
                JsonObject entry = new JsonObject();
                entry.add("key", key.getValue());
                entry.addProperty("organization", organization.getKey());
                keys.add(key.getKey(), entry);
            }
        }
        System.out.println(keys);
    }
}
