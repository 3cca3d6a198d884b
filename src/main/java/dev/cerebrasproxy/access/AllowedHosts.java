package dev.cerebrasproxy.access;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import dev.cerebrasproxy.BoundedMemo;

/**
 * The host names an open pool (no client tokens) answers to: the loopback names, and
 * those of {@code PROXY_ALLOWED_HOSTS}. A web page can make a browser send requests to
 * a proxy on the user's own machine under a host name of the attacker's
 * (DNS rebinding: {@code attacker.example} first resolves to the attacker's server, then
 * to 127.0.0.1); the browser then sends {@code Host: attacker.example}, which is what this
 * refuses. Any port is accepted: the name is what rebinding cannot fake.
 */
public final class AllowedHosts
{
    /** Where the names besides the loopback ones come from. */
    public static final String SETTING = "PROXY_ALLOWED_HOSTS";

    /** The loopback names, and nothing else. */
    public static final AllowedHosts LOOPBACK = new AllowedHosts(Set.of());

    private static final Pattern NAME = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,62})(\\.[a-z0-9_]([a-z0-9_-]{0,62}))*");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("\\[[0-9a-f:][0-9a-f.]*:[0-9a-f:.]*]");

    /** Verdicts on Host headers seen lately: every request of a client sends the same one. */
    private static final int REMEMBERED = 256;

    private final Set<String> extra;
    /**
     * Host header to verdict. The check it saves (regular expressions, a split) was about a
     * tenth of the proxy's sampled CPU per request.
     */
    private final BoundedMemo<String, Boolean> verdicts = new BoundedMemo<>(REMEMBERED, this::judge);

    private AllowedHosts(Set<String> extra)
    {
        this.extra = extra;
    }

    /**
     * @param names host names or IP addresses (IPv6 in brackets), without a port
     * @throws IllegalArgumentException naming the first entry that is not one, and why
     */
    public static AllowedHosts of(List<String> names)
    {
        Set<String> hosts = new LinkedHashSet<>();
        for (String name : names)
        {
            String host = normalized(name.strip());
            if (host == null)
                throw new IllegalArgumentException(problemWith(name.strip()));
            hosts.add(host);
        }
        return new AllowedHosts(Collections.unmodifiableSet(hosts));
    }

    private static String problemWith(String entry)
    {
        if (entry.contains("://") || entry.contains("/"))
            return "\"" + entry + "\" is a URL, not a host name: give only the name, e.g. proxy.example.com";
        if (entry.contains(":") && !entry.startsWith("["))
            return "\"" + entry + "\" has a port or is an IPv6 address without brackets: give only the host name (any port is accepted), an IPv6 address as [::1]";
        return "\"" + entry + "\" is not a host name or IP address";
    }

    /** The names besides the loopback ones, as configured (lower case). */
    public Set<String> extra()
    {
        return extra;
    }

    /**
     * Whether a request with this {@code Host} header (name, optionally {@code :port}) may
     * be answered. A request without one cannot come from a browser, which always sends it.
     */
    public boolean allowsHostHeader(String host)
    {
        return host == null || verdicts.get(host);
    }

    private boolean judge(String host)
    {
        String name = withoutPort(host.strip());
        return name != null && allowsName(name);
    }

    /**
     * Whether a browser's {@code Origin} ({@code scheme://host[:port]}, or {@code null} from
     * a sandboxed or file page) names an allowed host: a page of another site may not
     * call the open pool even through {@code localhost}.
     */
    public boolean allowsOrigin(String origin)
    {
        if (origin == null)
            return true;
        String value = origin.strip();
        int scheme = value.indexOf("://");
        if (scheme <= 0)
            return false;
        String authority = value.substring(scheme + 3);
        if (authority.isEmpty() || authority.contains("/") || authority.contains("@"))
            return false;
        String name = withoutPort(authority);
        return name != null && allowsName(name);
    }

    private boolean allowsName(String raw)
    {
        String name = normalized(raw);
        return name != null && (isLoopback(name) || extra.contains(name));
    }

    /** The host of {@code host[:port]} or {@code [v6][:port]}, or null when it is malformed. */
    private static String withoutPort(String hostAndPort)
    {
        String host = hostAndPort;
        String port = null;
        if (hostAndPort.startsWith("["))
        {
            int end = hostAndPort.indexOf(']');
            if (end < 0)
                return null;
            host = hostAndPort.substring(0, end + 1);
            String rest = hostAndPort.substring(end + 1);
            if (!rest.isEmpty())
            {
                if (!rest.startsWith(":"))
                    return null;
                port = rest.substring(1);
            }
        }
        else
        {
            int colon = hostAndPort.indexOf(':');
            if (colon >= 0)
            {
                host = hostAndPort.substring(0, colon);
                port = hostAndPort.substring(colon + 1);
            }
        }
        if (port != null && !isPort(port))
            return null;
        return host;
    }

    /** One to five digits. */
    private static boolean isPort(String text)
    {
        if (text.isEmpty() || text.length() > 5)
            return false;
        for (int i = 0; i < text.length(); i++)
        {
            char c = text.charAt(i);
            if (c < '0' || c > '9')
                return false;
        }
        return true;
    }

    /** Lower case, without a trailing dot, IPv6 in its canonical form; null when it is no host name or address. */
    private static String normalized(String host)
    {
        String name = host.toLowerCase(Locale.ROOT);
        if (name.endsWith("."))
            name = name.substring(0, name.length() - 1);
        if (IPV6.matcher(name).matches())
        {
            InetAddress address = literal(name.substring(1, name.length() - 1));
            return address == null ? null : "[" + address.getHostAddress() + "]";
        }
        if (IPV4.matcher(name).matches())
            return ipv4(name);
        return name.length() <= 253 && NAME.matcher(name).matches() ? name : null;
    }

    /**
     * An IPv6 literal as an address, or null. Never a DNS lookup: the pattern lets only text
     * that starts with a hex digit or a colon and holds a colon through, which Java parses as
     * a literal or refuses.
     */
    private static InetAddress literal(String text)
    {
        try
        {
            return InetAddress.getByName(text);
        }
        catch (UnknownHostException e)
        {
            return null;
        }
    }

    /**
     * Dotted decimal as written, or null: four numbers up to 255 without leading zeros
     * (which some parsers read as octal). Parsed here, not by InetAddress, which looks a
     * name up in DNS when it is no literal it accepts.
     */
    private static String ipv4(String text)
    {
        for (String part : text.split("\\."))
        {
            if ((part.length() > 1 && part.charAt(0) == '0') || Integer.parseInt(part) > 255)
                return null;
        }
        return text;
    }

    /**
     * localhost, and loopback addresses (127.0.0.0/8, ::1): a rebinding page cannot
     * make the browser send those, for the browser sends the name its page used.
     */
    private static boolean isLoopback(String name)
    {
        if (name.equals("localhost"))
            return true;
        if (IPV4.matcher(name).matches())
            return name.startsWith("127.");
        return name.equals("[0:0:0:0:0:0:0:1]");
    }

    @Override
    public String toString()
    {
        StringBuilder text = new StringBuilder("localhost, 127.0.0.1, [::1]");
        extra.forEach(name -> text.append(", ").append(name));
        return text.toString();
    }
}
