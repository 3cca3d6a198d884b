package bench;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;

/**
 * Streams, one at a time, and how fast their events travel: time to first event (request
 * sent to first event read) and each event's travel time from the stub's write to this
 * reader. Run once direct and once through a proxy; the difference is what the proxy adds.
 *
 * <p>Usage: {@code StreamProbe <url> <streams> <eventsPerStream> <delayMs>}. Prints one
 * line of {@code name=value} pairs (microseconds).
 */
public final class StreamProbe
{
    public static void main(String[] args) throws Exception
    {
        String url = args[0];
        int streams = Integer.parseInt(args[1]);
        int events = Integer.parseInt(args[2]);
        int delayMillis = Integer.parseInt(args[3]);
        String target = url + (url.contains("?") ? "&" : "?") + "events=" + events + "&delay_ms=" + delayMillis;

        HttpClient client = Clients.start(null, 4);
        long[] firstEvent = new long[streams];
        long[] travel = new long[streams * events];
        int[] travelCount = {0};
        int errors = 0;
        for (int s = 0; s < streams; s++)
        {
            long start = System.nanoTime();
            long[] first = {-1};
            EventReader reader = new EventReader((index, micros) ->
            {
                if (index == 0)
                    first[0] = (System.nanoTime() - start) / 1_000;
                travel[travelCount[0]++] = micros;
            });
            CompletableFuture<Integer> status = new CompletableFuture<>();
            client.newRequest(target)
                .method(HttpMethod.POST)
                .headers(h -> h.put("Accept", "text/event-stream"))
                .body(new StringRequestContent("application/json", Clients.STREAM_BODY))
                .onResponseContent((response, content) -> reader.feed(content))
                .send(result -> status.complete(result.isFailed() ? -1 : result.getResponse().getStatus()));
            int code = status.get(60, TimeUnit.SECONDS);
            if (code != 200 || !reader.done() || reader.events() != events)
                errors++;
            firstEvent[s] = first[0];
        }
        client.stop();

        long[] travels = Arrays.copyOf(travel, travelCount[0]);
        System.out.printf("ttfe_p50_us=%d ttfe_p99_us=%d event_p50_us=%d event_p99_us=%d events=%d errors=%d%n",
            percentile(firstEvent, 50), percentile(firstEvent, 99), percentile(travels, 50), percentile(travels, 99), travels.length, errors);
    }

    static long percentile(long[] values, double p)
    {
        if (values.length == 0)
            return -1;
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int)Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
