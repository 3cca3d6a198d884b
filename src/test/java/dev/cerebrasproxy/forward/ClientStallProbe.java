package dev.cerebrasproxy.forward;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.UpstreamProtocol;
import dev.cerebrasproxy.support.FakeCerebras;
import jakarta.servlet.ServletOutputStream;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Content;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Jetty's HTTP client alone (no proxy) against the soak's fake upstream, used as the proxy
 * uses it: 64 chains of requests, a tenth of them answered 429 or 500 or dropped first and
 * replayed from {@code onComplete}, a tenth cut mid-stream, half of the rest streams. It
 * counts the responses that stall until the 8 s idle timeout although the fake wrote them
 * whole. Opt-in, as it takes minutes: {@code mvn test -Dtest=ClientStallProbe
 * -Dprobe.requests=400000 [-Dprobe.demand=policy|inline|errorsInline]}.
 * <p>
 * Runs on 2026-12-02 (2 cores, load 9 to 12 from other work, Jetty 12.1.8), in responses
 * stalled:
 * <ul>
 * <li>{@code inline}, every demand run from {@code onContent}, as Jetty's own listeners
 * do: 12 in 400,000 (70 s), and an {@code assert} in {@code HttpReceiverOverHTTP} failed
 * (its network buffer refilled under it); earlier runs gave 4 to 10 in 200,000 to 400,000,
 * with Jetty's default transport as well as the proxy's. Looked at 3 s into a stall: the
 * connection's socket has no byte queued either way, fill interest is set, and its parser
 * waits mid-response (in the headers, or in a chunk), though the fake wrote it whole:
 * bytes read off the socket were lost inside the client.</li>
 * <li>{@code errorsInline}, the answers' demands on the executor and the error bodies'
 * inline (the proxy before {@link ChunkDemand}): 3 in 400,000, and 2 in another 400,000.</li>
 * <li>{@code policy}, {@link ChunkDemand}, every demand on the executor: 0 in 400,000 and 0
 * in 1,200,000 (241 s).</li>
 * <li>{@code inline} again on 2026-12-03, with each connection parsed by one thread at a
 * time ({@link SerializedHttp11}): 13 in 400,000 and the same {@code assert}, so what
 * inline demands lose is lost on one thread (a parse re-entered from its own callback),
 * not by the two threads that lock keeps apart; and {@code policy} without the lock: 0 in
 * 200,000, as its overlapping parses there were all in their last steps.</li>
 * </ul>
 */
class ClientStallProbe
{
    private static final int REQUESTS = Integer.getInteger("probe.requests", 0);
    private static final int CHAINS = 64;
    private static final String DEMAND = System.getProperty("probe.demand", "policy");

    private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    private final Map<String, Integer> outcomes = new ConcurrentHashMap<>();
    private final AtomicLong started = new AtomicLong();

