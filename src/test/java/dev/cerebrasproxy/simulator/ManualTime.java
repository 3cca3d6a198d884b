package dev.cerebrasproxy.simulator;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;

/** Time that moves only when a test moves it. */
final class ManualTime implements InstantSource
{
    private volatile Instant now = Instant.parse("2026-03-01T10:15:30Z");

    @Override
    public Instant instant()
    {
        return now;
    }

    synchronized void advance(Duration step)
    {
        now = now.plus(step);
    }
}
