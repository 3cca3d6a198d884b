package dev.cerebrasproxy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Remembers the answers to a question that requests ask again and again with the same few
 * values (a Host header, an upstream target), up to a bound. When full it is emptied, so
 * values made up per request can neither grow it nor crowd the real ones out for good: the
 * real ones are back after one more computation each.
 */
public final class BoundedMemo<K, V>
{
    private final int bound;
    private final Function<K, V> compute;
    private final Map<K, V> answers = new ConcurrentHashMap<>();

    /** @param compute gives a non-null answer for a key; it may run more than once for one key */
    public BoundedMemo(int bound, Function<K, V> compute)
    {
        this.bound = bound;
        this.compute = compute;
    }

    public V get(K key)
    {
        V known = answers.get(key);
        if (known != null)
            return known;
        V answer = compute.apply(key);
        if (answers.size() >= bound)
            answers.clear();
        answers.put(key, answer);
        return answer;
    }

    /** How many answers are remembered now, at most the bound. */
    public int size()
    {
        return answers.size();
    }
}
