package bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.simulator.CerebrasSimulator;
import dev.cerebrasproxy.simulator.Model;
import dev.cerebrasproxy.simulator.SimulatorConfig;
import org.eclipse.jetty.client.BufferingResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;

/**
 * The capacity benchmark's load: clients with fixed request rates (open loop: a slow
 * answer does not slow the next request) through a proxy to a Cerebras simulator, then
 * what the simulator recorded and what its limits allowed. {@link CapacityReport}
 * prints the results of several proxies side by side.
 *
 * <p>The offered load is set from the simulator's own allowance: per model, {@code load}
 * × what all budgets of that model allow over the measured interval, spread over the
 * clients by their weights; each client sends both models in that proportion, and
 * every {@code 1/streamFraction}-th request streams. A request counts as answered when
 * its 2xx answer is complete (a stream: up to {@code data: [DONE]}) before the interval
 * ends; answers after it are "late" and not counted.
 *
 * <p>Usage: {@code CapacityLoad --proxy URL --simulator URL --settings FILE --out FILE
 * --clients name:token:weight,... --shape model:promptChars:maxCompletionTokens,...
 * [--seconds 40] [--load 1.5] [--stream-fraction 0.2] [--warmup-seconds 5] [--drain-seconds 30] [--label TEXT]}
 */
public final class CapacityLoad
{
    record ClientSpec(String name, String token, double weight)
    {
    }

    record Shape(String model, int promptCharacters, long maxCompletionTokens, long estimate, long cost)
    {
    }

    /** One client's outcome. */
    static final class Tally
    {
        final AtomicInteger sent = new AtomicInteger();
        final AtomicInteger answered = new AtomicInteger();
        final AtomicInteger late = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final Map<String, AtomicInteger> byStatus = new java.util.concurrent.ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<Long> latencyMicros = new ConcurrentLinkedQueue<>();
    }

    public static void main(String[] args) throws Exception
    {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2)
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        String proxy = required(options, "proxy");
        String simulatorUrl = required(options, "simulator");
        String settings = Files.readString(Path.of(required(options, "settings")));
        Path out = Path.of(required(options, "out"));
        double seconds = Double.parseDouble(options.getOrDefault("seconds", "40"));
        double load = Double.parseDouble(options.getOrDefault("load", "1.5"));
        double streamFraction = Double.parseDouble(options.getOrDefault("stream-fraction", "0.2"));
        double warmupSeconds = Double.parseDouble(options.getOrDefault("warmup-seconds", "5"));
        double drainSeconds = Double.parseDouble(options.getOrDefault("drain-seconds", "30"));

