package bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;

/**
 * Streams, one at a time, and how fast their events travel: time to first event (request
 * sent to first event read) and each event's travel time from the stub's write to this
 * reader. Given several targets (direct, and through each proxy), it takes turns: one
 * stream to each target, then the next round, so that the machine's load at any moment
 * falls on all of them alike. The difference from direct is what a proxy adds.
 *
 * <p>Usage: {@code StreamProbe <warmupStreams> <streams> <eventsPerStream> <delayMs>
 * <label>=<url>...}. Prints one line per target: {@code label name=value ...}
 * (microseconds). Warm-up streams go to every target first and are not counted.
 */
public final class StreamProbe
{
    public static void main(String[] args) throws Exception
    {
        int warmup = Integer.parseInt(args[0]);
        int streams = Integer.parseInt(args[1]);
        int events = Integer.parseInt(args[2]);
        int delayMillis = Integer.parseInt(args[3]);
        Map<String, Target> targets = new LinkedHashMap<>();
        for (int i = 4; i < args.length; i++)
        {
            int eq = args[i].indexOf('=');
            String url = args[i].substring(eq + 1);
            targets.put(args[i].substring(0, eq), new Target(url + (url.contains("?") ? "&" : "?") + "events=" + events + "&delay_ms=" + delayMillis));
        }

        HttpClient client = Clients.start(null, 4 * targets.size());
        for (int s = 0; s < warmup; s++)
        {
            for (Target target : targets.values())
                target.stream(client, events, false);
        }
        for (int s = 0; s < streams; s++)
        {
            for (Target target : targets.values())
                target.stream(client, events, true);
        }
        client.stop();
        targets.forEach((label, target) -> System.out.println(label + " " + target.summary()));
    }

    private static final class Target
    {
        private final String url;
        private final List<Long> firstEvent = new ArrayList<>();
        private final List<Long> travel = new ArrayList<>();
        private int errors;

        Target(String url)
        {
            this.url = url;
        }

        void stream(HttpClient client, int events, boolean counted) throws Exception
        {
            long start = System.nanoTime();
            long[] first = {-1};
            List<Long> travels = new ArrayList<>();
            EventReader reader = new EventReader((index, micros) ->
            {
                if (index == 0)
                    first[0] = (System.nanoTime() - start) / 1_000;
                travels.add(micros);
            });
            CompletableFuture<Integer> status = new CompletableFuture<>();
            client.newRequest(url)
                .method(HttpMethod.POST)
                .headers(h -> h.put("Accept", "text/event-stream"))
                .body(new StringRequestContent("application/json", Clients.STREAM_BODY))
                .onResponseContent((response, content) -> reader.feed(content))
                .send(result -> status.complete(result.isFailed() ? -1 : result.getResponse().getStatus()));
            int code = status.get(60, TimeUnit.SECONDS);
            if (!counted)
                return;
            if (code != 200 || !reader.done() || reader.events() != events)
                errors++;
            firstEvent.add(first[0]);
            travel.addAll(travels);
        }

        String summary()
        {
            long[] firsts = firstEvent.stream().mapToLong(Long::longValue).toArray();
            long[] travels = travel.stream().mapToLong(Long::longValue).toArray();
            return String.format("ttfe_p50_us=%d ttfe_p99_us=%d event_p50_us=%d event_p99_us=%d events=%d errors=%d",
                percentile(firsts, 50), percentile(firsts, 99), percentile(travels, 50), percentile(travels, 99), travels.length, errors);
        }
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
