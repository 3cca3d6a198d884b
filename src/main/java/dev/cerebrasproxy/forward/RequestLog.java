package dev.cerebrasproxy.forward;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;

/**
 * The requests' one log line each, written off the request's thread: a request only
 * queues its line, and a timer writes what queued within {@value #BATCH_MILLIS} ms in
 * one go. Formatting and writing a line (a synchronized write to the console per line)
 * was the biggest single cost of the proxy's own on a warm request path, and it sat
 * between the answer and the next request on the same connection.
 */
final class RequestLog
{
    static final long BATCH_MILLIS = 50;

    /** One request's line, formatted only when written. */
    record Line(String method, String uri, int status, String key, int attempts, String client, long millis, String suffix)
    {
    }

    private final Logger log;
    private final Scheduler scheduler;
    private final ConcurrentLinkedQueue<Line> queued = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    RequestLog(Logger log, Scheduler scheduler)
    {
        this.log = log;
        this.scheduler = scheduler;
    }

    void add(Line line)
    {
        if (!log.isInfoEnabled())
            return;
        queued.add(line);
        // A stopped timer silently drops what it is given: while the webapp stops, write at once.
        if (!scheduler.isRunning())
            flush();
        else if (scheduled.compareAndSet(false, true))
            scheduler.schedule(this::flush, BATCH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Writes every queued line; also called when the webapp stops. */
    void flush()
    {
        scheduled.set(false);
        for (Line line = queued.poll(); line != null; line = queued.poll())
            log.info("{} {} {} key={} attempts={} client={} {}ms{}", line.method(), line.uri(), line.status(), line.key(), line.attempts(), line.client(), line.millis(), line.suffix());
    }
}
