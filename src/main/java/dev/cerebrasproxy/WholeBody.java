package dev.cerebrasproxy;

import java.io.IOException;

import jakarta.servlet.http.HttpServletResponse;

/**
 * A body the proxy writes itself, in one go and with its length: its own errors and the
 * operations endpoints' answers.
 */
public final class WholeBody
{
    private WholeBody()
    {
    }

    /** @param headers extra response headers, as name, value, name, value... */
    public static void send(HttpServletResponse response, int status, String contentType, byte[] body, String... headers) throws IOException
    {
        ResponseStamp.stamp(response);
        for (int i = 0; i + 1 < headers.length; i += 2)
            response.setHeader(headers[i], headers[i + 1]);
        response.setStatus(status);
        response.setContentType(contentType);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