        CerebrasSimulator described = SimulatorConfig.parse(settings).build();
        List<ClientSpec> clients = new ArrayList<>();
        for (String client : required(options, "clients").split(","))
        {
            String[] parts = client.split(":", -1);
            clients.add(new ClientSpec(parts[0], parts[1], Double.parseDouble(parts[2])));
        }
        List<Shape> shapes = new ArrayList<>();
        for (String shape : required(options, "shape").split(","))
        {
            String[] parts = shape.split(":");
            Model model = described.models().stream().filter(m -> m.name().equals(parts[0])).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("the simulator's settings have no model " + parts[0]));
            int characters = Integer.parseInt(parts[1]);
            long max = Long.parseLong(parts[2]);
            // The simulator's rule: prompt tokens = ceil(characters / 4); it answers min(its completion tokens, max).
            long prompt = (characters + 3) / 4;
            shapes.add(new Shape(model.name(), characters, max, prompt + max, prompt + Math.min(model.completionTokens(), max)));
        }

        HttpClient admin = HttpClient.newHttpClient();
        List<org.eclipse.jetty.client.HttpClient> httpClients = new ArrayList<>();
        for (ClientSpec client : clients)
            httpClients.add(Clients.start(null, 2048));
        warmUp(httpClients.get(0), proxy, clients.get(0).token(), warmupSeconds);

        // The interval starts at the beginning of a simulated minute (a moment from now, so
        // the plan is made before it begins) and, when it lasts whole minutes, ends just
        // before one: a window the interval only grazed would count whole in what the
        // limits allow, and no proxy can fill it in the moment it has.
        JsonObject clock = JsonParser.parseString(admin.send(HttpRequest.newBuilder(URI.create(simulatorUrl + "/_simulator/stats")).build(),
            HttpResponse.BodyHandlers.ofString()).body()).getAsJsonObject();
        long origin = clock.get("origin_ms").getAsLong(); // the real origin lies within the millisecond after
        double window = 60_000 / clock.get("time_scale").getAsDouble();
        long firstWindow = (long)Math.ceil((System.currentTimeMillis() + 1000 - origin) / window);
        long startMillis = (long)Math.ceil(origin + firstWindow * window) + 1;
        long endMillis = startMillis + Math.round(seconds * 1000);
        double windows = seconds * 1000 / window;
        if (Math.abs(windows - Math.rint(windows)) * window < 2)
            endMillis = (long)Math.floor(origin + (firstWindow + Math.rint(windows)) * window) - 2;
        seconds = (endMillis - startMillis) / 1000.0;
        JsonObject planned = allowed(admin, simulatorUrl, startMillis, endMillis, shapes);
        double totalRate = 0;
        Map<String, Double> rateByModel = new LinkedHashMap<>();
        for (Shape shape : shapes)
        {
            double rate = load * planned.getAsJsonObject("by_model").get(shape.model()).getAsLong() / seconds;
            rateByModel.put(shape.model(), rate);
            totalRate += rate;
        }
        double weights = clients.stream().mapToDouble(ClientSpec::weight).sum();

        // Every send, in time order: each client evenly spaced at its rate, the clients out of phase.
        record Send(long atNanos, int client, Shape shape, boolean stream)
        {
        }
        List<Send> plan = new ArrayList<>();
        long startNanos = System.nanoTime() + (startMillis - System.currentTimeMillis()) * 1_000_000L;
        for (int c = 0; c < clients.size(); c++)
        {
            double rate = totalRate * clients.get(c).weight() / weights;
            double[] credit = new double[shapes.size()];
            long count = (long)Math.floor(rate * seconds);
            for (long k = 0; k < count; k++)
            {
                double at = (k + (c + 0.5) / clients.size()) / rate;
                if (at >= seconds)
                    break;
                int pick = 0;
                for (int s = 0; s < shapes.size(); s++)
                {
                    credit[s] += rateByModel.get(shapes.get(s).model()) / totalRate;
                    if (credit[s] > credit[pick])
                        pick = s;
                }
                credit[pick] -= 1;
                boolean stream = Math.floor((k + 1) * streamFraction) > Math.floor(k * streamFraction);
                plan.add(new Send(startNanos + Math.round(at * 1e9), c, shapes.get(pick), stream));
            }
        }
        plan.sort((a, b) -> Long.compare(a.atNanos(), b.atNanos()));

        long endNanos = startNanos + Math.round(seconds * 1e9);
        List<Tally> tallies = new ArrayList<>();
        for (int c = 0; c < clients.size(); c++)
            tallies.add(new Tally());
        // What each budget admitted by the end of each simulated minute of the interval, and
        // every half second (the stats are counted from the simulator's start, and the warm-up
        // spends no budget): the whole run's totals cannot say in which window, or whether
        // within the interval, a budget fell short of its limit.
        List<JsonObject> byWindow = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<JsonObject> timeline = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.ScheduledExecutorService snapshots = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        long windowCount = Math.max(1, Math.round(seconds * 1000 / window));
        java.util.function.Supplier<JsonObject> budgetsNow = () -> {
            try
            {
                return JsonParser.parseString(admin.send(HttpRequest.newBuilder(URI.create(simulatorUrl + "/_simulator/stats")).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).getAsJsonObject().getAsJsonObject("budgets");
            }
            catch (Exception e)
            {
                return new JsonObject();
            }
        };
        for (long k = 1; k <= windowCount; k++)
        {
            long at = k == windowCount ? endMillis : (long)Math.floor(origin + (firstWindow + k) * window) - 2;
            snapshots.schedule(() -> { byWindow.add(budgetsNow.get()); }, at - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
        }
        for (long at = startMillis + 500; at <= endMillis + Math.round(drainSeconds * 1000); at += 500)
        {
            long offset = at - startMillis;
            snapshots.schedule(() -> {
                JsonObject point = new JsonObject();
                point.addProperty("ms", offset);
                point.add("budgets", budgetsNow.get());
                timeline.add(point);
            }, at - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
        }
        CountDownLatch outstanding = new CountDownLatch(plan.size());
        List<Request> inFlight = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (Send send : plan)
        {
            long wait = send.atNanos() - System.nanoTime();
            if (wait > 0)
                LockSupport.parkNanos(wait); // pacing the offered load, not waiting for an outcome
            Tally tally = tallies.get(send.client());
            tally.sent.incrementAndGet();
            long sentNanos = System.nanoTime();
            String body = "{\"model\":\"" + send.shape().model() + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
                + "x".repeat(send.shape().promptCharacters()) + "\"}],\"max_completion_tokens\":" + send.shape().maxCompletionTokens()
                + (send.stream() ? ",\"stream\":true" : "") + "}";
            Request request = httpClients.get(send.client()).newRequest(URI.create(proxy + "/chat/completions"))
                .method(HttpMethod.POST)
                .timeout(Math.round((seconds + drainSeconds) * 1000), TimeUnit.MILLISECONDS)
                .body(new StringRequestContent("application/json", body, StandardCharsets.UTF_8));
            String token = clients.get(send.client()).token();
            if (!token.isEmpty())
                request.headers(h -> h.put(HttpHeader.AUTHORIZATION, "Bearer " + token));
            inFlight.add(request);
            request.send(new BufferingResponseListener(4 * 1024 * 1024)
            {
                @Override
                public void onComplete(Result result)
                {
                    try
                    {
                        long done = System.nanoTime();
                        if (result.isFailed())
                        {
                            tally.failed.incrementAndGet();
                            tally.byStatus.computeIfAbsent("no answer", k -> new AtomicInteger()).incrementAndGet();
                            return;
                        }
                        int status = result.getResponse().getStatus();
                        boolean complete = !send.stream() || getContentAsString(StandardCharsets.UTF_8).contains("data: [DONE]");
                        String label = status / 100 == 2 && !complete ? "2xx cut short" : Integer.toString(status);
                        tally.byStatus.computeIfAbsent(label, k -> new AtomicInteger()).incrementAndGet();
                        if (status / 100 == 2 && complete)
                        {
                            if (done <= endNanos)
                            {
                                tally.answered.incrementAndGet();
                                tally.latencyMicros.add((done - sentNanos) / 1000);
                            }
                            else
                            {
                                tally.late.incrementAndGet();
                            }
                        }
                    }
                    finally
                    {
                        inFlight.remove(request);
                        outstanding.countDown();
                    }
                }
            });
        }
        long untilEnd = endNanos - System.nanoTime();
        if (untilEnd > 0)
            LockSupport.parkNanos(untilEnd);
        boolean drained = outstanding.await(Math.round(drainSeconds * 1000), TimeUnit.MILLISECONDS);
        int abandoned = 0;
        if (!drained)
        {
            for (Request request : inFlight)
            {
                request.abort(new java.util.concurrent.TimeoutException("still unanswered " + drainSeconds + " s after the interval"));
                abandoned++;
            }
            outstanding.await(10, TimeUnit.SECONDS);
        }

        snapshots.shutdownNow();
        JsonObject allowed = allowed(admin, simulatorUrl, startMillis, endMillis, shapes);
        JsonObject stats = JsonParser.parseString(admin.send(HttpRequest.newBuilder(URI.create(simulatorUrl + "/_simulator/stats")).build(),
            HttpResponse.BodyHandlers.ofString()).body()).getAsJsonObject();
        for (org.eclipse.jetty.client.HttpClient client : httpClients)
            client.stop();

        JsonObject result = new JsonObject();
        result.addProperty("label", options.getOrDefault("label", proxy));
        result.addProperty("seconds", seconds);
        result.addProperty("load", load);
        result.addProperty("stream_fraction", streamFraction);
        result.addProperty("time_scale", described.timeScale());
        result.addProperty("keys", described.keys().size());
        result.addProperty("organizations", described.organizations().size());
        result.addProperty("abandoned", abandoned);
        // Other work on the machine slows both proxies and the simulator: say how busy it was.
        result.addProperty("load_average", java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        result.addProperty("cores", Runtime.getRuntime().availableProcessors());
        result.add("allowed", allowed);
        result.add("simulator", stats);
        com.google.gson.JsonArray windowsJson = new com.google.gson.JsonArray();
        byWindow.forEach(windowsJson::add);
        result.add("simulator_by_window", windowsJson);
        com.google.gson.JsonArray timelineJson = new com.google.gson.JsonArray();
        timeline.forEach(timelineJson::add);
        result.add("simulator_timeline", timelineJson);
        JsonObject shapesJson = new JsonObject();
        for (Shape shape : shapes)
        {
            JsonObject s = new JsonObject();
            s.addProperty("prompt_characters", shape.promptCharacters());
            s.addProperty("max_completion_tokens", shape.maxCompletionTokens());
            s.addProperty("estimate", shape.estimate());
            s.addProperty("cost", shape.cost());
            s.addProperty("offered_per_second", rateByModel.get(shape.model()));
            shapesJson.add(shape.model(), s);
        }
        result.add("shapes", shapesJson);
        JsonObject clientsJson = new JsonObject();
        for (int c = 0; c < clients.size(); c++)
        {
            Tally tally = tallies.get(c);
            JsonObject json = new JsonObject();
            json.addProperty("weight", clients.get(c).weight());
            json.addProperty("sent", tally.sent.get());
            json.addProperty("answered", tally.answered.get());
            json.addProperty("late", tally.late.get());
            json.addProperty("no_answer", tally.failed.get());
            JsonObject byStatus = new JsonObject();
            new java.util.TreeMap<>(tally.byStatus).forEach((status, n) -> byStatus.addProperty(status, n.get()));
            json.add("by_status", byStatus);
            List<Long> latencies = new ArrayList<>(tally.latencyMicros);
            latencies.sort(null);
            json.addProperty("p50_ms", percentile(latencies, 0.50) / 1000.0);
            json.addProperty("p99_ms", percentile(latencies, 0.99) / 1000.0);
            clientsJson.add(clients.get(c).name(), json);
        }
        result.add("clients", clientsJson);
        Gson gson = new GsonBuilder().setPrettyPrinting().create();
        Files.writeString(out, gson.toJson(result));
        System.out.println("capacity load done: " + out);
    }

    /** GETs of /v1/models for a few seconds: the proxy's JIT warms up on a path that spends no budget. */
    private static void warmUp(org.eclipse.jetty.client.HttpClient client, String proxy, String token, double seconds) throws Exception
    {
        long until = System.nanoTime() + Math.round(seconds * 1e9);
        while (System.nanoTime() < until)
        {
            Request request = client.newRequest(URI.create(proxy + "/models")).timeout(10, TimeUnit.SECONDS);
            if (!token.isEmpty())
                request.headers(h -> h.put(HttpHeader.AUTHORIZATION, "Bearer " + token));
            int status = request.send().getStatus();
            if (status != 200)
                throw new IllegalStateException("warm-up: GET /v1/models through the proxy answered " + status);
        }
    }

    private static JsonObject allowed(HttpClient admin, String simulator, long fromMillis, long toMillis, List<Shape> shapes) throws Exception
    {
        JsonObject query = new JsonObject();
        query.addProperty("from_ms", fromMillis);
        query.addProperty("to_ms", toMillis);
        JsonObject requests = new JsonObject();
        for (Shape shape : shapes)
        {
            JsonObject r = new JsonObject();
            r.addProperty("estimate", shape.estimate());
            r.addProperty("cost", shape.cost());
            requests.add(shape.model(), r);
        }
        query.add("requests", requests);
        HttpResponse<String> response = admin.send(HttpRequest.newBuilder(URI.create(simulator + "/_simulator/allowed"))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString(query.toString())).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200)
            throw new IllegalStateException("the simulator's allowance answered " + response.statusCode() + ": " + response.body());
        return JsonParser.parseString(response.body()).getAsJsonObject();
    }

    private static long percentile(List<Long> sorted, double p)
    {
        if (sorted.isEmpty())
            return 0;
        return sorted.get((int)Math.min(sorted.size() - 1, Math.floor(p * sorted.size())));
    }

    private static String required(Map<String, String> options, String name)
    {
        String value = options.get(name);
        if (value == null)
            throw new IllegalArgumentException("--" + name + " is required");
        return value;
    }
}
