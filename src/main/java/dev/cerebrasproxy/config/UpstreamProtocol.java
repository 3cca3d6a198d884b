package dev.cerebrasproxy.config;

import java.util.Locale;

/** Which HTTP version the proxy speaks to upstream (PROXY_UPSTREAM_PROTOCOL). */
public enum UpstreamProtocol
{
    /** Over TLS, h2 if upstream offers it by ALPN, else HTTP/1.1; in clear text, HTTP/1.1 (nothing to negotiate with). */
    AUTO("auto"),
    /** h2 only: by ALPN over TLS, with prior knowledge (h2c) in clear text. */
    H2("h2"),
    HTTP_1_1("http/1.1");

    private final String label;

    UpstreamProtocol(String label)
    {
        this.label = label;
    }

    /** The setting's value for this protocol. */
    public String label()
    {
        return label;
    }

    static UpstreamProtocol parse(String setting, String value)
    {
        if (value == null || value.isBlank())
            return AUTO;
        String wanted = value.strip().toLowerCase(Locale.ROOT);
        for (UpstreamProtocol protocol : values())
        {
            if (protocol.label.equals(wanted))
                return protocol;
        }
        throw new InvalidSettingsException(setting + " is '" + value.strip() + "', which is no upstream protocol: set it to auto, h2 or http/1.1, or unset it for auto.");
    }

    @Override
    public String toString()
    {
        return label;
    }
}
