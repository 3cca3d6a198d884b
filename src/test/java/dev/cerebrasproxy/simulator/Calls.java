package dev.cerebrasproxy.simulator;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The simulator's tests' HTTP: real requests on loopback, one shared client. */
final class Calls
{
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Calls()
    {
    }

    /** A chat request of {@code promptCharacters} characters (prompt tokens = ⌈characters / 4⌉), with a maximum unless null. */
    static String chat(String model, int promptCharacters, Long maxCompletionTokens, boolean stream)
    {
        return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(promptCharacters) + "\"}]"
            + (maxCompletionTokens == null ? "" : ",\"max_completion_tokens\":" + maxCompletionTokens)
            + (stream ? ",\"stream\":true" : "") + "}";
    }

    static HttpResponse<String> post(CerebrasSimulator simulator, String secret, String body) throws Exception
    {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(simulator.baseUrl() + "/chat/completions"))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
        if (secret != null)
            request.header("Authorization", "Bearer " + secret);
        return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(CerebrasSimulator simulator, String secret, String path) throws Exception
    {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + simulator.port() + path))
            .timeout(Duration.ofSeconds(10));
        if (secret != null)
            request.header("Authorization", "Bearer " + secret);
        return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String header(HttpResponse<?> response, String name)
    {
        return response.headers().firstValue(name).orElse(null);
    }
}
