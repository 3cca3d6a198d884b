package dev.cerebrasproxy.forward;

import java.util.Enumeration;
import java.util.Locale;
import java.util.Set;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * The client's request headers as they go upstream, chosen in one pass and kept for
 * every attempt of the request (only Authorization differs between attempts). Jetty's
 * copy, followed by our removals and additions, went over the headers six times per
 * attempt.
 */
final class ForwardedHeaders
{
    /** Hop-by-hop (RFC 9110, 7.6.1), as Jetty's proxy drops them. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
        "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade");

    private ForwardedHeaders()
    {
    }

    /**
     * @param clientTokensOn whether x-api-key is the proxy's (a client's token), never upstream's
     */
    static HttpFields of(HttpServletRequest request, boolean clientTokensOn)
    {
        Set<String> listedInConnection = connectionTokens(request);
        HttpFields.Mutable fields = HttpFields.build();
        boolean acceptEncoding = false;
        for (Enumeration<String> names = request.getHeaderNames(); names.hasMoreElements(); )
        {
            String name = names.nextElement();
            String lower = name.toLowerCase(Locale.ROOT);
            switch (lower)
            {
                // Host is upstream's; Authorization is the pool key's; the body is already read,
                // so its length comes from it and a 100-continue is moot.
                case "host", "authorization", "content-length", "expect" ->
                {
                    continue;
                }
                case "x-api-key" ->
                {
                    if (clientTokensOn)
                        continue;
                }
                case "accept-encoding" -> acceptEncoding = true;
                default ->
                {
                    if (HOP_BY_HOP.contains(lower) || listedInConnection.contains(lower))
                        continue;
                }
            }
            for (Enumeration<String> values = request.getHeaders(name); values.hasMoreElements(); )
            {
                String value = values.nextElement();
                if (value != null)
                    fields.add(name, value);
            }
        }
        // No Accept-Encoding would allow any coding; keep upstream's bytes readable to this client.
        if (!acceptEncoding)
            fields.add(HttpHeader.ACCEPT_ENCODING, "identity");
        return fields.asImmutable();
    }

    /** Headers named by Connection are hop-by-hop too (RFC 9110, 7.6.1). */
    private static Set<String> connectionTokens(HttpServletRequest request)
    {
        String connection = request.getHeader("Connection");
        if (connection == null)
            return Set.of();
        Set<String> tokens = new java.util.HashSet<>();
        for (Enumeration<String> values = request.getHeaders("Connection"); values.hasMoreElements(); )
        {
            for (String token : values.nextElement().split(","))
                tokens.add(token.strip().toLowerCase(Locale.ROOT));
        }
        return tokens;
    }
}
