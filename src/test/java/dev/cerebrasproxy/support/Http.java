package dev.cerebrasproxy.support;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

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
}
