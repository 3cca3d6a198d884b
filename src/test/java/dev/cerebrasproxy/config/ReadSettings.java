package dev.cerebrasproxy.config;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Settings read as the tests give them (name, value, name, value), and the one line that a bad setting stops startup with. */
final class ReadSettings
{
    private ReadSettings()
    {
    }

    static ProxySettings from(String... pairs)
    {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i + 1 < pairs.length; i += 2)
            map.put(pairs[i], pairs[i + 1]);
        return ProxySettings.from(map::get);
    }

    /** The problem these settings stop startup with: one line that names the setting and never holds a secret's value. */
    static String problemWith(String... pairs)
    {
        String message = assertThrows(InvalidSettingsException.class, () -> from(pairs)).getMessage();
        assertFalse(message.contains("SECRET"), message);
        assertFalse(message.contains("\n"), "one line: " + message);
        return message;
    }
}