    @Test
    void noResponseStallsWithEveryDemandOnTheExecutor() throws Exception
    {
        assumeTrue(REQUESTS > 0, "opt-in: -Dprobe.requests=N");
        try (FakeCerebras upstream = new FakeCerebras())
        {
            upstream.otherwise(this::reply);
            HttpClient client = new HttpClient(UpstreamConnections.transport(new ClientConnector(), UpstreamProtocol.HTTP_1_1, false));
            client.setUseInputDirectByteBuffers(false);
            client.start();
            try
            {
                CountDownLatch done = new CountDownLatch(CHAINS);
                ChunkDemand policy = new ChunkDemand(client.getExecutor());
                long start = System.nanoTime();
                for (int c = 0; c < CHAINS; c++)
                    new Chain(client, upstream, policy, done, new Random(c)).next();
                assumeTrue(done.await(60, TimeUnit.MINUTES));
                Map<String, Integer> sorted = new TreeMap<>(outcomes);
                System.out.printf("PROBE %d requests in %d s, demand %s: %s%n", REQUESTS, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start), DEMAND, sorted);
                int stalled = sorted.entrySet().stream().filter(e -> e.getKey().startsWith("stalled")).mapToInt(Map.Entry::getValue).sum();
                if (DEMAND.equals("policy"))
                    assertEquals(0, stalled, "responses stalled: " + sorted);
            }
            finally
            {
                client.stop();
            }
        }
    }

    /** One request after another, each replayed from its predecessor's onComplete as the proxy's Dispatch does. */
    private final class Chain
    {
        private final HttpClient client;
        private final FakeCerebras upstream;
        private final ChunkDemand policy;
        private final CountDownLatch done;
        private final Random random;

        Chain(HttpClient client, FakeCerebras upstream, ChunkDemand policy, CountDownLatch done, Random random)
        {
            this.client = client;
            this.upstream = upstream;
            this.policy = policy;
            this.done = done;
            this.random = random;
        }

        void next()
        {
            long n = started.incrementAndGet();
            if (n > REQUESTS)
            {
                done.countDown();
                return;
            }
            if (n % 10_000 == 0)
                upstream.forgetReceived(); // the fake's record of every request grows by copying
            String[] kinds = {"NORMAL", "NORMAL", "NORMAL", "NORMAL", "NORMAL", "NORMAL", "FIRST_429", "FIRST_500", "FIRST_CLOSE", "RESET_MID_STREAM"};
            String kind = kinds[random.nextInt(kinds.length)];
            boolean stream = kind.equals("RESET_MID_STREAM") || random.nextBoolean();
            String id = "r" + n;
            send(kind, ("{\"user\":\"" + id + "\",\"fault\":\"" + kind + "\",\"stream\":" + stream + "}").getBytes(StandardCharsets.UTF_8), 0);
        }

        private void send(String kind, byte[] body, int attempt)
        {
            client.newRequest(upstream.baseUrl().resolve("/v1/chat/completions"))
                .method("POST")
                .idleTimeout(8, TimeUnit.SECONDS)
                .headers(headers -> headers.put("Authorization", "Bearer probe"))
                .body(new BytesRequestContent("application/json", body))
                .send(new Response.Listener()
                {
                    private int chunks;

                    @Override
                    public void onContent(Response response, Content.Chunk chunk, Runnable demander)
                    {
                        chunks++;
                        boolean inline = DEMAND.equals("inline") || (DEMAND.equals("errorsInline") && response.getStatus() != 200);
                        if (inline)
                            demander.run();
                        else
                            policy.next(demander);
                    }

                    @Override
                    public void onComplete(Result result)
                    {
                        int status = result.getResponse().getStatus();
                        boolean stalled = result.getFailure() instanceof TimeoutException;
                        boolean dropped = result.isFailed() && !stalled && chunks == 0;
                        if (attempt < 2 && (dropped || status == 429 || status == 500))
                        {
                            send(kind, body, attempt + 1);
                            return;
                        }
                        String outcome = stalled ? "stalled " + kind + " after " + chunks + " chunks"
                            : result.isFailed() ? "failed " + kind + " " + result.getFailure().getClass().getSimpleName()
                            : "ok " + status;
                        outcomes.merge(outcome, 1, Integer::sum);
                        next();
                    }
                });
        }
    }

    private void reply(FakeCerebras.Received request, jakarta.servlet.http.HttpServletResponse response) throws Exception
    {
        JsonObject body = JsonParser.parseString(new String(request.body(), StandardCharsets.UTF_8)).getAsJsonObject();
        String id = body.get("user").getAsString();
        String kind = body.get("fault").getAsString();
        boolean first = attempts.computeIfAbsent(id, k -> new AtomicInteger()).getAndIncrement() == 0;
        switch (kind)
        {
            case "FIRST_429" -> { if (first) { FakeCerebras.json(429, "{\"message\":\"limited\"}").write(request, response); return; } }
            case "FIRST_500" -> { if (first) { FakeCerebras.json(500, "{\"message\":\"boom\"}").write(request, response); return; } }
            case "FIRST_CLOSE" -> { if (first) { response.sendError(-1); return; } }
            default -> { }
        }
        attempts.remove(id);
        if (!body.get("stream").getAsBoolean())
        {
            FakeCerebras.json(200, "{\"user\":\"" + id + "\"}").write(request, response);
            return;
        }
        response.setContentType("text/event-stream");
        ServletOutputStream output = response.getOutputStream();
        for (int i = 0; i < 5; i++)
        {
            FakeCerebras.writeAndFlush(output, "data: {\"user\":\"" + id + "\",\"n\":" + i + "}\n\n");
            if (kind.equals("RESET_MID_STREAM") && i == 1)
            {
                response.sendError(-1);
                return;
            }
        }
        FakeCerebras.writeAndFlush(output, "data: [DONE]\n\n");
    }
}
