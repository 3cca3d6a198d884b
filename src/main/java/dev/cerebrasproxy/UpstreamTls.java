package dev.cerebrasproxy;

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

    static void configure(SslContextFactory.Client tls, ProxySettings settings)
    {
        // Jetty's default already, stated because dropping it would allow impostors.
        tls.setEndpointIdentificationAlgorithm("HTTPS");
        if (settings.trustStore() == null)
            return;
        tls.setTrustStorePath(settings.trustStore().toString());
        if (settings.trustStorePassword() != null)
            tls.setTrustStorePassword(settings.trustStorePassword());
        // PKCS12 and JKS both load: the JDK's keystores read either format.
        tls.setTrustStoreType(settings.trustStore().toString().endsWith(".jks") ? "JKS" : "PKCS12");
    }
}
