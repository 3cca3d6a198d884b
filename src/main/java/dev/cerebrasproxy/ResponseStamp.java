package dev.cerebrasproxy;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import jakarta.servlet.http.HttpServletResponse;

/**
 * The headers every response of this webapp carries whatever container runs it: exactly
 * one {@code Date}, and a {@code Server} that names no version. Upstream's own Date and
 * Server are dropped on the way through, so these are the only ones.
 *
 * <p>Set by the webapp rather than left to the container: Jetty adds its Date and
 * {@code Server: Jetty(x.y.z)} when a request starts and re-adds its Server (not its
 * Date) when a response is reset, so an error written after a reset would have no Date
 * and the version back; Tomcat adds a Date only when the webapp set none. Setting both
 * here gives one of each on all of them. (jetty-base also turns the version off for the
 * answers Jetty writes itself, before the webapp sees a request.)
 */
public final class ResponseStamp
{
    /** What a client learns from the Server header: what it talks to, not which build of what. */
    public static final String SERVER = "cerebras-proxy";

    private ResponseStamp()
    {
    }

    /** HTTP's IMF-fixdate (RFC 9110, 5.6.7), as setDateHeader writes it. */
    private static final DateTimeFormatter IMF_FIXDATE = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);

    /** A second and its Date value. */
    private record Second(long epochSecond, String date)
    {
    }

    /** The Date of the current second, formatted once per second instead of once per response. */
    private static volatile Second last = new Second(-1, "");

    /** Call before the response is committed, after any reset. */
    public static void stamp(HttpServletResponse response)
    {
        response.setHeader("Date", date(System.currentTimeMillis() / 1000));
        response.setHeader("Server", SERVER);
    }

    static String date(long epochSecond)
    {
        Second second = last;
        if (second.epochSecond() != epochSecond)
        {
            second = new Second(epochSecond, IMF_FIXDATE.format(Instant.ofEpochSecond(epochSecond)));
            last = second;
        }
        return second.date();
    }
}
