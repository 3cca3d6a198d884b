package dev.cerebrasproxy.simulator;

/**
 * A model the simulator serves.
 *
 * @param name                the {@code model} value requests name
 * @param limits              each organization's limits for it, unless the organization overrides them
 * @param maxCompletionTokens what the admission estimate counts when a request names no maximum
 * @param completionTokens    how many tokens each answer has (fewer when the request's maximum is lower)
 */
public record Model(String name, Limits limits, long maxCompletionTokens, long completionTokens)
{
    public Model
    {
        if (name == null || name.isBlank())
            throw new IllegalArgumentException("a model needs a name");
        if (limits == null)
            throw new IllegalArgumentException("model " + name + " needs limits");
        if (maxCompletionTokens <= 0 || completionTokens <= 0 || completionTokens > maxCompletionTokens)
            throw new IllegalArgumentException("model " + name + ": need 0 < completion tokens (" + completionTokens
                + ") <= max completion tokens (" + maxCompletionTokens + ")");
    }

    /** A model answering 20 tokens, with an 8,192-token maximum. */
    public static Model of(String name, Limits limits)
    {
        return new Model(name, limits, 8192, 20);
    }

    public Model withMaxCompletionTokens(long value)
    {
        return new Model(name, limits, value, completionTokens);
    }

    public Model withCompletionTokens(long value)
    {
        return new Model(name, limits, maxCompletionTokens, value);
    }
}
