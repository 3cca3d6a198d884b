package dev.cerebrasproxy.forward;

import java.net.URI;

/**
 * Maps a client's request target onto the upstream base. {@code /x} and {@code /v1/x}
 * both go to {@code <upstream>/x}: users call the proxy without {@code /v1} today, the
 * Cerebras SDKs add {@code /v1} to a bare base URL, and the OpenAI SDKs are given a base
 * URL that ends in it. Path and query pass byte for byte, still percent-encoded.
 */
final class UpstreamRoute
{
    private static final String VERSION_PREFIX = "/v1";

    private final String base;
    private final String origin;
    /** The origin parsed once: parsing it per request was ~2% of the proxy's CPU. */
    private final URI originUri;

    UpstreamRoute(URI upstream)
    {
        this.base = upstream.toString();
        this.origin = upstream.getScheme() + "://" + upstream.getRawAuthority();
        this.originUri = URI.create(origin);
    }

    /** {@link #origin()} as a URI. */
    URI originUri()
    {
        return originUri;
    }

    /** Upstream's scheme, host and port, which every target of {@link #targetOf} starts with. */
    String origin()
    {
        return origin;
    }

    /**
     * @param rawPath the request path below the context, still percent-encoded
     * @param rawQuery the query string as the client sent it, or null
     * @return the upstream URL, or null when the path could step outside the upstream
     * base (dot segments, encoded dots, slashes or backslashes)
     */
    String targetOf(String rawPath, String rawQuery)
    {
        if (rawPath.isEmpty())
            rawPath = "/";
        if (!rawPath.startsWith("/") || isTraversal(rawPath))
            return null;
        String path = rawPath;
        if (path.equals(VERSION_PREFIX) || path.startsWith(VERSION_PREFIX + "/"))
            path = path.substring(VERSION_PREFIX.length());
        StringBuilder target = new StringBuilder(base.length() + path.length() + 16).append(base).append(path);
        if (rawQuery != null)
            target.append('?').append(rawQuery);
        return target.toString();
    }

    /** In one pass over the path, without copies: this runs on every request. */
    static boolean isTraversal(String rawPath)
    {
        int segmentStart = 0;
        for (int i = 0, n = rawPath.length(); i <= n; i++)
        {
            char c = i < n ? rawPath.charAt(i) : '/';
            if (c == '\\')
                return true;
            if (c == '%' && i + 2 < n && isEncodedDotOrSlash(rawPath.charAt(i + 1), rawPath.charAt(i + 2)))
                return true;
            if (c == '/')
            {
                int length = i - segmentStart;
                if ((length == 1 || length == 2) && rawPath.charAt(segmentStart) == '.' && rawPath.charAt(i - 1) == '.')
                    return true;
                segmentStart = i + 1;
            }
        }
        return false;
    }

    /** %2e, %2f, %5c in either case: a dot, a slash, a backslash. */
    private static boolean isEncodedDotOrSlash(char high, char low)
    {
        char lower = Character.toLowerCase(low);
        return high == '2' && (lower == 'e' || lower == 'f') || high == '5' && lower == 'c';
    }
}
