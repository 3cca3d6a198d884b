package dev.cerebrasproxy.forward;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.google.gson.JsonParser;
import dev.cerebrasproxy.config.ProxySettings;
import dev.cerebrasproxy.support.FakeCerebras;
import dev.cerebrasproxy.support.Http;
import dev.cerebrasproxy.support.ProxyUnderTest;
import jakarta.servlet.ServletOutputStream;
import org.junit.jupiter.api.Test;

import static dev.cerebrasproxy.support.TestData.RATE_LIMITED;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Many clients at once, half of them streaming, through a pool where some keys always
 * fail: every request succeeds, and no stream carries another request's events.
 */
class ConcurrencyTest
{
    private static final int REQUESTS = 240;
    private static final int EVENTS = 12;

    @Test
    void twoHundredFortyConcurrentRequestsHalfStreamsAllSucceedUnmixed() throws Exception
    {
        try (FakeCerebras upstream = new FakeCerebras();
             ProxyUnderTest proxy = ProxyUnderTest.start(upstream, ProxySettings.API_KEYS,
                 "{\"ok1\":\"c-ok1\",\"limited\":\"c-429\",\"ok2\":\"c-ok2\",\"broken\":\"c-500\",\"ok3\":\"c-ok3\"}"))
        {
            upstream.answer("c-429", FakeCerebras.json(429, RATE_LIMITED));
            upstream.answer("c-500", FakeCerebras.json(500, "{\"message\":\"boom\"}"));
            // Working keys echo the request's id: in each event for streams, in the body otherwise.
            upstream.otherwise((request, response) ->
            {
                String id = JsonParser.parseString(new String(request.body(), StandardCharsets.UTF_8)).getAsJsonObject().get("user").getAsString();
                if (new String(request.body(), StandardCharsets.UTF_8).contains("\"stream\":true"))
                {
                    response.setContentType("text/event-stream");
                    ServletOutputStream output = response.getOutputStream();
                    for (int i = 0; i < EVENTS; i++)
                        FakeCerebras.writeAndFlush(output, "data: {\"user\":\"" + id + "\",\"n\":" + i + "}\n\n");
                    FakeCerebras.writeAndFlush(output, "data: [DONE]\n\n");
                }
                else
                {
                    FakeCerebras.json(200, "{\"user\":\"" + id + "\"}").write(request, response);
                }
            });

            List<CompletableFuture<String>> outcomes = new ArrayList<>();
            ExecutorService readers = Executors.newFixedThreadPool(REQUESTS);
            for (int r = 0; r < REQUESTS; r++)
            {
                String id = "req-" + r;
                boolean stream = r % 2 == 0;
                HttpRequest request = HttpRequest.newBuilder(proxy.uri("/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(60))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"" + id + "\",\"stream\":" + stream + "}"))
                    .build();
                // Bodies are read with blocking calls: on readers of our own, never on the client's I/O threads.
                outcomes.add(Http.CLIENT.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream())
                    .thenApplyAsync(response -> check(id, stream, response), readers));
            }
            List<String> problems = new ArrayList<>();
            for (CompletableFuture<String> outcome : outcomes)
            {
                String problem = outcome.get(120, TimeUnit.SECONDS);
                if (problem != null)
                    problems.add(problem);
            }
            readers.shutdown();
            assertEquals(List.of(), problems);
        }
    }

    /** Null when the response is whole and this request's own; else what is wrong. */
    private static String check(String id, boolean stream, HttpResponse<InputStream> response)
    {
        try (InputStream body = response.body())
        {
            if (response.statusCode() != 200)
                return id + ": status " + response.statusCode();
            if (!stream)
            {
                String text = new String(body.readAllBytes(), StandardCharsets.UTF_8);
                return text.equals("{\"user\":\"" + id + "\"}") ? null : id + ": got " + text;
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            for (int i = 0; i < EVENTS; i++)
            {
                String line = reader.readLine();
                if (!("data: {\"user\":\"" + id + "\",\"n\":" + i + "}").equals(line))
                    return id + ": event " + i + " was " + line;
                reader.readLine();
            }
            String done = reader.readLine();
            return "data: [DONE]".equals(done) ? null : id + ": ended with " + done;
        }
        catch (Exception e)
        {
            return id + ": " + e;
        }
    }
}
