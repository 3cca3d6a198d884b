package dev.cerebrasproxy;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import dev.cerebrasproxy.support.LogCapture;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wait a stop makes on Tomcat (the proxy servlet's destroy): only while draining, only while busy, never past the grace. */
class DrainTest
{
    @Test
    void withoutADrainAStopDoesNotWait()
    {
        AtomicInteger asked = new AtomicInteger();
        new Drain(Duration.ofSeconds(30)).awaitWhile(() -> asked.incrementAndGet() > 0);
        assertEquals(0, asked.get(), "an undeploy or a test's stop has nothing to drain for");
    }

    @Test
    void whileDrainingItWaitsUntilNothingIsInFlight()
    {
        Drain drain = new Drain(Duration.ofSeconds(30));
        int mark = LogCapture.mark();
        drain.begin();
        drain.begin();
        assertTrue(drain.draining());
        AtomicInteger asked = new AtomicInteger();
        drain.awaitWhile(() -> asked.incrementAndGet() < 3);
        assertEquals(3, asked.get());
        String log = LogCapture.since(mark);
        assertEquals(1, log.lines().filter(line -> line.contains("cerebras-proxy draining")).count(), "one line however often it begins: " + log);
        assertTrue(log.contains(Drain.WAITING_LINE) && log.contains("cerebras-proxy drained"), log);
    }

    @Test
    void itStopsWaitingAtTheGraceAndSaysSo()
    {
        Drain drain = new Drain(Duration.ofMillis(300));
        drain.begin();
        int mark = LogCapture.mark();
        drain.awaitWhile(() -> true);
        assertTrue(LogCapture.since(mark).contains("requests still in flight after"), LogCapture.since(mark));
    }

    @Test
    void aZeroGraceNeverWaits()
    {
        Drain drain = new Drain(Duration.ZERO);
        drain.begin();
        int mark = LogCapture.mark();
        drain.awaitWhile(() -> true);
        assertFalse(LogCapture.since(mark).contains("still in flight"));
    }
}
