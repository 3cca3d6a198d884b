package dev.cerebrasproxy.simulator;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The standalone simulator's JSON settings. */
class SimulatorConfigTest
{
    static final String SETTINGS = """
        {
          "time_scale": 6, "latency_ms": 20, "event_delay_ms": 5, "stream_chunks": 2,
          "models": {
            "small": {"max_completion_tokens": 100, "completion_tokens": 40,
                      "limits": {"requests_per_minute": 30, "tokens_per_minute": 6000, "requests_per_day": 14400}},
            "large": {"limits": {"requests_per_minute": 10, "tokens_per_minute": 9000, "requests_per_day": 100,
                                 "requests_per_hour": 50, "tokens_per_hour": 20000}}
          },
          "organizations": {
            "org-a": {"keys": {"a1": "csk-a1-SECRET-1", "a2": "csk-a2-SECRET-2"}},
            "org-c": {"keys": {"c1": "csk-c1-SECRET-3"}, "limits": {"small": {"requests_per_minute": 60}}}
          },
          "faults": {"c1": {"kind": "queue_exceeded", "probability": 0.5, "seed": 7, "model": "large"}}
        }
        """;

    @Test
    void settingsBuildTheSimulatorTheyDescribe()
    {
        CerebrasSimulator simulator = SimulatorConfig.parse(SETTINGS).clock(new ManualTime()).build();
        SimulatorConfig.applyFaults(SETTINGS, simulator);
        assertEquals(6, simulator.timeScale());
        assertEquals(Duration.ofMillis(20), simulator.latency);
        assertEquals(Duration.ofMillis(5), simulator.eventDelay);
        assertEquals(2, simulator.streamChunks);
        assertEquals(new Model("small", Limits.of(30, 6000, 14400), 100, 40), simulator.model("small"));
        assertEquals(new Model("large", new Limits(10, 50, 100, 9000, 20000), 8192, 20), simulator.model("large"));
        assertEquals(Limits.of(60, 6000, 14400), simulator.limits("org-c", "small"), "an override replaces only the fields it names");
        assertEquals(Limits.of(30, 6000, 14400), simulator.limits("org-a", "small"));
        assertEquals(java.util.Map.of("a1", "org-a", "a2", "org-a", "c1", "org-c"), simulator.keys());
    }

    @Test
    void mistakesAreNamedWithoutTheKeysValues()
    {
        String typo = SETTINGS.replace("\"requests_per_day\": 100", "\"request_per_day\": 100");
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> SimulatorConfig.parse(typo));
        assertTrue(unknown.getMessage().contains("\"request_per_day\""), unknown.getMessage());

        String twins = SETTINGS.replace("csk-c1-SECRET-3", "csk-a1-SECRET-1");
        IllegalArgumentException same = assertThrows(IllegalArgumentException.class, () -> SimulatorConfig.parse(twins).build());
        assertTrue(same.getMessage().contains("a1") && same.getMessage().contains("c1"), same.getMessage());
        assertFalse(same.getMessage().contains("SECRET"), same.getMessage());

        String missing = SETTINGS.replace("\"requests_per_minute\": 10, ", "");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SimulatorConfig.parse(missing)).getMessage().contains("requests_per_minute"));

        String stranger = SETTINGS.replace("\"limits\": {\"small\"", "\"limits\": {\"medium\"");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SimulatorConfig.parse(stranger)).getMessage().contains("medium"));

        assertThrows(IllegalArgumentException.class, () -> SimulatorConfig.parse("{not json"));
    }
}
