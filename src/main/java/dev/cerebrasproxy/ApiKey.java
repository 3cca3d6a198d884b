package dev.cerebrasproxy;

import java.util.Objects;

/**
 * One Cerebras API key of the pool. The name is what logs, errors and metrics show;
 * the secret is only ever written into the upstream {@code Authorization} header.
 */
public final class ApiKey
{
    private final String name;
    private final String secret;

    public ApiKey(String name, String secret)
    {
        this.name = Objects.requireNonNull(name);
        this.secret = Objects.requireNonNull(secret);
    }

    public String name()
    {
        return name;
    }

    String authorization()
    {
        return "Bearer " + secret;
    }

    boolean appearsIn(String text)
    {
        return text.contains(secret);
    }

    /** Replaces this key's value wherever it occurs in text the proxy is about to log. */
    String redact(String text)
    {
        return text.replace(secret, "<key " + name + ">");
    }

    /** Deliberately the name only, so a key can be logged or formatted without leaking. */
    @Override
    public String toString()
    {
        return name;
    }
}
