package dev.cerebrasproxy.support;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.eclipse.jetty.logging.JettyLogger;
import org.eclipse.jetty.logging.StdErrAppender;
import org.slf4j.LoggerFactory;

/**
 * Everything logged through SLF4J in this JVM, kept so tests can read what an operator
 * would see (and search it for secrets). Lines still go to stderr too.
 */
public final class LogCapture
{
    private static final ByteArrayOutputStream CAPTURED = new ByteArrayOutputStream();

    static
    {
        PrintStream original = System.err;
        OutputStream tee = new OutputStream()
        {
            @Override
            public void write(int b)
            {
                synchronized (CAPTURED)
                {
                    CAPTURED.write(b);
                }
                original.write(b);
            }

            @Override
            public void write(byte[] bytes, int offset, int length)
            {
                synchronized (CAPTURED)
                {
                    CAPTURED.write(bytes, offset, length);
                }
                original.write(bytes, offset, length);
            }
        };
        StdErrAppender appender = (StdErrAppender)((JettyLogger)LoggerFactory.getLogger(LogCapture.class)).getAppender();
        appender.setStream(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    private LogCapture()
    {
    }

    /** A position to read from later with {@link #since(int)}. */
    public static int mark()
    {
        synchronized (CAPTURED)
        {
            return CAPTURED.size();
        }
    }

    public static String since(int mark)
    {
        synchronized (CAPTURED)
        {
            // The mark counts bytes: cut there, not at a character index (a log line with
            // multi-byte or undecodable characters would shift every later mark).
            byte[] all = CAPTURED.toByteArray();
            int from = Math.min(mark, all.length);
            return new String(all, from, all.length - from, StandardCharsets.UTF_8);
        }
    }

    public static String all()
    {
        return since(0);
    }
}
