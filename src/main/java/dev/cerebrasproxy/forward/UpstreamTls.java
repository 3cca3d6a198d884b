package dev.cerebrasproxy.forward;

import dev.cerebrasproxy.config.UpstreamTrust;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * How the proxy checks upstream's TLS certificate. By default it trusts what the JVM
 * trusts (its cacerts, or the store named by the standard {@code javax.net.ssl.trustStore}
 * system properties); {@code PROXY_UPSTREAM_TRUST_STORE} names a store of its own, for an
 * upstream behind a private CA or with a self-signed certificate. Host names are always
 * verified.
 */
final class UpstreamTls
{
    private UpstreamTls()
    {
    }

    /** @param trust the store to trust, or null for the JVM's default trust */
    static void configure(SslContextFactory.Client tls, UpstreamTrust trust)
    {
        // Jetty's default already, stated because dropping it would allow impostors.
        tls.setEndpointIdentificationAlgorithm("HTTPS");
        if (trust == null)
            return;
        tls.setTrustStorePath(trust.store().toString());
        if (trust.password() != null)
            tls.setTrustStorePassword(trust.password());
        tls.setTrustStoreType(trust.storeType());
    }
}
