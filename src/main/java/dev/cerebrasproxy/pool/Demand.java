package dev.cerebrasproxy.pool;

/**
 * What one client request asks of the pool: the model whose budget it draws on, and how
 * many tokens Cerebras will hold against that budget when it admits it.
 *
 * @param model the model named in the request, or null (a path such as {@code /v1/models},
 * or a body the proxy cannot read): then the organization's general state decides
 * @param estimate tokens: prompt characters / 4 plus the completion's maximum, as Cerebras
 * estimates before any work; 0 when nothing is known
 */
public record Demand(String model, long estimate)
{
    /** A request that names no model and costs no tokens. */
    public static final Demand NONE = new Demand(null, 0);
}
