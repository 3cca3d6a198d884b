package dev.cerebrasproxy.support;

import java.util.List;

import dev.cerebrasproxy.config.ProxySettings;

/**
 * How the proxy talks to the fake upstream. Forwarding tests run once per transport
 * (a {@code @ParameterizedClass} over this enum, or a {@code @ParameterizedTest}), as
 * Jetty's own proxy tests do: a replay, an abort or a timeout must behave the same over
 * each.
 */
public enum UpstreamTransport
{
    /** Clear text, the proxy's default (auto: HTTP/1.1 without TLS). */
    HTTP_1_1,
    /** Clear text h2 with prior knowledge: PROXY_UPSTREAM_PROTOCOL=h2. */
    H2C,
    /** TLS with ALPN offering h2 and http/1.1, as Cloudflare in front of Cerebras does; the proxy's default (auto) picks h2. */
    H2;

    /** Whether requests share a connection, so one request's end shows on its stream, not its connection. */
    public boolean multiplexed()
    {
        return this != HTTP_1_1;
    }

    /** What the proxy must be told to speak this to a fake, as name, value pairs. */
    List<String> proxySettings(SelfSignedCertificate certificate)
    {
        return switch (this)
        {
            case HTTP_1_1 -> List.of();
            case H2C -> List.of(ProxySettings.UPSTREAM_PROTOCOL, "h2");
            case H2 -> List.of(ProxySettings.TRUST_STORE, certificate.trustStore().toString(),
                ProxySettings.TRUST_STORE_PASSWORD, SelfSignedCertificate.PASSWORD);
        };
    }
}
