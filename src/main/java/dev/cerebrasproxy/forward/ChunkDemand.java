package dev.cerebrasproxy.forward;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Where every demand for an answer's next chunk runs: on the HTTP client's executor, never
 * inline, for the answers the client gets and the error bodies the proxy reads alike.
 * <p>
 * Jetty 12.1.8's HTTP/1.1 client loses a response now and then when the demand runs on the
 * thread that is delivering the last chunk (inline from {@code onContent}, as Jetty's own
 * listeners do): the connection has read every byte off its socket, its parser waits
 * mid-response, fill interest is set, and nothing more is delivered until the idle timeout.
 * {@code ClientStallProbe} shows it with Jetty's client alone against the soak's fake:
 * every demand inline, about 1.5 responses in 100,000 stalled; the answers' demands on the
 * executor but the error bodies' inline (this class's predecessor), 2 in 400,000; every
 * demand on the executor, none (see the probe's class comment for the runs). The proxy's own
 * path had one more way to lose an answer, two threads parsing one connection; see
 * {@link SerializedHttp11}.
 */
final class ChunkDemand
{
    private final Executor executor;

    ChunkDemand(Executor executor)
    {
        this.executor = executor;
    }

    /** Runs the demander of the chunk just handled, on the executor. */
    void next(Runnable demander)
    {
        try
        {
            executor.execute(demander);
        }
        catch (RejectedExecutionException stopping)
        {
            demander.run(); // the client is stopping: the demand meets its end inline
        }
    }
}
