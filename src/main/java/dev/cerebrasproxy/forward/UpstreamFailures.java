package dev.cerebrasproxy.forward;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

import dev.cerebrasproxy.ProxyError;

/** The proxy's own errors for an upstream that failed a request before any of its answer reached the client. */
final class UpstreamFailures
{
    private UpstreamFailures()
    {
    }

    /** The attempt that was to answer failed: silent past the idle timeout, undecodable, or cut before a byte went out. */
    static ProxyError brokeOff(Throwable failure, Duration idleTimeout)
    {
        if (failure instanceof TimeoutException)
            return ProxyError.server(504, "upstream_timeout", "Upstream sent nothing for " + idleTimeout.toMillis() + " ms (PROXY_IDLE_TIMEOUT_MS).");
        if (failure instanceof AttemptListener.Undecodable undecodable)
            return ProxyError.server(502, "upstream_bad_encoding", "Upstream answered in " + undecodable.coding() + " coding, which the client does not accept, and the proxy could not decode it.");
        return ProxyError.server(502, "upstream_failed", "Upstream's answer broke off before any of it reached the client (" + failure.getClass().getSimpleName() + ").");
    }

    /** Upstream answered {@code status} before it read the request's body, and the connection took its message with it. */
    static ProxyError answeredEarly(int status)
    {
        String message = "Upstream answered " + status + " before it had read the whole request body, and closed the upload; its own message was lost with the connection. The proxy did not replay the request, which upstream refused as sent.";
        return status < 500
            ? ProxyError.invalidRequest(status, "upstream_answered_early", message)
            : ProxyError.server(status, "upstream_answered_early", message);
    }

    /** Upstream had the request whole and closed without an answer: see {@link Delivery} for why it is not replayed. */
    static ProxyError dropped()
    {
        return ProxyError.server(502, "upstream_dropped",
            "Upstream closed the connection after it received the request whole and before it answered. The proxy does not replay it with another key, since upstream may have processed it; retry if the request is safe to run twice.");
    }

    /** No key got an answer at all: upstream itself is unreachable, which is no key's fault. */
    static ProxyError unreachable(int keys)
    {
        return ProxyError.server(502, "upstream_unreachable",
            "The proxy could not get an answer from upstream with any of its " + keys + " keys (connection refused or closed before a response).");
    }
}
