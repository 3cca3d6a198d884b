package dev.cerebrasproxy.pool;

import java.util.function.BiConsumer;

/**
 * An upstream answer's headers as the pool reads them: each name and value, in the order
 * they came. The pool sees no servlet or Jetty type; the forwarding code adapts its own.
 */
@FunctionalInterface
public interface UpstreamHeaders
{
    void forEach(BiConsumer<String, String> header);
}
