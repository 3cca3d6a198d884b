package dev.cerebrasproxy.pool;

import java.util.List;

/**
 * What a {@link KeyPool#reload} changed, by key name (never a value), for the log line
 * an operator reads after editing the keys file.
 *
 * @param kept keys in the pool before and after, with what the pool had learnt about them
 * @param added keys new to the pool, including a known name with a new value
 * @param removed keys no longer in rotation, including a known name whose value changed
 */
public record Reload(List<String> kept, List<String> added, List<String> removed)
{
    static Reload between(List<ApiKey> before, List<ApiKey> after)
    {
        return new Reload(
            after.stream().filter(key -> containsSame(before, key)).map(ApiKey::name).toList(),
            after.stream().filter(key -> !containsSame(before, key)).map(ApiKey::name).toList(),
            before.stream().filter(key -> !containsSame(after, key)).map(ApiKey::name).toList());
    }

    private static boolean containsSame(List<ApiKey> keys, ApiKey key)
    {
        return keys.stream().anyMatch(key::sameAs);
    }

    public boolean changedNothing()
    {
        return added.isEmpty() && removed.isEmpty();
    }

    /** e.g. {@code kept alpha, bravo; added delta; removed charlie} */
    @Override
    public String toString()
    {
        return "kept " + names(kept) + "; added " + names(added) + "; removed " + names(removed);
    }

    private static String names(List<String> names)
    {
        return names.isEmpty() ? "none" : String.join(", ", names);
    }
}
