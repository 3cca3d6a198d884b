package dev.cerebrasproxy.forward;

import java.nio.ByteBuffer;

import org.eclipse.jetty.client.ByteBufferRequestContent;
import org.eclipse.jetty.client.Request;

/**
 * The client's request body, held once so that every attempt sends exactly the same
 * bytes. Each attempt gets its own read-only view; nothing is copied per attempt.
 */
final class RequestBody
{
    /** Each chunk handed to the HTTP client's sender; no copy, views of the one array. */
    private static final int SLICE = 64 * 1024;

    private final byte[] bytes;
    private final int length;

    RequestBody(byte[] bytes, int length)
    {
        this.bytes = bytes;
        this.length = length;
    }

    int length()
    {
        return length;
    }

    /** The bytes, to read without copying (the client's limits look for the model and the token estimate). */
    java.io.InputStream open()
    {
        return new java.io.ByteArrayInputStream(bytes, 0, length);
    }

    /** Bodies up to this size are decoded into one string at once; larger ones stream through a small buffer. */
    private static final int DECODED_WHOLE = 64 * 1024;

    /**
     * The bytes as UTF-8 text (malformed input replaced, as an InputStreamReader does). A
     * small body (most are) is decoded at once, which for ASCII is a copy; a larger one
     * through a buffer no larger than 8 KiB. InputStreamReader's fixed 8 KiB buffer (and a
     * decoder per read) was a fifth of what the proxy allocated per small request,.
     */
    java.io.Reader text()
    {
        if (length <= DECODED_WHOLE)
            return new java.io.StringReader(new String(bytes, 0, length, java.nio.charset.StandardCharsets.UTF_8));
        java.nio.charset.CharsetDecoder utf8 = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE)
            .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPLACE);
        return java.nio.channels.Channels.newReader(java.nio.channels.Channels.newChannel(open()), utf8, Math.min(length, 8192));
    }

    /**
     * A fresh content for one upstream attempt. It has no content type of its own: the
     * client's {@code Content-Type} header, or its absence, is what upstream sees.
     */
    Request.Content toContent()
    {
        // In slices, so that the sender takes the last one only when the rest is out: what
        // tells a body cut half sent (safe to replay) from one upstream may have whole (see Delivery).
        int slices = Math.max(1, (length + SLICE - 1) / SLICE);
        ByteBuffer[] views = new ByteBuffer[slices];
        for (int i = 0; i < slices; i++)
        {
            int from = i * SLICE;
            views[i] = ByteBuffer.wrap(bytes, from, Math.min(SLICE, length - from)).slice().asReadOnlyBuffer();
        }
        return new ByteBufferRequestContent((String)null, views);
    }
}
