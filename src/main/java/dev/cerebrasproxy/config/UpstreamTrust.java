package dev.cerebrasproxy.config;

import java.nio.file.Path;

/**
 * A trust store the proxy checks a TLS certificate with (upstream's,
 * {@code PROXY_UPSTREAM_TRUST_STORE}; Redis's, {@code PROXY_REDIS_TRUST_STORE}), and its password, if it has one. Printing it
 * never shows the password.
 */
public final class UpstreamTrust
{
    private final Path store;
    private final String password;

    UpstreamTrust(Path store, String password)
    {
        this.store = store;
        this.password = password;
    }

    public Path store()
    {
        return store;
    }

    /** PKCS12, or JKS for a {@code .jks} file: the JDK's keystores read either format. */
    public String storeType()
    {
        return store.toString().endsWith(".jks") ? "JKS" : "PKCS12";
    }

    /** The store's password, or null; only for opening the store, never to be logged. */
    public String password()
    {
        return password;
    }

    @Override
    public String toString()
    {
        return storeType() + " trust store " + store + (password == null ? "" : " (password set)");
    }
}
