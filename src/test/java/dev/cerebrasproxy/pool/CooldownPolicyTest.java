package dev.cerebrasproxy.pool;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How rests read to an operator, in the log and on the status page. */
class CooldownPolicyTest
{
    @Test
    void recoveryTimesReadAsAPersonWouldSayThem()
    {
        assertEquals("1 s", CooldownPolicy.readable(Duration.ofMillis(1)));
        assertEquals("42 s", CooldownPolicy.readable(Duration.ofSeconds(42)));
        assertEquals("1 min", CooldownPolicy.readable(Duration.ofSeconds(60)));
        assertEquals("1 min 5 s", CooldownPolicy.readable(Duration.ofSeconds(65)));
        assertEquals("2 h 10 min", CooldownPolicy.readable(Duration.ofMinutes(130)));
        assertEquals("25 h", CooldownPolicy.readable(Duration.ofHours(25)));
    }
}
