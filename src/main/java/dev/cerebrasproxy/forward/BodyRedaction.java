package dev.cerebrasproxy.forward;

import java.nio.charset.StandardCharsets;

import dev.cerebrasproxy.pool.ApiKey;

/**
 * Takes the key out of a body the proxy holds whole before the client gets it (an error
 * body it passes on, a queue_exceeded 429, an answer it decoded): an upstream that echoes
 * the request (a debug endpoint, an error quoting its input) would hand the client the
 * key. Streamed answers pass as upstream sent them, unread, so they are not redacted.
 */
final class BodyRedaction
{
    private BodyRedaction()
    {
    }

    /** The body with each occurrence of the key's value replaced by its name; the same array when there is none. */
    static byte[] of(ApiKey key, byte[] body)
    {
        if (body == null)
            return null;
        // ISO-8859-1 maps each byte to one char and back, so a body that is not text survives untouched.
        String text = new String(body, StandardCharsets.ISO_8859_1);
        return key.appearsIn(text) ? key.redact(text).getBytes(StandardCharsets.ISO_8859_1) : body;
    }
}
