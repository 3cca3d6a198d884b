package dev.cerebrasproxy.support;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/** The test client: plain HTTP/1.1 as curl or an SDK would speak it. */
public final class Http
{
    public static final HttpClient CLIENT = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();

    private Http()
    {
    }

    public static HttpResponse<String> post(URI uri, String json, String... headers) throws Exception
    {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .header("Content-Type", "application/json");
        for (int i = 0; i + 1 < headers.length; i += 2)
            builder.header(headers[i], headers[i + 1]);
        return CLIENT.send(builder.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    public static HttpResponse<byte[]> send(HttpRequest request) throws Exception
    {
        return CLIENT.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    public static JsonObject json(HttpResponse<String> response)
    {
        return JsonParser.parseString(response.body()).getAsJsonObject();
    }

    /**
     * An error in Cerebras's flat shape, as SDKs parse it: a JSON body with exactly
     * message, type, param and code, each a string (never null: {@code @ai-sdk/cerebras}
     * drops a body whose param is not a string). Fails the test otherwise.
     */
    public static JsonObject error(HttpResponse<String> response)
    {
        String type = response.headers().firstValue("Content-Type").orElse("");
        if (!type.startsWith("application/json"))
            throw new AssertionError("an error answered as " + type + ": " + response.body());
        JsonObject error = json(response);
        if (!error.keySet().equals(Set.of("message", "type", "param", "code")))
            throw new AssertionError("not in Cerebras's error shape: " + response.body());
        error.entrySet().forEach(field ->
        {
            if (!(field.getValue().isJsonPrimitive() && field.getValue().getAsJsonPrimitive().isString()))
                throw new AssertionError(field.getKey() + " is not a string: " + response.body());
        });
        return error;
    }
}
