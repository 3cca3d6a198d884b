package bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;

/**
 * Opens many event streams at once and checks each one ends whole: status 200, every
 * event, then {@code [DONE]}. Connections come from several loopback source addresses
 * (127.0.0.x) so that the client side never runs out of ephemeral ports.
 *
 * <p>Usage: {@code ManyStreams <url> <streams> <eventsPerStream> <delayMs> <opensPerSecond>
 * <sourceAddress,...> <timeoutSeconds>}. Prints one line of {@code name=value} pairs.
 */
public final class ManyStreams
{
    public static void main(String[] args) throws Exception
    {
        String url = args[0];
        int streams = Integer.parseInt(args[1]);
        int events = Integer.parseInt(args[2]);
        int delayMillis = Integer.parseInt(args[3]);
        int opensPerSecond = Integer.parseInt(args[4]);
        String[] sources = args[5].split(",");
        long timeoutSeconds = Long.parseLong(args[6]);
        String target = url + (url.contains("?") ? "&" : "?") + "events=" + events + "&delay_ms=" + delayMillis;

        List<HttpClient> clients = new ArrayList<>();
        for (String source : sources)
            clients.add(Clients.start(source, streams / sources.length + 1));

        AtomicInteger open = new AtomicInteger();
        AtomicInteger maxOpen = new AtomicInteger();
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        ConcurrentHashMap<String, AtomicInteger> errorKinds = new ConcurrentHashMap<>();
        CountDownLatch finished = new CountDownLatch(streams);
        long start = System.nanoTime();
        long intervalNanos = 1_000_000_000L / opensPerSecond;
        for (int i = 0; i < streams; i++)
        {
            // Paced opening: a burst of 10k connects would only measure the accept queue.
            long due = start + i * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0)
                TimeUnit.NANOSECONDS.sleep(wait);
            HttpClient client = clients.get(i % clients.size());
            EventReader reader = new EventReader((index, micros) -> { });
            client.newRequest(target)
                .method(HttpMethod.POST)
                .headers(h -> h.put("Accept", "text/event-stream"))
                .body(new StringRequestContent("application/json", Clients.STREAM_BODY))
                .onResponseBegin(response -> maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max))
                .onResponseContent((response, content) -> reader.feed(content))
                .send(result ->
                {
                    if (result.getResponse() != null && result.getResponse().getStatus() != 0)
                        open.decrementAndGet();
                    String error = null;
                    if (result.isFailed())
                        error = result.getFailure().getClass().getSimpleName() + ": " + result.getFailure().getMessage();
                    else if (result.getResponse().getStatus() != 200)
                        error = "status " + result.getResponse().getStatus();
                    else if (!reader.done() || reader.events() != events)
                        error = "incomplete stream";
                    if (error == null)
                        completed.incrementAndGet();
                    else
                    {
                        errors.incrementAndGet();
                        errorKinds.computeIfAbsent(error, e -> new AtomicInteger()).incrementAndGet();
                    }
                    finished.countDown();
                });
        }
        boolean allEnded = finished.await(timeoutSeconds, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        int unfinished = (int)finished.getCount();
        errorKinds.forEach((kind, count) -> System.err.println("stream error x" + count + ": " + kind));
        System.out.printf("streams=%d completed=%d errors=%d unfinished=%d max_open=%d seconds=%.1f%n",
            streams, completed.get(), errors.get() + (allEnded ? 0 : unfinished), unfinished, maxOpen.get(), seconds);
        for (HttpClient client : clients)
            client.stop();
        System.exit(0);
    }
}
