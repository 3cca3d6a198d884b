package dev.cerebrasproxy.access;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * The token the operations endpoints that show more than liveness require
 * ({@code PROXY_ADMIN_TOKEN}), kept only as a digest and compared in constant time.
 * Printing it never shows it.
 */
public final class AdminToken
{
    /** No token set: the endpoints are open. */
    public static final AdminToken NONE = new AdminToken(null);

    /** Digest of the token, or null for {@link #NONE}. */
    private final byte[] digest;

    private AdminToken(byte[] digest)
    {
        this.digest = digest;
    }

    /** The token, stripped; {@link #NONE} when unset or blank. */
    public static AdminToken of(String value)
    {
        return value == null || value.isBlank() ? NONE : new AdminToken(TokenDigest.of(value.strip()));
    }

    /** Whether a token is set at all. */
    public boolean required()
    {
        return digest != null;
    }

    /** Whether {@code presented} (may be null) is this token; never true for {@link #NONE}. */
    public boolean matches(String presented)
    {
        return digest != null && TokenDigest.matches(digest, presented);
    }

    /**
     * What a browser keeps in its cookie instead of the token: an HMAC of a fixed label under
     * the token's digest. The server checks it without storing anything; it does not give
     * the token away (a cookie store, a proxy's log); it holds across restarts; and it stops
     * working when the token changes. Null for {@link #NONE}.
     */
    public String cookieValue()
    {
        if (digest == null)
            return null;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(TokenDigest.hmac(digest, "cerebras-proxy admin cookie v1"));
    }

    /** Whether {@code presented} (may be null) is this token's {@link #cookieValue}, compared in constant time. */
    public boolean matchesCookie(String presented)
    {
        return digest != null && presented != null
            && MessageDigest.isEqual(cookieValue().getBytes(StandardCharsets.US_ASCII), presented.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString()
    {
        return required() ? "an admin token" : "no admin token";
    }
}
