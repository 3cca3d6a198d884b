package dev.cerebrasproxy.config;

/**
 * A configuration problem that must stop the proxy from starting. The message is the
 * single log line an operator reads: it names the setting, the problem and the fix,
 * and never contains a key's value.
 */
public final class InvalidSettingsException extends RuntimeException
{
    public InvalidSettingsException(String message)
    {
        super(message, null, false, false);
    }
}
