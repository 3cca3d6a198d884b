package dev.cerebrasproxy.forward;

import java.time.Duration;

import dev.cerebrasproxy.support.LogCapture;
import dev.cerebrasproxy.support.Poll;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Request lines are queued by the request and written by a timer, each once, in order, also when the webapp stops. */
class RequestLogTest
{
    private static RequestLog.Line line(int n)
    {
        return new RequestLog.Line("POST", "/v1/request-log-test", 200, "k" + n, 1, "anonymous", n, "");
    }

    @Test
    void linesAreWrittenByTheTimerOnceAndInOrder() throws Exception
    {
        ScheduledExecutorScheduler timer = new ScheduledExecutorScheduler("request-log-timer", true);
        timer.start();
        try
        {
            int mark = LogCapture.mark();
            RequestLog log = new RequestLog(LoggerFactory.getLogger(RequestLogTest.class), timer);
            for (int n = 0; n < 3; n++)
                log.add(line(n));
            assertFalse(LogCapture.since(mark).contains("request-log-test"), "written by the request's thread");
            assertTrue(Poll.until(Duration.ofSeconds(10), () -> LogCapture.since(mark).contains("key=k2 ")));
            String written = LogCapture.since(mark);
            assertTrue(written.indexOf("key=k0 ") < written.indexOf("key=k1 ") && written.indexOf("key=k1 ") < written.indexOf("key=k2 "), written);
            assertTrue(written.contains(":request-log-timer"), "the timer's thread writes: " + written);
            log.add(line(3));
            assertTrue(Poll.until(Duration.ofSeconds(10), () -> LogCapture.since(mark).contains("key=k3 ")), "a later batch is scheduled too");
            assertEquals(1, LogCapture.since(mark).lines().filter(l -> l.contains("key=k0 ")).count());
        }
        finally
        {
            timer.stop();
        }
    }

    @Test
    void aLineAfterTheTimerStoppedIsWrittenAtOnce() throws Exception
    {
        ScheduledExecutorScheduler timer = new ScheduledExecutorScheduler("stopped-timer", true);
        timer.start();
        timer.stop();
        int mark = LogCapture.mark();
        new RequestLog(LoggerFactory.getLogger(RequestLogTest.class), timer).add(line(9));
        assertTrue(LogCapture.since(mark).contains("key=k9 "), "a stopped timer must not swallow the line");
    }
}
