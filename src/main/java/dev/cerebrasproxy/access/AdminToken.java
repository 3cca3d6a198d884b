package dev.cerebrasproxy.access;

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

    @Override
    public String toString()
    {
        return required() ? "an admin token" : "no admin token";
    }
}
