package dev.cerebrasproxy.access;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Tokens are compared as SHA-256 digests with {@link MessageDigest#isEqual}: both sides
 * have the same fixed length and the comparison does not stop at the first differing
 * byte, so the time an answer takes tells a caller nothing about how close a guess was.
 */
final class TokenDigest
{
    private TokenDigest()
    {
    }

    static byte[] of(String token)
    {
        try
        {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        }
        catch (NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** HMAC-SHA256 of {@code message} under {@code key}: a value derived from a secret that does not give the secret away. */
    static byte[] hmac(byte[] key, String message)
    {
        try
        {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
        }
        catch (GeneralSecurityException e)
        {
            throw new IllegalStateException("every Java runtime has HmacSHA256", e);
        }
    }

    /** Whether a presented token (may be null) equals the one behind {@code expected}. */
    static boolean matches(byte[] expected, String presented)
    {
        return presented != null && MessageDigest.isEqual(expected, of(presented));
    }

    /** The token of {@code Authorization: Bearer <token>}, or null. */
    static String bearerOf(String authorization)
    {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7))
            return null;
        String token = authorization.substring(7).strip();
        return token.isEmpty() ? null : token;
    }
}
