package dev.cerebrasproxy.pool;

import java.util.Objects;

/**
 * One Cerebras API key of the pool. The name is what logs, errors and metrics show;
 * the secret is only ever written into the upstream {@code Authorization} header. The
 * organization is whose rate limits the key draws on: Cerebras limits per organization
 * and model, so keys of one organization share one budget.
 */
public final class ApiKey
{
    private final String name;
    private final String secret;
    private final String organization;
    private final String digest;

    /** A key that is its own organization, as every key is unless the operator says otherwise. */
    public ApiKey(String name, String secret)
    {
        this(name, secret, name);
    }

    public ApiKey(String name, String secret, String organization)
    {
        this.name = Objects.requireNonNull(name);
        this.secret = Objects.requireNonNull(secret);
        this.organization = Objects.requireNonNull(organization);
        this.digest = digestOf(secret);
    }

    public String name()
    {
        return name;
    }

    public String organization()
    {
        return organization;
    }

    /**
     * What other replicas know this key by: the first 128 bits of the SHA-256 of its value,
     * the same on every replica with the same key whatever its name there, and no way back
     * to the value (a Cerebras key is far too long to guess from its digest).
     */
    public String digest()
    {
        return digest;
    }

    private static String digestOf(String secret)
    {
        try
        {
            byte[] hash = java.security.MessageDigest.getInstance("SHA-256").digest(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(hash, 0, 16);
        }
        catch (java.security.NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** The upstream {@code Authorization} header's value: the one place the secret goes. */
    public String authorization()
    {
        return "Bearer " + secret;
    }

    /** Whether the secret is in this text (an upstream header that echoes it must not reach the client). */
    public boolean appearsIn(String text)
    {
        return text.contains(secret);
    }

    /** Replaces this key's value wherever it occurs in text the proxy is about to log. */
    public String redact(String text)
    {
        return text.replace(secret, "<key " + name + ">");
    }

    /**
     * Whether the other is the same key: the same name for the same value in the same
     * organization. A renamed, changed or moved key is another key.
     */
    boolean sameAs(ApiKey other)
    {
        return name.equals(other.name) && secret.equals(other.secret) && organization.equals(other.organization);
    }

    /** Deliberately the name only, so a key can be logged or formatted without leaking. */
    @Override
    public String toString()
    {
        return name;
    }
}
