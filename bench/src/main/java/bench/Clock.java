package bench;

import java.time.Instant;

/**
 * Wall-clock microseconds. The stub stamps each event with it and the readers compare
 * on arrival: both run on this machine, so they share the clock and the difference is
 * the event's travel time (through a proxy or not).
 */
final class Clock
{
    private Clock()
    {
    }

    static long epochMicros()
    {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }
}
