package dev.cerebrasproxy.forward;

/** Text from upstream or from a failure, made fit for a request's log line. */
final class LogText
{
    private LogText()
    {
    }

    /** Upstream's words for a log line: one line of printable text, not a body of binary noise. */
    static String printable(String text)
    {
        if (text == null)
            return null;
        StringBuilder line = new StringBuilder(Math.min(text.length(), 200));
        for (int i = 0; i < text.length() && line.length() < 200; i++)
        {
            char c = text.charAt(i);
            line.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return text.length() > 200 ? line + "..." : line.toString();
    }

    /** A failure in one short line: Jetty's I/O exceptions carry a dump of the whole connection. */
    static String brief(Throwable failure)
    {
        String message = String.valueOf(failure.getMessage());
        return failure.getClass().getSimpleName() + ": " + (message.length() > 100 ? message.substring(0, 100) + "..." : message);
    }
}
