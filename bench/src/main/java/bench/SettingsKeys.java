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
 * keys under the same names. Usage: {@code SettingsKeys settings.json}.
 */
public final class SettingsKeys
{
    private SettingsKeys()
    {
    }

    public static void main(String[] args) throws Exception
    {
        JsonObject settings = JsonParser.parseString(Files.readString(Path.of(args[0]))).getAsJsonObject();
        JsonObject keys = new JsonObject();
        for (Map.Entry<String, JsonElement> organization : settings.getAsJsonObject("organizations").entrySet())
            organization.getValue().getAsJsonObject().getAsJsonObject("keys").entrySet().forEach(key -> keys.add(key.getKey(), key.getValue()));
        System.out.println(keys);
    }
}
