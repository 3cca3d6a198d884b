package dev.cerebrasproxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import jakarta.servlet.http.HttpServletResponse;

/**
 * An error the proxy answers itself, in Cerebras's flat error shape
 * {@code {"message":..., "type":..., "param":..., "code":...}}, so SDKs parse it like
 * any other API error.
 */
public record ProxyError(int status, String type, String code, String param, String message)
{
    private static final Gson GSON = new GsonBuilder().serializeNulls().disableHtmlEscaping().create();

    /**
     * {@code param} is always a string, {@code ""} where Cerebras has nothing to name (as
     * its own errors do): {@code @ai-sdk/cerebras} validates it as a string and drops a
     * body with {@code null}, so its users would see the status text instead of our code.
     */
    public ProxyError
    {
        param = param == null ? "" : param;
    }

    public static ProxyError invalidRequest(int status, String code, String message)
    {
        return new ProxyError(status, "invalid_request_error", code, null, message);
    }

    public static ProxyError server(int status, String code, String message)
    {
        return new ProxyError(status, "server_error", code, null, message);
    }

    public String toJson()
    {
        JsonObject json = new JsonObject();
        json.addProperty("message", message);
        json.addProperty("type", type);
        json.addProperty("param", param);
        json.addProperty("code", code);
        return GSON.toJson(json);
    }

    /**
     * Writes this error if the response is not committed yet, replacing whatever status
     * and headers an abandoned attempt had set; returns whether it did.
     *
     * @param headers extra response headers, as name, value, name, value...
     */
    public boolean sendTo(HttpServletResponse response, String... headers) throws IOException
    {
        return sendJson(response, status, toJson().getBytes(StandardCharsets.UTF_8), headers);
    }

    /**
     * Writes a JSON answer if the response is not committed yet, replacing whatever status
     * and headers an abandoned attempt had set; returns whether it did.
     */
    public static boolean sendJson(HttpServletResponse response, int status, byte[] body, String... headers) throws IOException
    {
        if (response.isCommitted())
            return false;
        response.reset();
        WholeBody.send(response, status, "application/json", body, headers);
        return true;
    }
}
