package dev.cerebrasproxy.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** HTTP/1.1 over a plain socket, for what a well-behaved client library will not send. */
public final class RawHttp
{
    private RawHttp()
    {
    }

    public static void writeRequest(Socket socket, String method, String target, String body) throws IOException
    {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n";
        socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    /** Reads until {@code marker} has been seen; returns everything read. */
    public static String readUntil(InputStream input, String marker) throws IOException
    {
        byte[] wanted = marker.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        int matched = 0;
        int b;
        while ((b = input.read()) >= 0)
        {
            seen.write(b);
            // The marker has no repeated prefix in our uses, so a plain restart is exact enough.
            matched = b == (wanted[matched] & 0xFF) ? matched + 1 : (b == (wanted[0] & 0xFF) ? 1 : 0);
            if (matched == wanted.length)
                return seen.toString(StandardCharsets.UTF_8);
        }
        String text = seen.toString(StandardCharsets.UTF_8);
        throw new IOException("connection ended before " + marker + ": " + text.substring(Math.max(0, text.length() - 500)));
    }

    /** The payload of a whole HTTP/1.1 response with a chunked body (head included in the input). */
    public static String dechunk(String response)
    {
        int at = response.indexOf("\r\n\r\n") + 4;
        StringBuilder payload = new StringBuilder();
        while (true)
        {
            int lineEnd = response.indexOf("\r\n", at);
            int size = Integer.parseInt(response.substring(at, lineEnd).strip(), 16);
            if (size == 0)
                return payload.toString();
            payload.append(response, lineEnd + 2, lineEnd + 2 + size);
            at = lineEnd + 2 + size + 2;
        }
    }

    /** Everything the server sends until it closes or resets the connection. */
    public static String readUntilClosed(InputStream input)
    {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try
        {
            int read;
            while ((read = input.read(buffer)) >= 0)
                seen.write(buffer, 0, read);
        }
        catch (IOException reset)
        {
            // an abnormal end is an answer too: keep what came before it
        }
        return seen.toString(StandardCharsets.UTF_8);
    }

    /** Sends raw bytes on a fresh connection and returns everything the server answers. */
    public static String exchange(int port, String raw) throws IOException
    {
        try (Socket socket = new Socket("127.0.0.1", port))
        {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
