package dev.cerebrasproxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** HTTP/1.1 over a plain socket, for what a well-behaved client library will not send. */
final class RawHttp
{
    private RawHttp()
    {
    }

    static void writeRequest(Socket socket, String method, String target, String body) throws IOException
    {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n";
        socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
    }

    /** Reads until {@code marker} has been seen; returns everything read. */
    static String readUntil(InputStream input, String marker) throws IOException
    {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        int b;
        while ((b = input.read()) >= 0)
        {
            seen.write(b);
            if (seen.toString(StandardCharsets.UTF_8).endsWith(marker))
                return seen.toString(StandardCharsets.UTF_8);
        }
        throw new IOException("connection ended before " + marker + ": " + seen.toString(StandardCharsets.UTF_8));
    }

    /** Sends raw bytes on a fresh connection and returns everything the server answers. */
    static String exchange(int port, String raw) throws IOException
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
